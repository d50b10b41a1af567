//! The self-managed CA's rotation, as pure decisions the certificate loop in `cert_source` carries
//! out: what to do with the CA Secret, which caBundle to inject, and when to reissue the serving
//! certificate. Replicas do not talk to each other; they agree through the Secret alone.
//!
//! A rotation (the Secret deleted, or the CA due for renewal) puts a new CA in the Secret and keeps
//! the one it replaces beside it as `previous` until no leaf it signed can still be served. Every
//! replica injects the union of both and of the CA its own leaf chains to, and moves its leaf to
//! the new CA only once a bundle holding the new CA has been in place long enough for the API
//! server to have loaded it. So at every moment the injected bundle trusts every leaf any replica
//! serves.

use std::time::{Duration, Instant, SystemTime};

use super::certs::Pem;

/// How long an injected caBundle must have been in place before a replica serves a leaf that
/// needs it. kube-apiserver reloads webhook configurations from a watch, within about a second;
/// five leaves room for a slow one.
pub const SETTLE: Duration = Duration::from_secs(5);

/// The CA Secret's contents (the key never leaves the Secret and this process).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaSecret {
    /// The CA new leaves are issued from: certificate PEM, key PEM, notAfter.
    pub cert: String,
    pub key: String,
    pub not_after: SystemTime,
    /// The CA this one replaced, trusted until `until`.
    pub previous: Option<Previous>,
}

