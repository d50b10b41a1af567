//! Leader election with a coordination.k8s.io Lease: every replica serves the webhooks and the
//! admin endpoints, one reconciles. A leader that cannot renew its Lease in time stops (the
//! process exits and is restarted) rather than risk two replicas writing to GoAlert at once.

use std::time::Duration;

use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::MicroTime,
    jiff::Timestamp,
};
use kube::{
    Api, Client,
    api::{ObjectMeta, PostParams},
};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("leader election Lease {namespace}/{name}: {source}")]
    Kube {
        namespace: String,
        name: String,
        source: kube::Error,
    },
    #[error(
        "lost the leader election Lease {namespace}/{name} to {holder}; stopping so only one replica reconciles"
    )]
    Lost {
        namespace: String,
        name: String,
        holder: String,
    },
}

pub struct Elector {
    leases: Api<Lease>,
    namespace: String,
    name: String,
    identity: String,
    duration: Duration,
}

impl Elector {
    pub fn new(client: Client, namespace: &str, name: &str, identity: &str, duration: Duration) -> Self {
        Self {
            leases: Api::namespaced(client, namespace),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            identity: identity.to_owned(),
            duration,
        }
    }

    /// Returns once this process holds the Lease.
    pub async fn acquire(&self) -> Result<(), Error> {
        tracing::info!(lease = %self.name, identity = %self.identity, "waiting to become the leader");
        while !self.try_hold().await? {
            tokio::time::sleep(self.duration / 3).await;
        }
        tracing::info!(lease = %self.name, identity = %self.identity, "became the leader");
        Ok(())
    }

    /// Renews the Lease until renewing fails; then returns the reason.
    pub async fn keep_renewing(&self) -> Error {
        loop {
            tokio::time::sleep(self.duration / 3).await;
            match self.try_hold().await {
                Ok(true) => {}
                Ok(false) => {
                    let holder = self.holder().await.unwrap_or_else(|| "another replica".into());
                    return Error::Lost {
                        namespace: self.namespace.clone(),
                        name: self.name.clone(),
                        holder,
                    };
                }
                // A failed renewal is retried while the Lease is still ours.
                Err(error) => tracing::warn!(%error, "could not renew the leader election Lease"),
            }
        }
    }

    async fn holder(&self) -> Option<String> {
        self.leases
            .get_opt(&self.name)
            .await
            .ok()
            .flatten()?
            .spec?
            .holder_identity
    }

    /// Takes or renews the Lease if it is free, expired or ours; `false` when another holds it.
    async fn try_hold(&self) -> Result<bool, Error> {
        let now = Timestamp::now();
        let kube_error = |source| Error::Kube {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            source,
        };
        let Some(mut lease) = self.leases.get_opt(&self.name).await.map_err(kube_error)? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.spec(now, None, 0)),
            };
            return match self.leases.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                Err(error) => Err(kube_error(error)),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let ours = spec.holder_identity.as_deref() == Some(self.identity.as_str());
        let expired = spec.renew_time.as_ref().is_none_or(|renewed| {
            let duration = spec
                .lease_duration_seconds
                .map_or(self.duration, |s| Duration::from_secs(s.max(0) as u64));
            renewed.0 + duration < now
        });
        if !ours && !expired {
            return Ok(false);
        }
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!ours);
        let acquired = if ours { spec.acquire_time } else { None };
        lease.spec = Some(self.spec(now, acquired, transitions));
        // The resourceVersion in `lease` makes this a compare-and-swap: a replica that took the
        // Lease in the meantime makes it fail with 409.
        match self
            .leases
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(error) => Err(kube_error(error)),
        }
    }

    fn spec(&self, now: Timestamp, acquired: Option<MicroTime>, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(i32::try_from(self.duration.as_secs()).unwrap_or(i32::MAX)),
            acquire_time: Some(acquired.unwrap_or(MicroTime(now))),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }
}
