//! The investigation itself, as pure functions over alerts and their logs: a merged timeline,
//! correlation groups, a noise report. No I/O here, so every rule is tested on fixed data.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::{alert::serialize_label, ops::AlertStatus, search::Event};

/// What a line of GoAlert's alert log means, read from its message (GoAlert's
/// `alertlog.Entry.String`: "Created via …", "Acknowledged by …", "Notification sent to …").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    Created { via: Option<String> },
    Acknowledged { by: Option<String> },
    Closed { by: Option<String> },
    Escalated,
    NotificationSent { to: String },
    Other,
}

pub fn classify(message: &str) -> EventKind {
    let subject = |rest: &str, word: &str| rest.trim().strip_prefix(word).map(|s| s.trim().to_owned());
    // A person acts "by" name; an integration key or heartbeat acts "via" its name.
    let actor = |rest: &str| subject(rest, "by").or_else(|| subject(rest, "via"));
    if let Some(rest) = message.strip_prefix("Created") {
        // "Created via grafana integration", or by a person: "Created by Alice (Web)".
        EventKind::Created { via: actor(rest) }
    } else if let Some(rest) = message.strip_prefix("Acknowledged") {
        EventKind::Acknowledged { by: actor(rest) }
    } else if let Some(rest) = message.strip_prefix("Closed") {
        EventKind::Closed { by: actor(rest) }
    } else if message.starts_with("Escalated") || message.starts_with("Escalation requested") {
        EventKind::Escalated
    } else if let Some(rest) = message.strip_prefix("Notification sent to") {
        EventKind::NotificationSent {
            to: rest.trim().to_owned(),
        }
    } else {
        EventKind::Other
    }
}

/// A notification GoAlert sent about an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page {
    pub time: Timestamp,
    /// Person and channel, e.g. `Alice (SMS)`.
    pub to: String,
}

/// One alert of the investigated window with what its log says about it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentAlert {
    pub id: i64,
    pub service: String,
    pub summary: String,
    #[serde(serialize_with = "serialize_label")]
    pub status: AlertStatus,
    pub created: Timestamp,
    /// The integration key or person that created it ("grafana integration (Generic API)").
    pub source: Option<String>,
    pub acked: Option<Timestamp>,
    pub acked_by: Option<String>,
    pub closed: Option<Timestamp>,
    pub closed_by: Option<String>,
    pub pages: Vec<Page>,
    pub events: Vec<Event>,
}

impl IncidentAlert {
    /// Reads acknowledgement, closing, source and pages out of the alert's log (oldest first).
    pub fn new(
        id: i64,
        service: String,
        summary: String,
        status: AlertStatus,
        created: Timestamp,
        events: Vec<Event>,
    ) -> Self {
        let mut alert = Self {
            id,
            service,
            summary,
            status,
            created,
            source: None,
            acked: None,
            acked_by: None,
            closed: None,
            closed_by: None,
            pages: Vec::new(),
            events,
        };
        for event in &alert.events {
            match classify(&event.message) {
                EventKind::Created { via } => alert.source = alert.source.take().or(via),
                EventKind::Acknowledged { by } if alert.acked.is_none() => {
                    alert.acked = Some(event.time);
                    alert.acked_by = by;
                }
                EventKind::Closed { by } => {
                    alert.closed = Some(event.time);
                    alert.closed_by = by;
                }
                EventKind::NotificationSent { to } => alert.pages.push(Page { time: event.time, to }),
                _ => {}
            }
        }
        alert
    }

    pub fn time_to_ack(&self) -> Option<SignedDuration> {
        self.acked.map(|t| t.duration_since(self.created))
    }

    pub fn time_to_close(&self) -> Option<SignedDuration> {
        self.closed.map(|t| t.duration_since(self.created))
    }
}

/// One line of the merged timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    pub time: Timestamp,
    pub alert_id: i64,
    pub service: String,
    pub event: String,
}

