//! Serving certificates: made in-process with rcgen from a CA kept in a Secret (self-managed), or
//! read from files cert-manager writes. Either way the TLS server asks [`CertStore`] for the
//! current certificate on every handshake, so a renewed certificate is served at once, with no
//! restart and no dropped connection.

use std::{
    net::IpAddr,
    sync::Arc,
    time::{Duration, SystemTime},
};

use arc_swap::ArcSwap;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::{
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
};

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("cannot make a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot use the certificate: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("cannot read {what}: {detail}")]
    Read { what: String, detail: String },
}

/// The certificate served now; swapped atomically when renewed.
#[derive(Debug)]
pub struct CertStore {
    current: ArcSwap<CertifiedKey>,
}

impl CertStore {
    pub fn new(first: Arc<CertifiedKey>) -> Arc<Self> {
        Arc::new(Self {
            current: ArcSwap::new(first),
        })
    }

    pub fn replace(&self, next: Arc<CertifiedKey>) {
        self.current.store(next);
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// A certificate with its key, in PEM, and when it expires.
#[derive(Clone)]
pub struct Pem {
    pub cert: String,
    pub key: String,
}

impl Pem {
    /// The rustls form of a leaf certificate (chain in `cert`, first the leaf).
    pub fn certified_key(&self) -> Result<Arc<CertifiedKey>, CertError> {
        let chain = CertificateDer::pem_slice_iter(self.cert.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CertError::Read {
                what: "certificate PEM".into(),
                detail: e.to_string(),
            })?;
        let key = PrivateKeyDer::from_pem_slice(self.key.as_bytes()).map_err(|e| CertError::Read {
            what: "private key PEM".into(),
            detail: e.to_string(),
        })?;
        goalert_client::tls::ensure_crypto_provider();
        let provider = rustls::crypto::CryptoProvider::get_default().expect("installed above");
        Ok(Arc::new(CertifiedKey::from_der(chain, key, provider)?))
    }

    /// The first certificate's notAfter.
    pub fn not_after(&self) -> Result<SystemTime, CertError> {
        not_after(&self.cert)
    }
}

/// notAfter of the first certificate in a PEM text.
pub fn not_after(pem: &str) -> Result<SystemTime, CertError> {
    let der = CertificateDer::pem_slice_iter(pem.as_bytes())
        .next()
        .ok_or_else(|| CertError::Read {
            what: "certificate".into(),
            detail: "no certificate in the PEM".into(),
        })?
        .map_err(|e| CertError::Read {
            what: "certificate".into(),
            detail: e.to_string(),
        })?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).map_err(|e| CertError::Read {
        what: "certificate".into(),
        detail: e.to_string(),
    })?;
    let seconds = cert.validity().not_after.timestamp();
    Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).unwrap_or_default()))
}

const CA_COMMON_NAME: &str = "goalert-provisioning webhook CA";

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, CA_COMMON_NAME);
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn validity(params: &mut CertificateParams, lifetime: Duration) {
    let now = time::OffsetDateTime::now_utc();
    // A minute of slack for clocks that disagree a little.
    params.not_before = now - time::Duration::minutes(1);
    params.not_after = now + time::Duration::try_from(lifetime).unwrap_or(time::Duration::days(3650));
}

/// A new self-signed CA (ECDSA P-256).
pub fn new_ca(lifetime: Duration) -> Result<Pem, CertError> {
    let key = KeyPair::generate()?;
    let mut params = ca_params();
    validity(&mut params, lifetime);
    let cert = params.self_signed(&key)?;
    Ok(Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// A serving certificate for `dns_names` and `ips`, signed by `ca`. Its chain is leaf then CA.
pub fn new_leaf(
    ca: &Pem,
    dns_names: &[String],
    ips: &[IpAddr],
    lifetime: Duration,
) -> Result<Pem, CertError> {
    let ca_key = KeyPair::from_pem(&ca.key)?;
    // The issuer's name and key identifier are rebuilt from the same template the CA was made
    // from: deterministic, so the leaf's authority key identifier matches the CA.
    let issuer = Issuer::new(ca_params(), ca_key);
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(dns_names.to_vec())?;
    params
        .subject_alt_names
        .extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
    let mut name = DistinguishedName::new();
    name.push(
        DnType::CommonName,
        dns_names
            .first()
            .cloned()
            .unwrap_or_else(|| "goalert-provisioning-webhook".into()),
    );
    params.distinguished_name = name;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    validity(&mut params, lifetime);
    let cert = params.signed_by(&key, &issuer)?;
    let ca_first = ca.cert.trim_end();
    Ok(Pem {
        cert: format!("{}{ca_first}\n", cert.pem()),
        key: key.serialize_pem(),
    })
}

/// When to renew a certificate that expires at `not_after`: `renew_before` earlier, but never
/// in the past (then now) and at least a second away so a tiny validity cannot spin.
pub fn renewal_delay(not_after: SystemTime, renew_before: Duration) -> Duration {
    let renew_at = not_after
        .checked_sub(renew_before)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    renew_at
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .max(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leaf_chains_to_the_ca_and_names_its_hosts() {
        use rustls::client::danger::ServerCertVerifier;
        let ca = new_ca(Duration::from_secs(3600)).unwrap();
        let leaf = new_leaf(
            &ca,
            &["webhook.ns.svc".into()],
            &["127.0.0.1".parse().unwrap()],
            Duration::from_secs(60),
        )
        .unwrap();
        let key = leaf.certified_key().unwrap();
        assert_eq!(key.cert.len(), 2, "leaf and CA");

        // Verified the way the API server does: with the CA as the only root.
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(ca.cert.as_bytes()).unwrap())
            .unwrap();
        let verifier = rustls::client::WebPkiServerVerifier::builder(Arc::new(roots))
            .build()
            .unwrap();
        let now = rustls::pki_types::UnixTime::now();
        for host in ["webhook.ns.svc", "127.0.0.1"] {
            verifier
                .verify_server_cert(
                    &key.cert[0],
                    &key.cert[1..],
                    &rustls::pki_types::ServerName::try_from(host).unwrap(),
                    &[],
                    now,
                )
                .unwrap_or_else(|e| panic!("{host}: {e}"));
        }

        let expires = leaf.not_after().unwrap();
        let left = expires.duration_since(SystemTime::now()).unwrap();
        assert!(
            left <= Duration::from_secs(60) && left > Duration::from_secs(50),
            "{left:?}"
        );
    }

    #[test]
    fn renewal_waits_until_renew_before_the_expiry() {
        let in_an_hour = SystemTime::now() + Duration::from_secs(3600);
        let delay = renewal_delay(in_an_hour, Duration::from_secs(600));
        assert!(delay > Duration::from_secs(2990) && delay <= Duration::from_secs(3000));
        assert_eq!(
            renewal_delay(SystemTime::now(), Duration::from_secs(600)),
            Duration::from_secs(1)
        );
    }
}
