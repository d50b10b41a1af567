//! Command line of the operator binary.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

use goalert_client::{self as goalert, Credentials, GoAlert, secret::Secret};

/// Provisions GoAlert (users, rotations, schedules, escalation policies, services and system
/// configuration) from Kubernetes custom resources.
#[derive(Debug, Parser)]
#[command(name = "goalert-provisioning", version, propagate_version = true)]
pub struct Cli {
    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, global = true, env = "LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the operator: connect to Kubernetes (in-cluster, or $KUBECONFIG) and to GoAlert.
    Run(Box<RunArgs>),
    /// Write the CustomResourceDefinitions generated from the API types into crds/ and the chart.
    Crdgen {
        /// The repository root to write under.
        #[arg(long, default_value = ".")]
        root: std::path::PathBuf,
    },
    /// Print the GraphQL document an admin API key for this operator version must be minted with.
    PrintApiKeyQuery,
    /// Mint an admin API key for this operator version, logging in as a GoAlert administrator.
    ///
    /// Prints the key on stdout. Store it in the operator's Secret; GoAlert shows it only once.
    CreateApiKey(CreateApiKeyArgs),
    /// Write manifests for everything in an existing GoAlert, logging in as an administrator.
    ///
    /// Users, rotations, schedules, escalation policies and services become GoAlertUser,
    /// GoAlertRotation, GoAlertSchedule, GoAlertEscalationPolicy and GoAlertService objects that
    /// refer to each other by name; integration keys and heartbeat monitors get secretRefs, never
    /// their URLs. Applied to the same GoAlert, the operator adopts everything and changes
    /// nothing. What the custom resources cannot express is left out, with a warning on stderr
    /// and a comment at the top of the output.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub goalert: GoAlertArgs,

    /// Address of the plain-HTTP endpoints /metrics, /healthz and /readyz.
    #[arg(long, env = "METRICS_BIND_ADDRESS", default_value = "0.0.0.0:8080")]
    pub metrics_bind_address: SocketAddr,

    /// How often every object is compared with GoAlert again, to correct changes made there by
    /// hand (for example 5m, 90s, 1h).
    #[arg(long, env = "RESYNC_PERIOD", default_value = "5m")]
    pub resync_period: humantime::Duration,

    /// Whether a resource takes over an existing GoAlert object with the same unique name (Adopt)
    /// or reports Ready=False, reason AlreadyExists (Refuse), in the namespaces allowed to adopt
    /// (--adoption-namespaces); there a resource's spec.adoption wins. Elsewhere: Refuse.
    #[arg(
        long,
        env = "ADOPTION_POLICY",
        value_enum,
        ignore_case = true,
        default_value = "Adopt"
    )]
    pub adoption_policy: crate::api::common::AdoptionPolicy,

    /// Manage only the custom resources in this namespace (default: all namespaces).
    #[arg(long, env = "WATCH_NAMESPACE")]
    pub namespace: Option<String>,

    /// The name this operator records on each resource it manages (annotation
    /// goalert.heystaq.com/instance); an operator of another name, whose watch overlaps, leaves
    /// those resources alone. Defaults to the GoAlert URL, so operators of different GoAlerts
    /// differ; set it to keep the resources when that URL changes.
    #[arg(long = "instance-name", env = "INSTANCE_NAME")]
    pub instance_name: Option<String>,

    #[command(flatten)]
    pub tenancy: crate::tenancy::TenancyArgs,

    #[command(flatten)]
    pub webhooks: Box<crate::webhooks::WebhookArgs>,

    #[command(flatten)]
    pub leader_election: LeaderElectionArgs,
}

