//! `gctl rca report`: a markdown postmortem skeleton a team pastes into its tracker. The facts
//! (timeline, who was paged when, time to ack and close, correlated alerts, noise) are filled
//! in; the judgement (summary, impact, root cause, action items) is left for people.

use std::fmt::Write;

use jiff::{SignedDuration, Timestamp, tz::TimeZone};

use super::{Incident, analysis};
use crate::time;

pub struct Settings {
    pub title: String,
    /// The GoAlert the facts came from.
    pub source: String,
    pub gap: SignedDuration,
    pub quick: SignedDuration,
    pub generated: Timestamp,
}

/// Reports are shared across time zones, so they speak UTC.
fn utc(t: Timestamp) -> String {
    t.to_zoned_datetime(TimeZone::UTC)
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn duration(d: Option<SignedDuration>) -> String {
    d.map(time::short).unwrap_or_else(|| "—".into())
}

/// Table cells must not break the table.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

pub fn markdown(incident: &Incident, settings: &Settings) -> String {
    let alerts = &incident.alerts;
    let mut services: Vec<&str> = alerts.iter().map(|a| a.service.as_str()).collect();
    services.sort();
    services.dedup();
    let open = alerts.iter().filter(|a| a.closed.is_none()).count();

    let mut md = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(md, "# {}\n", settings.title);
    let _ = writeln!(
        md,
        "- **Window:** {} – {} UTC",
        utc(incident.since),
        utc(incident.until)
    );
    let _ = writeln!(
        md,
        "- **Services:** {}",
        if services.is_empty() {
            "none".into()
        } else {
            services.join(", ")
        }
    );
    let _ = writeln!(md, "- **Alerts:** {} ({} still open)", alerts.len(), open);
    if let Some(first) = alerts.first() {
        let _ = writeln!(
            md,
            "- **First alert:** #{} {} at {} UTC",
            first.id,
            cell(&first.summary),
            utc(first.created)
        );
    }
    let _ = writeln!(
        md,
        "- **Generated:** by gctl from {} at {} UTC\n",
        settings.source,
        utc(settings.generated)
    );
    md += "## Summary\n\n_What happened, in two or three sentences._\n\n";
    md += "## Impact\n\n_Who and what was affected, and for how long._\n\n";

    md += "## Alerts\n\n";
    md += "| Alert | Service | Summary | Created (UTC) | Time to ack | Acked by | Time to close | Closed by |\n";
    md += "|---|---|---|---|---|---|---|---|\n";
    for a in alerts {
        let _ = writeln!(
            md,
            "| #{} | {} | {} | {} | {} | {} | {} | {} |",
            a.id,
            cell(&a.service),
            cell(&a.summary),
            utc(a.created),
            duration(a.time_to_ack()),
            cell(a.acked_by.as_deref().unwrap_or("—")),
            duration(a.time_to_close()),
            cell(a.closed_by.as_deref().unwrap_or("—")),
        );
    }

    md += "\n## Who was paged\n\n";
    let mut pages: Vec<(Timestamp, i64, &str)> = alerts
        .iter()
        .flat_map(|a| a.pages.iter().map(move |p| (p.time, a.id, p.to.as_str())))
        .collect();
    pages.sort();
    if pages.is_empty() {
        md += "Nobody was notified in this window.\n";
    } else {
        md += "| Time (UTC) | Alert | Notified |\n|---|---|---|\n";
        for (at, id, to) in pages {
            let _ = writeln!(md, "| {} | #{id} | {} |", utc(at), cell(to));
        }
    }

    md += "\n## Correlated alerts\n\n";
    let groups = analysis::groups(alerts, settings.gap);
    if groups.is_empty() {
        let _ = writeln!(
            md,
            "No alerts fired within {} of each other.",
            time::short(settings.gap)
        );
    } else {
        let _ = writeln!(
            md,
            "Alerts created within {} of each other:\n",
            time::short(settings.gap)
        );
        for (i, g) in groups.iter().enumerate() {
            let ids: Vec<String> = g.alert_ids.iter().map(|id| format!("#{id}")).collect();
            let _ = writeln!(
                md,
                "{}. {} – {} UTC: {} ({})",
                i + 1,
                utc(g.start),
                utc(g.end),
                ids.join(", "),
                g.services.join(", ")
            );
        }
    }

    md += "\n## Timeline\n\n| Time (UTC) | Service | Alert | Event |\n|---|---|---|---|\n";
    for e in analysis::timeline(alerts) {
        let _ = writeln!(
            md,
            "| {} | {} | #{} | {} |",
            utc(e.time),
            cell(&e.service),
            e.alert_id,
            cell(&e.event)
        );
    }

    md += "\n## Noise\n\n";
    let _ = writeln!(
        md,
        "| Service | Source | Alerts | Closed within {} | Never acked |\n|---|---|---|---|---|",
        time::short(settings.quick)
    );
    for r in analysis::noise(alerts, settings.quick) {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            cell(&r.service),
            cell(&r.source),
            r.alerts,
            r.closed_quickly,
            r.never_acked
        );
    }

    md += "\n## Root cause\n\n_Why it happened; what the correlated alerts above have in common._\n\n";
    md += "## What went well / what went badly\n\n- \n\n";
    md += "## Action items\n\n- [ ] \n";
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ops::AlertStatus, search::Event};
    use analysis::IncidentAlert;

    #[test]
    fn the_report_has_the_facts_and_leaves_the_judgement_blank() {
        let t0: Timestamp = "2026-03-01T02:00:00Z".parse().unwrap();
        let at = |m| t0 + SignedDuration::from_mins(m);
        let event = |m, message: &str| Event {
            time: at(m),
            message: message.into(),
            delivery: None,
        };
        let alert = IncidentAlert::new(
            7,
            "database".into(),
            "db | down".into(),
            AlertStatus::Closed,
            at(0),
            vec![
                event(0, "Created via db integration (Generic API)"),
                event(1, "Notification sent to Alice (SMS)"),
                event(3, "Acknowledged by Alice (Web)"),
                event(30, "Closed by Alice (Web)"),
            ],
        );
        let incident = Incident {
            since: at(-60),
            until: at(60),
            alerts: vec![alert],
        };
        let settings = Settings {
            title: "DB outage".into(),
            source: "https://goalert.example.com/".into(),
            gap: SignedDuration::from_mins(5),
            quick: SignedDuration::from_mins(5),
            generated: at(120),
        };
        let md = markdown(&incident, &settings);
        assert!(md.starts_with("# DB outage\n"));
        assert!(md.contains(
            "| #7 | database | db \\| down | 2026-03-01 02:00:00 | 3m | Alice (Web) | 30m | Alice (Web) |"
        ));
        assert!(md.contains("| 2026-03-01 02:01:00 | #7 | Alice (SMS) |"));
        assert!(md.contains("## Root cause"));
        assert!(md.contains("## Action items"));
    }
}
