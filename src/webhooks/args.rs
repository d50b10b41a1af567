//! The webhook server's settings (flags and environment).

use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
};

use clap::{Args, ValueEnum};

use super::validate;

/// How the webhook server gets its certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CertMode {
    /// Make a CA (kept in a Secret, shared by every replica) and serving certificates, renew them
    /// before they expire, and write the CA into the webhook configurations.
    SelfManaged,
    /// Read tls.crt and tls.key from a directory (cert-manager's Secret, mounted) and reload them
    /// when they change; cert-manager's cainjector writes caBundle.
    CertManager,
}

/// The admission webhook server.
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// Do not serve the admission webhooks.
    #[arg(long = "webhooks-disabled", env = "WEBHOOK_DISABLED")]
    pub disabled: bool,

    /// Where the serving certificate comes from. Without it the webhook server does not start
    /// (the chart always sets it when webhooks are enabled).
    #[arg(long = "webhook-cert-mode", env = "WEBHOOK_CERT_MODE", value_enum)]
    pub cert_mode: Option<CertMode>,

    /// Address of the HTTPS endpoints /validate and /mutate.
    #[arg(
        long = "webhook-bind-address",
        env = "WEBHOOK_BIND_ADDRESS",
        default_value = "0.0.0.0:9443"
    )]
    pub bind_address: SocketAddr,

    /// cert-manager mode: the directory holding tls.crt and tls.key.
    #[arg(
        long = "webhook-cert-dir",
        env = "WEBHOOK_CERT_DIR",
        default_value = "/tmp/k8s-webhook-server/serving-certs"
    )]
    pub cert_dir: PathBuf,

    /// The Service in front of the webhook: the certificate is valid for svc, svc.ns, svc.ns.svc
    /// and svc.ns.svc.cluster.local.
    #[arg(
        long = "webhook-service-name",
        env = "WEBHOOK_SERVICE_NAME",
        default_value = "goalert-provisioning-webhook"
    )]
    pub service_name: String,

    /// IP addresses the certificate is also valid for (comma-separated), for example 127.0.0.1
    /// when the API server calls an operator running outside the cluster.
    #[arg(
        long = "webhook-cert-ip-sans",
        env = "WEBHOOK_CERT_IP_SANS",
        value_delimiter = ','
    )]
    pub ip_sans: Vec<IpAddr>,

    /// Namespace of the Service and of the CA Secret (default: the kubeconfig's namespace).
    #[arg(long = "webhook-namespace", env = "POD_NAMESPACE")]
    pub service_namespace: Option<String>,

    /// Name of the ValidatingWebhookConfiguration and MutatingWebhookConfiguration whose
    /// caBundle the operator writes (self-managed mode).
    #[arg(
        long = "webhook-configuration-name",
        env = "WEBHOOK_CONFIGURATION_NAME",
        default_value = "goalert-provisioning"
    )]
    pub configuration_name: String,

    /// Secret holding the CA (self-managed mode); created when missing.
    #[arg(
        long = "webhook-secret-name",
        env = "WEBHOOK_SECRET_NAME",
        default_value = "goalert-provisioning-webhook-tls"
    )]
    pub secret_name: String,

    /// Lifetime of each serving certificate (self-managed mode).
    #[arg(
        long = "webhook-cert-validity",
        env = "WEBHOOK_CERT_VALIDITY",
        default_value = "90days"
    )]
    pub cert_validity: humantime::Duration,

    /// Renew the serving certificate this long before it expires.
    #[arg(
        long = "webhook-cert-renew-before",
        env = "WEBHOOK_CERT_RENEW_BEFORE",
        default_value = "30days"
    )]
    pub cert_renew_before: humantime::Duration,

    /// Lifetime of each CA the operator makes (self-managed mode).
    #[arg(
        long = "webhook-ca-validity",
        env = "WEBHOOK_CA_VALIDITY",
        default_value = "10years"
    )]
    pub ca_validity: humantime::Duration,

    /// Replace the CA this long before it expires; the old one stays in caBundle until no
    /// serving certificate it signed can still be in use. Shorter than the CA's validity.
    #[arg(
        long = "webhook-ca-renew-before",
        env = "WEBHOOK_CA_RENEW_BEFORE",
        default_value = "1year"
    )]
    pub ca_renew_before: humantime::Duration,

    /// How often each replica re-reads the CA Secret and re-checks caBundle, so a rotated CA
    /// is noticed within this period.
    #[arg(
        long = "webhook-ca-check-period",
        env = "WEBHOOK_CA_CHECK_PERIOD",
        default_value = "10s"
    )]
    pub ca_check_period: humantime::Duration,

    /// How long a review waits for GoAlert before admitting with a warning instead.
    #[arg(
        long = "webhook-lookup-timeout",
        env = "WEBHOOK_LOOKUP_TIMEOUT",
        default_value = "2s"
    )]
    pub lookup_timeout: humantime::Duration,

    /// A reference by name to a custom resource that does not exist in the namespace: warn
    /// (default: admitted, so a folder applies in one pass; refused only when a resource with a
    /// name one edit away exists, "did you mean ..."), or deny.
    #[arg(
        long = "webhook-missing-references",
        env = "WEBHOOK_MISSING_REFERENCES",
        value_enum,
        default_value = "warn"
    )]
    pub missing_references: validate::MissingNames,

    /// How long GoAlert's answers are reused.
    #[arg(
        long = "webhook-lookup-cache-ttl",
        env = "WEBHOOK_LOOKUP_CACHE_TTL",
        default_value = "30s"
    )]
    pub lookup_cache_ttl: humantime::Duration,
}

impl WebhookArgs {
    pub fn enabled(&self) -> bool {
        !self.disabled && self.cert_mode.is_some()
    }

    /// The names the webhook Service answers to in `namespace`, for the serving certificate.
    pub fn dns_names(&self, namespace: &str) -> Vec<String> {
        let svc = &self.service_name;
        vec![
            svc.clone(),
            format!("{svc}.{namespace}"),
            format!("{svc}.{namespace}.svc"),
            format!("{svc}.{namespace}.svc.cluster.local"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        webhooks: WebhookArgs,
    }

    #[test]
    fn webhooks_run_only_with_a_certificate_mode() {
        let parse =
            |args: &[&str]| Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied())).unwrap();
        assert!(!parse(&[]).webhooks.enabled());
        let on = parse(&[
            "--webhook-cert-mode",
            "self-managed",
            "--webhook-cert-ip-sans",
            "127.0.0.1,::1",
        ]);
        assert!(on.webhooks.enabled());
        assert_eq!(on.webhooks.ip_sans.len(), 2);
        assert!(
            !parse(&["--webhook-cert-mode", "cert-manager", "--webhooks-disabled"])
                .webhooks
                .enabled()
        );
        assert_eq!(
            on.webhooks.dns_names("ops"),
            [
                "goalert-provisioning-webhook",
                "goalert-provisioning-webhook.ops",
                "goalert-provisioning-webhook.ops.svc",
                "goalert-provisioning-webhook.ops.svc.cluster.local"
            ]
        );
    }
}