impl CaSecret {
    /// The CA to issue leaves from.
    pub fn pem(&self) -> Pem {
        Pem {
            cert: self.cert.clone(),
            key: self.key.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Previous {
    pub cert: String,
    pub until: SystemTime,
}

/// What to do with the CA Secret on a pass.
#[derive(Debug, PartialEq, Eq)]
pub enum CaAction {
    /// Use it as it is.
    Keep,
    /// There is none: make a CA.
    Create,
    /// Its CA expires within `renew_before`: replace it by a new one, keeping it as previous.
    Renew,
}

pub fn ca_action(secret: Option<&CaSecret>, now: SystemTime, renew_before: Duration) -> CaAction {
    match secret {
        None => CaAction::Create,
        Some(ca)
            if ca
                .not_after
                .checked_sub(renew_before)
                .is_none_or(|due| due <= now) =>
        {
            CaAction::Renew
        }
        Some(_) => CaAction::Keep,
    }
}

/// Until when a CA replaced at `now` stays in the bundle: a replica that has not noticed the
/// rotation yet may still issue a leaf from it within one `check_period`, valid for
/// `leaf_validity`; later no leaf it signed can be valid, so trusting it serves nothing.
pub fn previous_until(now: SystemTime, leaf_validity: Duration, check_period: Duration) -> SystemTime {
    now + leaf_validity + check_period
}

/// The caBundle to inject: the Secret's CA, its previous CA until its time is up, and the CA this
/// replica's leaf chains to, each once, in that order (so replicas in the same state inject the
/// same bytes and do not patch the configurations back and forth).
pub fn bundle(secret: &CaSecret, serving_ca: &str, now: SystemTime) -> String {
    let previous = secret
        .previous
        .as_ref()
        .filter(|p| now < p.until)
        .map(|p| p.cert.as_str());
    let mut certs: Vec<&str> = Vec::new();
    for cert in [Some(secret.cert.as_str()), previous, Some(serving_ca)]
        .into_iter()
        .flatten()
    {
        if !certs.iter().any(|c| same_cert(c, cert)) {
            certs.push(cert);
        }
    }
    certs.iter().map(|c| format!("{}\n", c.trim_end())).collect()
}

/// Whether two PEM texts are the same certificate (line endings and trailing space aside).
pub fn same_cert(a: &str, b: &str) -> bool {
    a.trim() == b.trim()
}

/// Which CA the serving certificate is issued from, when it is time to.
#[derive(Debug, PartialEq, Eq)]
pub enum Reissue {
    No,
    /// From the Secret's CA: a rotation, or a renewal once on the Secret's CA.
    FromSecretCa,
    /// Renewal from the CA it already chains to, while the bundle holding the Secret's new CA is
    /// not settled yet.
    FromServingCa,
}

/// `serving_ca` is the CA of the leaf served now; `settled` whether a bundle holding the Secret's
/// CA has been in place for [`SETTLE`]; `leaf_due` whether the leaf is within its renew-before.
pub fn reissue(secret: &CaSecret, serving_ca: &str, settled: bool, leaf_due: bool) -> Reissue {
    match (same_cert(&secret.cert, serving_ca), settled, leaf_due) {
        (true, _, true) | (false, true, _) => Reissue::FromSecretCa,
        (false, false, true) => Reissue::FromServingCa,
        (true, _, false) | (false, false, false) => Reissue::No,
    }
}

/// Since when the bundle injected now has been in place: kept while the same bundle is injected
/// pass after pass, restarted when it changes or could not be written.
#[derive(Debug, Default)]
pub struct InPlace {
    since: Option<(String, Instant)>,
}

impl InPlace {
    /// Records a pass: `injected` is the bundle now in both configurations, None on failure.
    pub fn record(&mut self, injected: Option<&str>, now: Instant) {
        self.since = match (injected, self.since.take()) {
            (Some(bundle), Some((same, since))) if same == bundle => Some((same, since)),
            (Some(bundle), _) => Some((bundle.to_owned(), now)),
            (None, _) => None,
        };
    }

    /// Whether a bundle holding `ca` has been in place for [`SETTLE`].
    pub fn settled(&self, ca: &str, now: Instant) -> bool {
        self.since
            .as_ref()
            .is_some_and(|(bundle, since)| now.duration_since(*since) >= SETTLE && bundle.contains(ca.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(cert: &str, previous: Option<(&str, SystemTime)>) -> CaSecret {
        CaSecret {
            cert: cert.into(),
            key: "KEY".into(),
            not_after: SystemTime::now() + Duration::from_secs(3600),
            previous: previous.map(|(cert, until)| Previous {
                cert: cert.into(),
                until,
            }),
        }
    }

    #[test]
    fn the_secret_is_created_when_missing_and_renewed_within_renew_before() {
        let now = SystemTime::now();
        let hour = Duration::from_secs(3600);
        let ca = |left: Duration| CaSecret {
            not_after: now + left,
            ..secret("NEW", None)
        };
        for (case, secret, want) in [
            ("missing", None, CaAction::Create),
            ("far from expiry", Some(ca(3 * hour)), CaAction::Keep),
            ("within renew-before", Some(ca(hour / 2)), CaAction::Renew),
            ("exactly due", Some(ca(hour)), CaAction::Renew),
            (
                "expired",
                Some(CaSecret {
                    not_after: now - hour,
                    ..ca(hour)
                }),
                CaAction::Renew,
            ),
        ] {
            assert_eq!(ca_action(secret.as_ref(), now, hour), want, "{case}");
        }
    }

    #[test]
    fn the_bundle_is_the_union_in_a_fixed_order_and_drops_the_previous_ca_when_its_time_is_up() {
        let now = SystemTime::now();
        let later = now + Duration::from_secs(60);
        let earlier = now - Duration::from_secs(1);
        for (case, secret, serving, want) in [
            ("steady", secret("NEW", None), "NEW", "NEW\n"),
            (
                "steady, PEM line ending differs",
                secret("NEW\n", None),
                "NEW",
                "NEW\n",
            ),
            (
                "rotating, leaf still old",
                secret("NEW", Some(("OLD", later))),
                "OLD",
                "NEW\nOLD\n",
            ),
            (
                "rotating, leaf moved",
                secret("NEW", Some(("OLD", later))),
                "NEW",
                "NEW\nOLD\n",
            ),
            (
                "rotation done",
                secret("NEW", Some(("OLD", earlier))),
                "NEW",
                "NEW\n",
            ),
            // A replica that missed the rotation (or a CA replaced by hand) keeps its own CA in.
            (
                "leaf on a CA the Secret forgot",
                secret("NEW", Some(("OLD", earlier))),
                "OLD",
                "NEW\nOLD\n",
            ),
            ("replaced by hand", secret("NEW", None), "OLD", "NEW\nOLD\n"),
        ] {
            assert_eq!(bundle(&secret, serving, now), want, "{case}");
        }
    }

    #[test]
    fn the_leaf_moves_to_the_new_ca_only_once_the_bundle_holding_it_settled() {
        let rotating = secret("NEW", Some(("OLD", SystemTime::now() + Duration::from_secs(60))));
        for (case, serving, settled, due, want) in [
            ("steady, not due", "NEW", true, false, Reissue::No),
            ("steady, due", "NEW", true, true, Reissue::FromSecretCa),
            (
                "steady, due, bundle unsettled",
                "NEW",
                false,
                true,
                Reissue::FromSecretCa,
            ),
            (
                "rotated, bundle settled",
                "OLD",
                true,
                false,
                Reissue::FromSecretCa,
            ),
            ("rotated, bundle not settled", "OLD", false, false, Reissue::No),
            (
                "rotated, not settled, leaf due",
                "OLD",
                false,
                true,
                Reissue::FromServingCa,
            ),
        ] {
            assert_eq!(reissue(&rotating, serving, settled, due), want, "{case}");
        }
    }

    #[test]
    fn a_bundle_settles_after_being_in_place_for_the_settle_time() {
        let start = Instant::now();
        let mut in_place = InPlace::default();
        in_place.record(Some("OLD\n"), start);
        assert!(
            !in_place.settled("NEW", start + SETTLE),
            "a bundle without the CA"
        );
        in_place.record(Some("NEW\nOLD\n"), start + SETTLE);
        assert!(!in_place.settled("NEW", start + SETTLE), "just injected");
        in_place.record(Some("NEW\nOLD\n"), start + SETTLE * 2);
        assert!(
            in_place.settled("NEW", start + SETTLE * 2),
            "in place since the last change"
        );
        in_place.record(None, start + SETTLE * 3);
        in_place.record(Some("NEW\nOLD\n"), start + SETTLE * 3);
        assert!(
            !in_place.settled("NEW", start + SETTLE * 3),
            "a failed write restarts the clock"
        );
        assert_eq!(
            previous_until(SystemTime::UNIX_EPOCH, SETTLE, SETTLE),
            SystemTime::UNIX_EPOCH + SETTLE * 2
        );
    }
}
