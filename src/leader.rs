//! Leader election with a coordination.k8s.io Lease: every replica serves the webhooks and the
//! admin endpoints, one reconciles. A leader that cannot renew its Lease in time stops (the
//! process exits and is restarted) rather than risk two replicas writing to GoAlert at once.
//!
//! Time is only ever compared on one machine's monotonic clock: a follower counts a Lease as
//! expired once it has seen no renewal for the lease duration, and a leader gives up once the
//! lease duration has passed since it sent its last successful renewal. The follower sees that
//! renewal no earlier than it was sent, so the leader always stops first, whatever the two
//! machines' wall clocks say.

use std::{sync::Mutex, time::Duration};

use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::MicroTime,
    jiff::Timestamp,
};
use kube::{
    Api, Client,
    api::{ObjectMeta, PostParams},
};
use tokio::time::Instant;

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
    #[error(
        "could not renew the leader election Lease {namespace}/{name} within its duration of {}s ({reason}); \
         stopping before another replica may take it over, so only one replica writes",
        .duration.as_secs()
    )]
    Expired {
        namespace: String,
        name: String,
        duration: Duration,
        reason: String,
    },
}

pub struct Elector {
    leases: Api<Lease>,
    namespace: String,
    name: String,
    identity: String,
    duration: Duration,
    sighting: Mutex<Sighting>,
}

/// The other holder's Lease as this replica last saw it change, by this replica's clock.
#[derive(Debug, Default)]
struct Sighting {
    seen: Option<(LeaseRecord, Instant)>,
}

/// What changes each time a holder renews.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LeaseRecord {
    holder: Option<String>,
    renew_time: Option<Timestamp>,
}

impl Sighting {
    /// Records `record` as seen at `now`; whether it has stayed unchanged for `duration` since
    /// this replica first saw it. A Lease seen for the first time counts as just renewed.
    fn unrenewed_for(&mut self, record: LeaseRecord, duration: Duration, now: Instant) -> bool {
        match &self.seen {
            Some((seen, since)) if *seen == record => now.saturating_duration_since(*since) >= duration,
            _ => {
                self.seen = Some((record, now));
                false
            }
        }
    }
}

impl Elector {
    pub fn new(client: Client, namespace: &str, name: &str, identity: &str, duration: Duration) -> Self {
        Self {
            leases: Api::namespaced(client, namespace),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            identity: identity.to_owned(),
            duration,
            sighting: Mutex::default(),
        }
    }

    /// Returns once this process holds the Lease, with the moment its winning request was sent
    /// (the start of its term). Errors are retried: a follower has nothing to stop.
    pub async fn acquire(&self) -> Term {
        tracing::info!(lease = %self.name, identity = %self.identity, "waiting to become the leader");
        let renewed = loop {
            let attempt = Instant::now();
            match self.try_hold().await {
                Ok(true) => break attempt,
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "could not read the leader election Lease"),
            }
            tokio::time::sleep_until(attempt + self.duration / 3).await;
        };
        tracing::info!(lease = %self.name, identity = %self.identity, "became the leader");
        Term {
            renewed,
            duration: self.duration,
        }
    }

    /// Renews the Lease until it is lost or could not be renewed within its duration; then
    /// returns the reason. Each renewal is cut off at the term's end, so a hanging API server
    /// cannot keep a leader past it.
    pub async fn keep_renewing(&self, mut term: Term) -> Error {
        let mut reason = "no renewal answered".to_owned();
        loop {
            tokio::time::sleep_until(term.next_renewal(Instant::now())).await;
            let attempt = Instant::now();
            if term.is_over(attempt) {
                return self.expired(reason);
            }
            match tokio::time::timeout_at(term.end(), self.try_hold()).await {
                Ok(Ok(true)) => term.renewed = attempt,
                Ok(Ok(false)) => {
                    let holder = self.holder().await.unwrap_or_else(|| "another replica".into());
                    return Error::Lost {
                        namespace: self.namespace.clone(),
                        name: self.name.clone(),
                        holder,
                    };
                }
                Ok(Err(error)) => {
                    tracing::warn!(%error, "could not renew the leader election Lease; retrying until the term ends");
                    reason = error.to_string();
                }
                Err(_) => return self.expired(format!("the last renewal got no answer ({reason})")),
            }
        }
    }

    fn expired(&self, reason: String) -> Error {
        Error::Expired {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            duration: self.duration,
            reason,
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
        let released = spec.holder_identity.is_none() || spec.renew_time.is_none();
        let duration = spec.lease_duration_seconds.map_or(self.duration, |s| {
            Duration::from_secs(s.max(0).unsigned_abs().into())
        });
        let record = LeaseRecord {
            holder: spec.holder_identity.clone(),
            renew_time: spec.renew_time.as_ref().map(|t| t.0),
        };
        let expired = released
            || self
                .sighting
                .lock()
                .expect("the Lease sighting lock is never held across a panic")
                .unrenewed_for(record, duration, Instant::now());
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

/// A leader's term: it may write until the lease duration has passed since it sent its last
/// successful renewal.
#[derive(Debug, Clone, Copy)]
pub struct Term {
    renewed: Instant,
    duration: Duration,
}

impl Term {
    pub fn end(&self) -> Instant {
        self.renewed + self.duration
    }

    pub fn is_over(&self, now: Instant) -> bool {
        now >= self.end()
    }

    /// Renewals every third of the duration leave room for two retries; never past the end.
    fn next_renewal(&self, now: Instant) -> Instant {
        (now + self.duration / 3).min(self.end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DURATION: Duration = Duration::from_secs(15);

    fn record(holder: &str, renewed: i64) -> LeaseRecord {
        LeaseRecord {
            holder: Some(holder.into()),
            renew_time: Some(Timestamp::from_second(renewed).unwrap()),
        }
    }

    #[test]
    fn a_lease_expires_only_after_staying_unchanged_for_its_duration_on_the_local_clock() {
        let start = Instant::now();
        let mut sighting = Sighting::default();
        // A renewTime far in the past (a skewed clock) does not count: first sight is "renewed now".
        assert!(!sighting.unrenewed_for(record("a", 0), DURATION, start));
        assert!(!sighting.unrenewed_for(record("a", 0), DURATION, start + DURATION / 2));
        assert!(sighting.unrenewed_for(record("a", 0), DURATION, start + DURATION));
    }

    #[test]
    fn every_renewal_restarts_the_count() {
        let start = Instant::now();
        let mut sighting = Sighting::default();
        assert!(!sighting.unrenewed_for(record("a", 100), DURATION, start));
        let later = start + DURATION * 2 / 3;
        // A renewTime in the future (the other clock runs ahead) is only a change, too.
        assert!(!sighting.unrenewed_for(record("a", 9_999_999), DURATION, later));
        assert!(!sighting.unrenewed_for(record("a", 9_999_999), DURATION, start + DURATION));
        assert!(sighting.unrenewed_for(record("a", 9_999_999), DURATION, later + DURATION));
        // Another holder taking it is a change as well.
        assert!(!sighting.unrenewed_for(record("b", 9_999_999), DURATION, later + DURATION));
    }

    #[test]
    fn a_term_ends_one_duration_after_the_last_renewal_was_sent() {
        let sent = Instant::now();
        let term = Term {
            renewed: sent,
            duration: DURATION,
        };
        assert!(!term.is_over(sent + DURATION - Duration::from_millis(1)));
        assert!(term.is_over(sent + DURATION));
        assert_eq!(term.next_renewal(sent), sent + DURATION / 3);
        assert_eq!(term.next_renewal(sent + DURATION * 5 / 6), term.end());
    }
}