/// Every event of every alert in time order (ties keep alert order), so cause and effect across
/// services read top to bottom.
pub fn timeline(alerts: &[IncidentAlert]) -> Vec<TimelineEntry> {
    let mut entries: Vec<TimelineEntry> = alerts
        .iter()
        .flat_map(|alert| {
            alert.events.iter().map(|event| TimelineEntry {
                time: event.time,
                alert_id: alert.id,
                service: alert.service.clone(),
                event: match classify(&event.message) {
                    EventKind::Created { .. } => format!("{} — {}", event.message, alert.summary),
                    _ => event.message.clone(),
                },
            })
        })
        .collect();
    entries.sort_by_key(|e| (e.time, e.alert_id));
    entries
}

/// Alerts that fired together: each alert created within `gap` of the group's previous alert
/// joins the group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub start: Timestamp,
    pub end: Timestamp,
    pub services: Vec<String>,
    pub alert_ids: Vec<i64>,
}

/// Correlation groups of two or more alerts, in time order. Alerts that fired alone are left out.
pub fn groups(alerts: &[IncidentAlert], gap: SignedDuration) -> Vec<Group> {
    let mut by_time: Vec<&IncidentAlert> = alerts.iter().collect();
    by_time.sort_by_key(|a| (a.created, a.id));
    let mut clusters: Vec<Vec<&IncidentAlert>> = Vec::new();
    for alert in by_time {
        match clusters.last_mut() {
            Some(cluster)
                if alert
                    .created
                    .duration_since(cluster.last().expect("never empty").created)
                    <= gap =>
            {
                cluster.push(alert)
            }
            _ => clusters.push(vec![alert]),
        }
    }
    clusters
        .into_iter()
        .filter(|cluster| cluster.len() > 1)
        .map(|cluster| {
            let mut services: Vec<String> = cluster.iter().map(|a| a.service.clone()).collect();
            services.sort();
            services.dedup();
            Group {
                start: cluster[0].created,
                end: cluster[cluster.len() - 1].created,
                services,
                alert_ids: cluster.iter().map(|a| a.id).collect(),
            }
        })
        .collect()
}

/// How noisy one source of alerts is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NoiseRow {
    pub service: String,
    /// The integration key (or person) that created the alerts.
    pub source: String,
    pub alerts: usize,
    /// Closed within the "quick" threshold of being created: likely flapping or self-healing.
    pub closed_quickly: usize,
    /// Never acknowledged by anyone (closed by the monitor, or still waiting).
    pub never_acked: usize,
}

