//! `goalert-provisioning run`: wires the GoAlert client, the Kubernetes client, the admin server
//! and (as they land) the controllers together, and keeps readiness honest.

use std::{fmt::Display, future::Future, time::Duration};

use anyhow::Context as _;

use crate::{
    cli::RunArgs,
    controller::{self, Context},
    leader,
    metrics::Metrics,
    server::{self, Readiness},
    tenancy::Tenancy,
};
use goalert_client::{self as goalert};

const GOALERT_CHECK: &str = "goalert";
const KUBERNETES_CHECK: &str = "kubernetes";

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let metrics = Metrics::new();
    let readiness = Readiness::default();
    readiness.add(GOALERT_CHECK).await;
    readiness.add(KUBERNETES_CHECK).await;

    let goalert = args.goalert.client()?.with_observer(metrics.goalert_api.clone());
    let kube = kube::Client::try_default()
        .await
        .context("cannot build a Kubernetes client (in-cluster service account, or $KUBECONFIG)")?;
    let instance = (args.instance_name.clone())
        .unwrap_or_else(|| goalert.base_url().as_str().trim_end_matches('/').to_owned());
    tracing::info!(goalert = %goalert.base_url(), %instance, "starting");

    let admin = server::serve(
        args.metrics_bind_address,
        server::router(metrics.clone(), readiness.clone()),
    );
    if args.webhooks.enabled() {
        readiness.add(crate::webhooks::READINESS_CHECK).await;
    }
    let operator_namespace = args
        .webhooks
        .service_namespace
        .clone()
        .unwrap_or_else(|| kube.default_namespace().to_owned());
    let tenancy = Tenancy::new(&args.tenancy, args.adoption_policy, &operator_namespace);
    let webhooks = crate::webhooks::run(
        (*args.webhooks).clone(),
        tenancy.clone(),
        kube.clone(),
        goalert.clone(),
        metrics.clone(),
        readiness.clone(),
        args.namespace.clone(),
    );
    let election = args.leader_election.leader_election.then(|| {
        let namespace = args
            .leader_election
            .lease_namespace
            .clone()
            .unwrap_or_else(|| kube.default_namespace().to_owned());
        let identity = args
            .leader_election
            .identity
            .clone()
            .unwrap_or_else(default_identity);
        leader::Elector::new(
            kube.clone(),
            &namespace,
            &args.leader_election.lease,
            &identity,
            args.leader_election.lease_duration.into(),
        )
    });
    let leader_gauge = metrics.leader.clone();
    let context = std::sync::Arc::new(Context::new(
        kube.clone(),
        goalert.clone(),
        metrics,
        args.resync_period.into(),
        tenancy,
        args.namespace,
        instance,
    ));
    tokio::select! {
        led = lead(election, leader_gauge, controller::run(context)) => led?,
        served = admin => served.context("admin server failed")?,
        served = webhooks => served.context("admission webhooks failed")?,
        () = keep_checking(GOALERT_CHECK, &readiness, || goalert.check_access(), goalert_retry_delay) => {}
        () = keep_checking(KUBERNETES_CHECK, &readiness, || kube.apiserver_version(), |_| Duration::from_secs(10)) => {}
        () = shutdown_signal() => tracing::info!("shutting down"),
    }
    Ok(())
}

/// Runs the controllers, after winning the leader election when there is one. Losing the Lease
/// ends the process with an error: a restart is safer than two replicas writing to GoAlert.
async fn lead(
    election: Option<leader::Elector>,
    leader: prometheus::IntGauge,
    controllers: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let Some(election) = election else {
        leader.set(1);
        controllers.await;
        return Ok(());
    };
    let term = election.acquire().await;
    leader.set(1);
    tokio::select! {
        () = controllers => Ok(()),
        lost = election.keep_renewing(term) => {
            leader.set(0);
            Err(lost.into())
        }
    }
}

fn default_identity() -> String {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    format!("{}-{}", host.trim(), std::process::id())
}

/// Re-runs a readiness check forever, logging only when its outcome changes.
async fn keep_checking<T, E, Fut>(
    name: &'static str,
    readiness: &Readiness,
    check: impl Fn() -> Fut,
    retry_delay: impl Fn(&E) -> Duration,
) where
    E: Display,
    Fut: Future<Output = Result<T, E>>,
{
    const HEALTHY_INTERVAL: Duration = Duration::from_secs(30);
    loop {
        let (outcome, delay) = match check().await {
            Ok(_) => (Ok(()), HEALTHY_INTERVAL),
            Err(error) => (Err(error.to_string()), retry_delay(&error)),
        };
        if readiness.report(name, outcome.clone()).await {
            match &outcome {
                Ok(()) => tracing::info!(check = name, "ready"),
                Err(reason) => tracing::error!(check = name, %reason, "not ready"),
            }
        }
        tokio::time::sleep(delay).await;
    }
}

/// Wrong credentials or a key for another document need a person: check rarely, do not hammer.
fn goalert_retry_delay(error: &goalert::Error) -> Duration {
    if error.is_transient() {
        Duration::from_secs(5)
    } else {
        Duration::from_secs(60)
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! { _ = interrupt => {}, _ = terminate.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
