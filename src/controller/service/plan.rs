//! What one round of a service's converge writes, decided from the spec, GoAlert's service and
//! what this resource made before. Pure, so every case is a row in a table; the converge only
//! carries rounds out, in this order: field update, labels, new keys and monitors, then (after
//! reading the service again) the Secrets, then the deletions.
//!
//! Integration keys are replaced make-new-first. GoAlert keeps key names unique per service
//! (case-insensitively), so a key whose type changes is first made again under a stand-in name;
//! its Secret moves to the stand-in, the old key goes; the next round makes the key under its own
//! name, the Secret moves back and the stand-in goes. At no moment does a Secret hold a URL
//! GoAlert no longer accepts, and a create GoAlert refuses (a limit, a type it does not offer)
//! leaves the working key and its Secret as they were.

use std::collections::{BTreeMap, BTreeSet};

use goalert_client::model::{IntegrationKey, IntegrationKeyType, Service, ServiceUpdate, TargetType};

use super::{DesiredKey, DesiredMonitor, DesiredService};
use crate::controller::{
    field_diff::FieldDiff,
    owned_set::{owned_set, same_name},
};

/// What this resource made before, as its status lists it.
#[derive(Debug, Default)]
pub struct Made {
    /// Integration key names, lower-cased (GoAlert compares them so).
    pub keys: BTreeSet<String>,
    /// Heartbeat monitor names, lower-cased.
    pub monitors: BTreeSet<String>,
    /// Label keys.
    pub labels: Vec<String>,
}

/// The writes of one round.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub update: ServiceUpdate,
    /// The spec fields `update` changes.
    pub fields: Vec<String>,
    /// Labels to set; an empty value removes one.
    pub labels: Vec<(String, String)>,
    pub new_keys: Vec<NewKey>,
    pub monitors: Vec<MonitorWrite>,
    /// Parts to delete once the Secrets hold what replaces them.
    pub retired: Vec<Retired>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct NewKey {
    /// Index of the key in spec.integrationKeys.
    pub index: usize,
    /// The spec's name, or its stand-in while the key of the old type still exists.
    pub name: String,
    pub key_type: IntegrationKeyType,
}

#[derive(Debug, PartialEq, Eq)]
pub enum MonitorWrite {
    /// Index in spec.heartbeatMonitors.
    Create(usize),
    /// Index in spec.heartbeatMonitors, and the ID of the monitor of that name.
    Update(usize, String),
}

#[derive(Debug, PartialEq, Eq)]
pub struct Retired {
    pub target: TargetType,
    pub id: String,
    pub name: String,
}

impl Round {
    pub fn is_empty(&self) -> bool {
        *self == Round::default()
    }
}

/// The name a key is made under while the key it replaces still holds its own.
pub fn stand_in(name: &str) -> String {
    const SUFFIX: &str = " replacing";
    // GoAlert allows 64 characters; spec names are ASCII (the CRD's pattern).
    let kept = &name[..name.len().min(64 - SUFFIX.len())];
    format!("{}{SUFFIX}", kept.trim_end())
}

/// The key whose URL a wanted key's Secret holds: its namesake of the wanted type, else its
/// stand-in, else the namesake of another type (it keeps working until it is replaced).
pub fn serving<'a>(wanted: &DesiredKey, keys: &'a [IntegrationKey]) -> Option<&'a IntegrationKey> {
    let named = |name: &str| keys.iter().find(|k| same_name(&k.name, name));
    let namesake = named(&wanted.name);
    let stand_in = named(&stand_in(&wanted.name)).filter(|k| k.key_type == wanted.key_type);
    namesake
        .filter(|k| k.key_type == wanted.key_type)
        .or(stand_in)
        .or(namesake)
}