/// Several replicas share a Lease; only its holder reconciles, all serve the webhooks.
#[derive(Debug, Args)]
pub struct LeaderElectionArgs {
    /// Reconcile only while holding the Lease (off: this process always reconciles).
    #[arg(
        long = "leader-election",
        env = "LEADER_ELECTION",
        default_value_t = true,
        action = clap::ArgAction::Set,
        value_name = "BOOL"
    )]
    pub leader_election: bool,

    /// Namespace of the Lease. Defaults to $POD_NAMESPACE, else the kubeconfig's namespace.
    #[arg(long = "leader-election-namespace", env = "POD_NAMESPACE")]
    pub lease_namespace: Option<String>,

    /// Name of the Lease; releases sharing a namespace need different names.
    #[arg(
        long = "leader-election-lease",
        env = "LEADER_ELECTION_LEASE",
        default_value = "goalert-provisioning-leader"
    )]
    pub lease: String,

    /// How long a Lease stays valid without renewal (renewed every third of it).
    #[arg(
        long = "leader-election-lease-duration",
        env = "LEADER_ELECTION_LEASE_DURATION",
        default_value = "15s"
    )]
    pub lease_duration: humantime::Duration,

    /// This replica's name in the Lease. Defaults to $POD_NAME, else host name and process ID.
    #[arg(long = "leader-election-identity", env = "POD_NAME")]
    pub identity: Option<String>,
}

/// Where GoAlert is and how the operator authenticates to it: an admin API key minted for the
/// operator's document, or the username and password of a GoAlert admin service user.
#[derive(Debug, Args)]
pub struct GoAlertArgs {
    /// GoAlert's public URL, for example https://goalert.example.com.
    #[arg(long = "goalert-url", env = "GOALERT_URL")]
    pub url: String,

    /// Admin API key minted for the document `print-api-key-query` prints.
    #[arg(
        long = "goalert-api-key",
        env = "GOALERT_API_KEY",
        hide_env_values = true,
        conflicts_with = "username",
        required_unless_present = "username"
    )]
    pub api_key: Option<String>,

    /// Username of a GoAlert admin service user (instead of an API key).
    #[arg(long = "goalert-username", env = "GOALERT_USERNAME", requires = "password")]
    pub username: Option<String>,

    /// Password of that user.
    #[arg(long = "goalert-password", env = "GOALERT_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
}

impl GoAlertArgs {
    pub fn client(&self) -> anyhow::Result<GoAlert> {
        let credentials = match (&self.api_key, &self.username, &self.password) {
            (Some(key), _, _) => Credentials::ApiKey(Secret::new(key.trim())),
            (None, Some(username), Some(password)) => Credentials::Login {
                username: username.clone(),
                password: Secret::new(password.clone()),
            },
            _ => anyhow::bail!("give --goalert-api-key, or --goalert-username with --goalert-password"),
        };
        GoAlert::new(&self.url, credentials)
            .map_err(|e| anyhow::anyhow!("--goalert-url {:?} is not a valid URL: {e}", self.url))
    }
}

/// A GoAlert administrator's own login, for the commands an operator's API key cannot run.
#[derive(Debug, Args)]
pub struct AdminLoginArgs {
    /// GoAlert's public URL.
    #[arg(long = "goalert-url", env = "GOALERT_URL")]
    pub url: String,

    /// A GoAlert administrator's username.
    #[arg(long, env = "GOALERT_USERNAME")]
    pub username: String,

    /// That administrator's password.
    #[arg(long, env = "GOALERT_PASSWORD", hide_env_values = true)]
    pub password: String,
}

impl AdminLoginArgs {
    pub fn client(&self) -> anyhow::Result<GoAlert> {
        let credentials = Credentials::Login {
            username: self.username.clone(),
            password: Secret::new(self.password.clone()),
        };
        GoAlert::new(&self.url, credentials)
            .map_err(|e| anyhow::anyhow!("--goalert-url {:?} is not a valid URL: {e}", self.url))
    }
}

#[derive(Debug, Args)]
pub struct CreateApiKeyArgs {
    #[command(flatten)]
    pub login: AdminLoginArgs,

    /// Name of the key in GoAlert (unique among keys).
    #[arg(long, default_value = concat!("goalert-provisioning ", env!("CARGO_PKG_VERSION")))]
    pub name: String,