/// Sources ranked noisiest first: most quickly-closed plus never-acknowledged alerts.
pub fn noise(alerts: &[IncidentAlert], quick: SignedDuration) -> Vec<NoiseRow> {
    let mut rows: BTreeMap<(String, String), NoiseRow> = BTreeMap::new();
    for alert in alerts {
        let source = alert.source.clone().unwrap_or_else(|| "unknown".into());
        let row = rows
            .entry((alert.service.clone(), source.clone()))
            .or_insert_with(|| NoiseRow {
                service: alert.service.clone(),
                source,
                alerts: 0,
                closed_quickly: 0,
                never_acked: 0,
            });
        row.alerts += 1;
        if alert.time_to_close().is_some_and(|t| t <= quick) {
            row.closed_quickly += 1;
        }
        if alert.acked.is_none() {
            row.never_acked += 1;
        }
    }
    let mut rows: Vec<NoiseRow> = rows.into_values().collect();
    rows.sort_by(|a, b| {
        (b.closed_quickly + b.never_acked, b.alerts)
            .cmp(&(a.closed_quickly + a.never_acked, a.alerts))
            .then_with(|| (&a.service, &a.source).cmp(&(&b.service, &b.source)))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minute: i64) -> Timestamp {
        "2026-03-01T02:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(minute)
    }

    fn event(minute: i64, message: &str) -> Event {
        Event {
            time: t(minute),
            message: message.into(),
            delivery: None,
        }
    }

    fn alert(id: i64, service: &str, created: i64, later: &[(i64, &str)]) -> IncidentAlert {
        let mut events = vec![event(
            created,
            &format!("Created via {service}-key integration (Generic API)"),
        )];
        events.extend(later.iter().map(|(m, msg)| event(*m, msg)));
        IncidentAlert::new(
            id,
            service.into(),
            format!("alert {id}"),
            AlertStatus::Closed,
            t(created),
            events,
        )
    }

    /// A database outage at 02:00 that takes the API and checkout down with it, a flapping disk
    /// alert before it, and an unrelated alert hours later.
    fn incident() -> Vec<IncidentAlert> {
        vec![
            alert(
                1,
                "disk",
                0,
                &[(1, "Closed by disk-key integration (Generic API)")],
            ),
            alert(
                2,
                "database",
                10,
                &[
                    (11, "Notification sent to Alice (SMS)"),
                    (14, "Acknowledged by Alice (Web)"),
                    (60, "Closed by Alice (Web)"),
                ],
            ),
            alert(
                3,
                "api",
                12,
                &[
                    (13, "Notification sent to Bob (Voice)"),
                    (61, "Closed by Bob (Web)"),
                ],
            ),
            alert(
                4,
                "checkout",
                16,
                &[(62, "Closed by checkout-key integration (Generic API)")],
            ),
            alert(
                5,
                "disk",
                17,
                &[(18, "Closed by disk-key integration (Generic API)")],
            ),
            alert(6, "billing", 300, &[]),
        ]
    }

    #[test]
    fn log_messages_become_acks_closes_sources_and_pages() {
        let db = &incident()[1];
        assert_eq!(
            db.source.as_deref(),
            Some("database-key integration (Generic API)")
        );
        assert_eq!(db.acked, Some(t(14)));
        assert_eq!(db.acked_by.as_deref(), Some("Alice (Web)"));
        assert_eq!(db.time_to_ack(), Some(SignedDuration::from_mins(4)));
        assert_eq!(db.time_to_close(), Some(SignedDuration::from_mins(50)));
        assert_eq!(
            db.pages,
            [Page {
                time: t(11),
                to: "Alice (SMS)".into()
            }]
        );
        assert_eq!(
            classify("Escalated to step #2 automatically after 5 minutes"),
            EventKind::Escalated
        );
        assert_eq!(
            classify("Closed via disk-key integration (Generic API)"),
            EventKind::Closed {
                by: Some("disk-key integration (Generic API)".into())
            }
        );
        assert_eq!(
            classify("No notification sent to Bob (no immediate rule)"),
            EventKind::Other
        );
    }

    #[test]
    fn the_timeline_interleaves_services_in_time_order() {
        let entries = timeline(&incident());
        let order: Vec<(i64, &str)> = entries
            .iter()
            .take(5)
            .map(|e| (e.alert_id, e.service.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                (1, "disk"),
                (1, "disk"),
                (2, "database"),
                (2, "database"),
                (3, "api")
            ]
        );
        assert!(entries[0].event.ends_with("— alert 1"));
        assert!(entries.windows(2).all(|w| w[0].time <= w[1].time));
    }

    #[test]
    fn alerts_within_the_gap_of_each_other_form_one_group() {
        let found = groups(&incident(), SignedDuration::from_mins(5));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].alert_ids, [2, 3, 4, 5]);
        assert_eq!(found[0].services, ["api", "checkout", "database", "disk"]);
        assert_eq!((found[0].start, found[0].end), (t(10), t(17)));

        // With a wider gap the early disk alert joins; the billing alert hours later never does.
        let wide = groups(&incident(), SignedDuration::from_mins(10));
        assert_eq!(wide[0].alert_ids, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn noise_ranks_quickly_closed_never_acked_sources_first() {
        let rows = noise(&incident(), SignedDuration::from_mins(5));
        let disk = &rows[0];
        assert_eq!(
            (
                disk.service.as_str(),
                disk.alerts,
                disk.closed_quickly,
                disk.never_acked
            ),
            ("disk", 2, 2, 2)
        );
        let database = rows.iter().find(|r| r.service == "database").unwrap();
        assert_eq!((database.closed_quickly, database.never_acked), (0, 0));
        assert_eq!(rows.last().unwrap().service, "database");
    }
}