pub fn plan(desired: &DesiredService, observed: &Service, made: &Made) -> Round {
    let mut diff = FieldDiff::default();
    let update = ServiceUpdate {
        name: diff.set("spec.serviceName", &desired.name, &observed.name),
        description: diff.set("spec.description", &desired.description, &observed.description),
        escalation_policy_id: diff.set(
            "spec.escalationPolicyRef",
            &desired.escalation_policy_id,
            &observed.escalation_policy_id,
        ),
    };
    let (new_keys, mut retired) = keys(&desired.keys, &observed.integration_keys, &made.keys);
    let (monitors, retired_monitors) = monitors(&desired.monitors, observed, &made.monitors);
    retired.extend(retired_monitors);
    Round {
        update,
        fields: diff.changed(),
        labels: label_changes(&desired.labels, &observed.labels, &made.labels),
        new_keys,
        monitors,
        retired,
    }
}

fn keys(
    wanted: &[DesiredKey],
    existing: &[IntegrationKey],
    made: &BTreeSet<String>,
) -> (Vec<NewKey>, Vec<Retired>) {
    let retire = |key: &IntegrationKey| Retired {
        target: TargetType::IntegrationKey,
        id: key.id.clone(),
        name: key.name.clone(),
    };
    let parts = owned_set(
        wanted,
        existing,
        |w, e| same_name(&w.name, &e.name),
        |e| made.contains(&e.name.to_lowercase()),
    );
    let mut new_keys = Vec::new();
    let mut retired: Vec<Retired> = parts.retired.into_iter().map(retire).collect();
    for (index, key, namesake) in parts.wanted {
        let stand_in_name = stand_in(&key.name);
        // Only a stand-in of a key this resource made can be one of its own.
        let stand_in = existing
            .iter()
            .find(|k| same_name(&k.name, &stand_in_name))
            .filter(|_| made.contains(&key.name.to_lowercase()))
            .filter(|_| !wanted.iter().any(|w| same_name(&w.name, &stand_in_name)));
        let new = |name: String| NewKey {
            index,
            name,
            key_type: key.key_type,
        };
        match (namesake, stand_in) {
            (Some(current), stand_in) if current.key_type == key.key_type => {
                retired.extend(stand_in.map(retire));
            }
            // The stand-in serves now: the key of the old type can go.
            (Some(old), Some(stand_in)) if stand_in.key_type == key.key_type => retired.push(retire(old)),
            // A stand-in of yet another type (a change of a change): it goes first.
            (Some(_), Some(stand_in)) => retired.push(retire(stand_in)),
            // Deleted only once the stand-in exists and the Secret holds its URL.
            (Some(old), None) => {
                new_keys.push(new(stand_in_name));
                retired.push(retire(old));
            }
            (None, stand_in) => {
                new_keys.push(new(key.name.clone()));
                retired.extend(stand_in.map(retire));
            }
        }
    }
    (new_keys, retired)
}

fn monitors(
    wanted: &[DesiredMonitor],
    service: &Service,
    made: &BTreeSet<String>,
) -> (Vec<MonitorWrite>, Vec<Retired>) {
    let parts = owned_set(
        wanted,
        &service.heartbeat_monitors,
        |w, e| same_name(&w.name, &e.name),
        |e| made.contains(&e.name.to_lowercase()),
    );
    let writes = (parts.wanted.into_iter())
        .filter_map(|(index, monitor, existing)| match existing {
            None => Some(MonitorWrite::Create(index)),
            Some(existing)
                if existing.timeout_minutes == monitor.timeout_minutes
                    && existing.additional_details == monitor.details =>
            {
                None
            }
            Some(existing) => Some(MonitorWrite::Update(index, existing.id.clone())),
        })
        .collect();
    let retired = (parts.retired.into_iter())
        .map(|m| Retired {
            target: TargetType::HeartbeatMonitor,
            id: m.id.clone(),
            name: m.name.clone(),
        })
        .collect();
    (writes, retired)
}