    /// Days until the key expires. GoAlert cannot extend a key: mint a new one before then.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub expires_in_days: u32,
}

impl CreateApiKeyArgs {
    pub async fn create(&self) -> anyhow::Result<Secret> {
        let admin = self.login.client()?;
        let expires_at = (std::time::SystemTime::now()
            + std::time::Duration::from_secs(u64::from(self.expires_in_days) * 86_400))
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
        let request = goalert::operations::ApiKeyRequest {
            name: self.name.clone(),
            description: "Used by the goalert-provisioning operator; bound to its GraphQL document.".into(),
            expires_at: k8s_openapi::jiff::Timestamp::from_second(i64::try_from(expires_at)?)?.to_string(),
        };
        Ok(admin.create_operator_api_key(request).await?)
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub login: AdminLoginArgs,

    /// Namespace to write into every object's metadata. Without it the manifests name none, and
    /// `kubectl apply -n` decides.
    #[arg(long, short = 'n', value_parser = namespace_name)]
    pub namespace: Option<String>,

    /// Write the manifests to this file instead of stdout (with --split-by: this directory).
    #[arg(long, short = 'o', value_name = "FILE", required_if_eq("split_by", "kind"))]
    pub output: Option<std::path::PathBuf>,

    /// Write one file per kind into the --output directory, for large organisations.
    #[arg(long, value_enum)]
    pub split_by: Option<crate::export::SplitBy>,
}

impl ExportArgs {
    pub async fn run(&self) -> anyhow::Result<()> {
        let goalert = self.login.client()?;
        let manifests = crate::export::export(&goalert, self.namespace.as_deref()).await?;
        for warning in &manifests.warnings {
            eprintln!("goalert-provisioning: warning: {warning}");
        }
        let source = goalert.base_url().as_str();
        match (self.split_by, &self.output) {
            (Some(split), Some(dir)) => crate::export::write_files(dir, &manifests.to_files(split, source))?,
            _ => crate::export::write(self.output.as_deref(), &manifests.to_yaml(source))?,
        }
        eprintln!("goalert-provisioning: exported {}", manifests.summary());
        Ok(())
    }
}

/// Kubernetes namespace names are DNS-1123 labels.
fn namespace_name(value: &str) -> Result<String, String> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let valid = (1..=63).contains(&value.len())
        && value.chars().all(|c| allowed(c) || c == '-')
        && value.starts_with(allowed)
        && value.ends_with(allowed);
    if valid {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "{value:?} is not a namespace name: use 1-63 lower-case letters, digits and '-', starting and \
             ending with a letter or digit"
        ))
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_needs_one_way_to_authenticate() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(
                ["goalert-provisioning", "run", "--goalert-url", "http://g"]
                    .iter()
                    .chain(args),
            )
        };
        assert!(parse(&[]).is_err());
        assert!(parse(&["--goalert-api-key", "k"]).is_ok());
        assert!(
            parse(&["--goalert-username", "ops"]).is_err(),
            "a username needs a password"
        );
        assert!(parse(&["--goalert-username", "ops", "--goalert-password", "p"]).is_ok());
        assert!(
            parse(&[
                "--goalert-api-key",
                "k",
                "--goalert-username",
                "ops",
                "--goalert-password",
                "p"
            ])
            .is_err()
        );
    }

    #[test]
    fn export_checks_the_namespace_it_writes() {
        let parse = |namespace: &str| {
            Cli::try_parse_from([
                "goalert-provisioning",
                "export",
                "--goalert-url",
                "http://g",
                "--username",
                "admin",
                "--password",
                "p",
                &format!("--namespace={namespace}"),
            ])
        };
        assert!(parse("team-a").is_ok());
        for bad in ["Team-A", "-team", "team_a", &"a".repeat(64)] {
            let error = parse(bad).unwrap_err().to_string();
            assert!(
                error.contains("is not a namespace name: use 1-63 lower-case"),
                "{error}"
            );
        }
    }
}
