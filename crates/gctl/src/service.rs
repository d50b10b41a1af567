//! service status: everything about one service an on-call engineer needs at a glance.

use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use serde::Serialize;

use super::{
    App, alert,
    cli::{DirectoryKind, ServiceCommand},
    directory,
    error::{Error, Result},
    lookup,
    oncall::{self, Moment, OnCall},
    ops::{AlertStatus, ServiceStatus, SetMaintenance, service_status, set_maintenance},
    output::{Cell, Paint, Style, Table, fields, heading},
    search::{self, AlertQuery, AlertRow},
    session::Session,
    time,
};

/// How many open alerts service status lists.
const OPEN_ALERTS_SHOWN: usize = 20;
/// How many recent alerts service status counts per day (a few pages).
const MAX_ALERTS_COUNTED: usize = 10_000;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    id: String,
    name: String,
    description: String,
    url: String,
    maintenance_until: Option<String>,
    alert_counts: Counts,
    open_alerts: Vec<AlertRow>,
    /// Who gets paged now, step by step.
    escalation_chain: Vec<OnCall>,
    integration_keys: Vec<Key>,
    heartbeat_monitors: Vec<Heartbeat>,
    /// Alerts created per day, oldest first.
    recent_days: Vec<Day>,
}

#[derive(Debug, Serialize)]
struct Counts {
    unacked: i64,
    acked: i64,
    closed: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Key {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    /// The key's ID is its secret, so only its end is shown.
    masked_token: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Heartbeat {
    name: String,
    state: String,
    last_heartbeat: Option<String>,
    timeout_minutes: i64,
    muted: Option<String>,
}

#[derive(Debug, PartialEq, Eq, Serialize)]
struct Day {
    /// The local calendar day.
    day: String,
    alerts: i64,
}

/// Local midnight `days - 1` days ago: the first of the days counted.
fn first_day(now: Timestamp, days: u32) -> Timestamp {
    let today = now
        .to_zoned_datetime(TimeZone::system())
        .start_of_day()
        .expect("every day has a start");
    today
        .saturating_sub(jiff::Span::new().days(i64::from(days) - 1))
        .timestamp()
}

/// Alerts created on each local day from `first_day`, days without alerts included.
///
/// Counted from the alerts themselves: GoAlert's `alertStats` only counts closed alerts, and
/// only once its engine has computed their metrics.
fn daily_counts(first_day: Timestamp, days: u32, created: &[Timestamp]) -> Vec<Day> {
    let zone = TimeZone::system();
    let start = first_day.to_zoned_datetime(zone.clone());
    (0..i64::from(days))
        .map(|i| {
            let date = start.saturating_add(jiff::Span::new().days(i)).date();
            let alerts = created
                .iter()
                .filter(|t| t.to_zoned_datetime(zone.clone()).date() == date)
                .count() as i64;
            Day {
                day: date.to_string(),
                alerts,
            }
        })
        .collect()
}

/// GoAlert accepts a maintenance window of at most 24 hours (and 5 minutes of slack).
const MAX_MAINTENANCE: SignedDuration = SignedDuration::from_hours(24);

pub async fn run(app: &App, command: ServiceCommand) -> Result<()> {
    if let ServiceCommand::List(args) = command {
        return directory::run(app, DirectoryKind::Service, args).await;
    }
    let session = app.session().await?;
    match command {
        ServiceCommand::List(_) => unreachable!("answered above"),
        ServiceCommand::Status { name, days } => status(app, &session, &name, days).await,
        ServiceCommand::Maintenance { name, duration, off } => {
            maintenance(app, &session, &name, duration.as_deref(), off).await
        }
    }
}

/// Starts (or, with `off`, ends) a service's maintenance mode: while it lasts, the service's
/// alerts page nobody.
async fn maintenance(
    app: &App,
    session: &Session,
    name: &str,
    duration: Option<&str>,
    off: bool,
) -> Result<()> {
    let service = lookup::service(session, name).await?;
    let now = Timestamp::now();
    let until = match (off, duration) {
        (true, _) | (false, None) => None,
        (false, Some(text)) => {
            let duration = time::parse_duration(text)?;
            if duration > MAX_MAINTENANCE {
                return Err(Error::Usage("--for can be at most 24h (GoAlert's limit)".into()));
            }
            Some(now + duration)
        }
    };
    // GoAlert ends maintenance when given a time in the past.
    let wire = until.unwrap_or(now - SignedDuration::from_mins(1));
    session
        .run::<SetMaintenance>(set_maintenance::Variables {
            id: service.id.clone(),
            until: wire.to_string(),
        })
        .await?;
    let result = serde_json::json!({ "service": service.name, "maintenanceUntil": until });
    let utc = app.global.utc;
    app.out.print(&result, |_, _| match until {
        Some(until) => format!(
            "{} is in maintenance until {} ({}): its alerts page nobody.\n",
            service.name,
            time::show(until, utc),
            time::relative(until, now)
        ),
        None => format!("{} is out of maintenance: its alerts page again.\n", service.name),
    })
}

async fn status(app: &App, session: &Session, name: &str, days: u32) -> Result<()> {
    let found = lookup::service(session, name).await?;
    let now = Timestamp::now();
    let days = days.max(1);
    let first_day = first_day(now, days);
    let service = session
        .run::<ServiceStatus>(service_status::Variables { id: found.id.clone() })
        .await?
        .service
        .ok_or_else(|| Error::NotFound {
            what: format!("service {name:?}"),
        })?;
    let open_alerts = search::fetch(
        session,
        &AlertQuery {
            statuses: vec![AlertStatus::Unacknowledged, AlertStatus::Acknowledged],
            service_ids: vec![service.id.clone()],
            ..AlertQuery::default()
        },
        Some(OPEN_ALERTS_SHOWN),
    )
    .await?;
    let recent = search::fetch(
        session,
        &AlertQuery {
            service_ids: vec![service.id.clone()],
            since: Some(first_day),
            ..AlertQuery::default()
        },
        Some(MAX_ALERTS_COUNTED),
    )
    .await?;
    let created: Vec<Timestamp> = recent.iter().map(|a| a.created_at).collect();
    let escalation_chain =
        oncall::policy_on_call(session, &service.escalation_policy_id, Moment::At(now), now).await?;
    let report = Report {
        url: session.ui_url(&format!("services/{}", service.id)),
        id: service.id,
        name: service.name,
        description: service.description,
        maintenance_until: service.maintenance_expires_at,
        alert_counts: Counts {
            unacked: service.alerts_by_status.unacked,
            acked: service.alerts_by_status.acked,
            closed: service.alerts_by_status.closed,
        },
        open_alerts,
        escalation_chain,
        integration_keys: service
            .integration_keys
            .into_iter()
            .map(|k| Key {
                name: k.name,
                kind: format!("{:?}", k.type_),
                masked_token: mask(&k.id),
            })
            .collect(),
        heartbeat_monitors: service
            .heartbeat_monitors
            .into_iter()
            .map(|h| Heartbeat {
                name: h.name,
                state: format!("{:?}", h.last_state),
                last_heartbeat: h.last_heartbeat,
                timeout_minutes: h.timeout_minutes,
                muted: Some(h.muted).filter(|m| !m.is_empty()),
            })
            .collect(),
        recent_days: daily_counts(first_day, days, &created),
    };
    let utc = app.global.utc;
    app.out.print(&report, |report, paint| render(report, paint, utc))
}

/// `****2c14`: enough to tell keys apart, not enough to send alerts with.
fn mask(secret: &str) -> String {
    let tail: String = secret
        .chars()
        .skip(secret.chars().count().saturating_sub(4))
        .collect();
    format!("****{tail}")
}

fn render(report: &Report, paint: Paint, utc: bool) -> String {
    let counts = &report.alert_counts;
    let mut pairs = vec![
        ("Service", report.name.clone()),
        (
            "Alerts",
            format!(
                "{} unacked, {} acked, {} closed",
                paint.style(
                    &counts.unacked.to_string(),
                    (counts.unacked > 0).then_some(Style::Red)
                ),
                counts.acked,
                counts.closed
            ),
        ),
        ("URL", report.url.clone()),
    ];
    if !report.description.is_empty() {
        pairs.insert(1, ("Description", report.description.clone()));
    }
    if let Some(until) = &report.maintenance_until {
        pairs.push(("Maintenance until", paint.style(until, Some(Style::Yellow))));
    }
    let mut out = fields(&pairs);

    out += &heading("Open alerts", paint);
    out += &alert::render(&report.open_alerts, paint, utc);

    out += &heading("Who gets paged now", paint);
    let mut chain = Table::new(&["STEP", "PAGES AFTER", "USER", "VIA"]);
    for row in &report.escalation_chain {
        chain.row(vec![
            row.step.map(|s| s.to_string()).unwrap_or_default().into(),
            row.pages_after_minutes
                .map(|m| time::short(SignedDuration::from_mins(m)))
                .unwrap_or_default()
                .into(),
            row.user.clone().into(),
            row.via.clone().into(),
        ]);
    }
    out += &if chain.is_empty() {
        paint.style(
            "Nobody: the escalation policy pages no person right now.\n",
            Some(Style::Red),
        )
    } else {
        chain.render(paint)
    };

    out += &heading("Integration keys", paint);
    let mut keys = Table::new(&["NAME", "TYPE", "TOKEN"]);
    for key in &report.integration_keys {
        keys.row(vec![
            key.name.clone().into(),
            key.kind.clone().into(),
            key.masked_token.clone().into(),
        ]);
    }
    out += &if keys.is_empty() {
        "None.\n".into()
    } else {
        keys.render(paint)
    };

    out += &heading("Heartbeat monitors", paint);
    let mut heartbeats = Table::new(&["NAME", "STATE", "LAST HEARTBEAT", "TIMEOUT", "MUTED"]);
    for h in &report.heartbeat_monitors {
        let style = match h.state.as_str() {
            "healthy" => Style::Green,
            "unhealthy" => Style::Red,
            _ => Style::Dim,
        };
        heartbeats.row(vec![
            h.name.clone().into(),
            Cell::styled(h.state.clone(), Some(style)),
            h.last_heartbeat
                .as_deref()
                .and_then(time::parse_goalert)
                .map(time::local)
                .unwrap_or_else(|| "never".into())
                .into(),
            time::short(SignedDuration::from_mins(h.timeout_minutes)).into(),
            h.muted.clone().unwrap_or_default().into(),
        ]);
    }
    out += &if heartbeats.is_empty() {
        "None.\n".into()
    } else {
        heartbeats.render(paint)
    };

    out += &heading("Alerts per day", paint);
    let mut days = Table::new(&["DAY", "ALERTS"]);
    for day in &report.recent_days {
        days.row(vec![day.day.clone().into(), day.alerts.to_string().into()]);
    }
    out + &days.render(paint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_only_the_last_four_characters() {
        assert_eq!(mask("b9712828-a4bd-4fc8-9244-02ed517c2b14"), "****2b14");
        assert_eq!(mask("ab"), "****ab");
    }

    #[test]
    fn days_without_alerts_count_zero() {
        let first = first_day("2026-03-10T15:00:00Z".parse().unwrap(), 3);
        let zone = TimeZone::system();
        let second_day = first
            .to_zoned_datetime(zone)
            .saturating_add(jiff::Span::new().hours(30));
        let created = [second_day.timestamp(), second_day.timestamp()];
        let counts = daily_counts(first, 3, &created);
        let alerts: Vec<i64> = counts.iter().map(|d| d.alerts).collect();
        assert_eq!(alerts, [0, 2, 0]);
        assert_eq!(counts[1].day, second_day.date().to_string());
    }
}