/// Labels to set (an empty value removes one): spec labels that differ, and labels this resource
/// set before and no longer lists. Labels added in GoAlert by hand are left alone.
fn label_changes(
    desired: &BTreeMap<String, String>,
    observed: &BTreeMap<String, String>,
    previously_managed: &[String],
) -> Vec<(String, String)> {
    let wanted: Vec<_> = desired.iter().collect();
    let existing: Vec<_> = observed.iter().collect();
    let parts = owned_set(
        &wanted,
        &existing,
        |w, e| w.0 == e.0,
        |e| previously_managed.contains(e.0),
    );
    let set = (parts.wanted.into_iter())
        .filter(|(_, want, have)| have.is_none_or(|have| have.1 != want.1))
        .map(|(_, (key, value), _)| ((*key).clone(), (*value).clone()));
    let removed = (parts.retired.into_iter()).map(|(key, _)| ((*key).clone(), String::new()));
    set.chain(removed).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::service::KeySecretRef;
    use IntegrationKeyType::{Generic, Grafana, Universal};

    fn wanted(name: &str, key_type: IntegrationKeyType) -> DesiredKey {
        DesiredKey {
            name: name.into(),
            key_type,
            secret: KeySecretRef {
                name: "keys".into(),
                key: name.into(),
                token_key: None,
            },
        }
    }

    fn existing(name: &str, key_type: IntegrationKeyType) -> IntegrationKey {
        IntegrationKey {
            id: format!("id-{name}"),
            name: name.into(),
            key_type,
            href: format!("https://goalert/{name}"),
        }
    }

    fn service(keys: Vec<IntegrationKey>) -> Service {
        Service {
            id: "svc".into(),
            name: "Checkout".into(),
            description: String::new(),
            escalation_policy_id: "ep".into(),
            labels: BTreeMap::new(),
            integration_keys: keys,
            heartbeat_monitors: Vec::new(),
        }
    }

    fn desired(keys: Vec<DesiredKey>) -> DesiredService {
        DesiredService {
            name: "Checkout".into(),
            description: String::new(),
            escalation_policy_id: "ep".into(),
            labels: BTreeMap::new(),
            keys,
            monitors: Vec::new(),
        }
    }

    fn made(keys: &[&str]) -> Made {
        Made {
            keys: keys.iter().map(|k| k.to_lowercase()).collect(),
            ..Made::default()
        }
    }

    /// Created key names and retired key names of the round.
    fn key_writes(round: &Round) -> (Vec<String>, Vec<String>) {
        (
            round.new_keys.iter().map(|k| k.name.clone()).collect(),
            round.retired.iter().map(|r| r.name.clone()).collect(),
        )
    }

    #[test]
    fn a_type_change_makes_the_new_key_before_the_old_one_goes() {
        let spec = desired(vec![wanted("grafana", Grafana)]);
        // (what GoAlert has, what this resource made) → (keys created, keys deleted)
        type Case<'a> = (
            &'a str,
            Vec<IntegrationKey>,
            &'a [&'a str],
            &'a [&'a str],
            &'a [&'a str],
        );
        let cases: Vec<Case> = vec![
            (
                "in sync",
                vec![existing("grafana", Grafana)],
                &["grafana"],
                &[],
                &[],
            ),
            ("new key", vec![], &[], &["grafana"], &[]),
            (
                "type changed: a stand-in first, then the old key goes",
                vec![existing("grafana", Generic)],
                &["grafana"],
                &["grafana replacing"],
                &["grafana"],
            ),
            (
                "the stand-in serves (a crash before the old key went): the old key goes",
                vec![
                    existing("grafana", Generic),
                    existing("grafana replacing", Grafana),
                ],
                &["grafana"],
                &[],
                &["grafana"],
            ),
            (
                "the old key is gone: the key again under its name, then the stand-in goes",
                vec![existing("grafana replacing", Grafana)],
                &["grafana"],
                &["grafana"],
                &["grafana replacing"],
            ),
            (
                "both made (a crash before the stand-in went)",
                vec![
                    existing("grafana", Grafana),
                    existing("grafana replacing", Grafana),
                ],
                &["grafana"],
                &[],
                &["grafana replacing"],
            ),
            (
                "a stand-in of a third type goes first",
                vec![
                    existing("grafana", Generic),
                    existing("grafana replacing", Universal),
                ],
                &["grafana"],
                &[],
                &["grafana replacing"],
            ),
            (
                "a key named like a stand-in that this resource did not make stays",
                vec![existing("grafana replacing", Grafana)],
                &[],
                &["grafana"],
                &[],
            ),
            (
                "a renamed key: the new one is made, the old one this resource made goes",
                vec![existing("old", Grafana)],
                &["old"],
                &["grafana"],
                &["old"],
            ),
            (
                "a key made by hand stays",
                vec![existing("by-hand", Generic), existing("grafana", Grafana)],
                &["grafana"],
                &[],
                &[],
            ),
        ];
        for (case, keys, made_before, created, deleted) in cases {
            let round = plan(&spec, &service(keys), &made(made_before));
            let to_strings = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
            assert_eq!(
                key_writes(&round),
                (to_strings(created), to_strings(deleted)),
                "{case}"
            );
        }
    }

    #[test]
    fn the_secret_follows_the_key_that_works_for_the_wanted_type() {
        let key = wanted("grafana", Grafana);
        let cases = [
            (vec![existing("grafana", Generic)], Some("grafana")),
            (
                vec![
                    existing("grafana", Generic),
                    existing("grafana replacing", Grafana),
                ],
                Some("grafana replacing"),
            ),
            (
                vec![
                    existing("grafana", Grafana),
                    existing("grafana replacing", Grafana),
                ],
                Some("grafana"),
            ),
            (
                vec![existing("Grafana Replacing", Grafana)],
                Some("Grafana Replacing"),
            ),
            (vec![], None),
        ];
        for (keys, expected) in cases {
            assert_eq!(
                serving(&key, &keys).map(|k| k.name.as_str()),
                expected,
                "{keys:?}"
            );
        }
    }

    #[test]
    fn carrying_out_each_round_ends_in_the_spec() {
        // GoAlert's side of each round, done by hand: creates, then deletes.
        let spec = desired(vec![wanted("grafana", Grafana)]);
        let mut keys = vec![existing("grafana", Generic)];
        let mut rounds = 0;
        loop {
            let round = plan(&spec, &service(keys.clone()), &made(&["grafana"]));
            if round.is_empty() {
                break;
            }
            rounds += 1;
            assert!(rounds <= 2, "a type change takes two rounds");
            keys.extend(round.new_keys.iter().map(|k| existing(&k.name, k.key_type)));
            assert!(serving(&spec.keys[0], &keys).is_some());
            keys.retain(|k| !round.retired.iter().any(|r| r.id == k.id));
            assert!(
                serving(&spec.keys[0], &keys).is_some(),
                "a Secret never loses its key"
            );
        }
        assert_eq!(keys, vec![existing("grafana", Grafana)]);
    }

    #[test]
    fn stand_in_names_fit_goalerts_limit() {
        assert_eq!(stand_in("grafana"), "grafana replacing");
        let long = "k".repeat(64);
        assert_eq!(stand_in(&long).len(), 64);
    }

    #[test]
    fn labels_set_by_hand_survive() {
        let desired: BTreeMap<_, _> = [("team.example.com/owner".to_owned(), "payments".to_owned())].into();
        let observed: BTreeMap<_, _> = [
            ("team.example.com/owner".to_owned(), "checkout".to_owned()),
            ("ops.example.com/tier".to_owned(), "gold".to_owned()),
            ("old.example.com/mine".to_owned(), "was-managed".to_owned()),
        ]
        .into();
        let changes = label_changes(&desired, &observed, &["old.example.com/mine".to_owned()]);
        assert_eq!(
            changes,
            vec![
                ("team.example.com/owner".to_owned(), "payments".to_owned()),
                ("old.example.com/mine".to_owned(), String::new())
            ]
        );
    }
}
