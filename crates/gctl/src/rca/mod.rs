//! rca: investigate a window of time across services. Fetching lives here; the analysis is pure
//! ([`analysis`]) and the postmortem is plain markdown ([`report`]).

mod analysis;
mod report;

use std::io::Write;

use jiff::Timestamp;
use serde::Serialize;

use super::{
    App,
    cli::{RcaCommand, Window},
    error::Result,
    lookup,
    output::{Format, Paint, Table},
    search::{self, AlertQuery, MAX_ALERTS},
    session::Session,
    time,
};
use analysis::IncidentAlert;

/// The investigated span and the alerts created in it.
pub struct Incident {
    pub since: Timestamp,
    pub until: Timestamp,
    pub alerts: Vec<IncidentAlert>,
}

pub async fn run(app: &App, command: RcaCommand) -> Result<()> {
    let session = app.session().await?;
    match command {
        RcaCommand::Timeline { window } => {
            let incident = collect(&session, &window).await?;
            let entries = analysis::timeline(&incident.alerts);
            app.out.print(&entries, |entries, paint| {
                let mut table = Table::new(&["TIME", "SERVICE", "ALERT", "EVENT"]);
                for e in entries {
                    table.row(vec![
                        time::local(e.time).into(),
                        e.service.clone().into(),
                        format!("#{}", e.alert_id).into(),
                        e.event.clone().into(),
                    ]);
                }
                empty_or(&table, paint)
            })
        }
        RcaCommand::Groups { window, thresholds } => {
            let incident = collect(&session, &window).await?;
            let found = analysis::groups(&incident.alerts, time::parse_duration(&thresholds.gap)?);
            app.out.print(&found, |found, paint| {
                let mut table = Table::new(&["GROUP", "FROM", "TO", "ALERTS", "SERVICES"]);
                for (i, g) in found.iter().enumerate() {
                    let ids: Vec<String> = g.alert_ids.iter().map(|id| format!("#{id}")).collect();
                    table.row(vec![
                        (i + 1).to_string().into(),
                        time::local(g.start).into(),
                        time::local(g.end).into(),
                        ids.join(" ").into(),
                        g.services.join(", ").into(),
                    ]);
                }
                empty_or(&table, paint)
            })
        }
        RcaCommand::Noise { window, thresholds } => {
            let incident = collect(&session, &window).await?;
            let rows = analysis::noise(&incident.alerts, time::parse_duration(&thresholds.quick)?);
            app.out.print(&rows, |rows, paint| {
                let mut table = Table::new(&["SERVICE", "SOURCE", "ALERTS", "CLOSED QUICKLY", "NEVER ACKED"]);
                for r in rows {
                    table.row(vec![
                        r.service.clone().into(),
                        r.source.clone().into(),
                        r.alerts.to_string().into(),
                        r.closed_quickly.to_string().into(),
                        r.never_acked.to_string().into(),
                    ]);
                }
                empty_or(&table, paint)
            })
        }
        RcaCommand::Report {
            window,
            thresholds,
            title,
            file,
        } => {
            let incident = collect(&session, &window).await?;
            let settings = report::Settings {
                title,
                source: session.url.to_string(),
                gap: time::parse_duration(&thresholds.gap)?,
                quick: time::parse_duration(&thresholds.quick)?,
                generated: Timestamp::now(),
            };
            let text = if app.out.format == Format::Table {
                report::markdown(&incident, &settings)
            } else {
                let data = ReportData {
                    title: &settings.title,
                    source: &settings.source,
                    since: incident.since,
                    until: incident.until,
                    generated: settings.generated,
                    groups: analysis::groups(&incident.alerts, settings.gap),
                    noise: analysis::noise(&incident.alerts, settings.quick),
                    alerts: &incident.alerts,
                };
                app.out.render(&data, |_, _| String::new())
            };
            match file {
                Some(path) => {
                    std::fs::write(&path, text)?;
                    eprintln!("Wrote {}.", path.display());
                }
                None => {
                    let mut stdout = std::io::stdout().lock();
                    stdout.write_all(text.as_bytes())?;
                    stdout.flush()?;
                }
            }
            Ok(())
        }
    }
}

/// The postmortem's facts, for `-o json` and `-o yaml`.
#[derive(Serialize)]
struct ReportData<'a> {
    title: &'a str,
    source: &'a str,
    since: Timestamp,
    until: Timestamp,
    generated: Timestamp,
    groups: Vec<analysis::Group>,
    noise: Vec<analysis::NoiseRow>,
    alerts: &'a [IncidentAlert],
}

fn empty_or(table: &Table, paint: Paint) -> String {
    if table.is_empty() {
        "Nothing in that window.\n".into()
    } else {
        table.render(paint)
    }
}

/// Every alert created in the window (all statuses), each with its whole log.
async fn collect(session: &Session, window: &Window) -> Result<Incident> {
    let now = Timestamp::now();
    let since = time::parse_time(&window.since, now)?;
    let until = window
        .until
        .as_deref()
        .map_or(Ok(now), |t| time::parse_time(t, now))?;
    time::check_window(since, until)?;
    let mut service_ids = Vec::new();
    for name in &window.service {
        service_ids.push(lookup::service(session, name).await?.id);
    }
    let query = AlertQuery {
        service_ids,
        since: Some(since),
        until: Some(until),
        ..AlertQuery::default()
    };
    let found = search::fetch_with_events(session, &query).await?;
    if found.len() >= MAX_ALERTS {
        eprintln!(
            "note: only {MAX_ALERTS} alerts of the window are investigated; narrow it with --since/--until/--service"
        );
    }
    let mut alerts: Vec<IncidentAlert> = found
        .into_iter()
        .map(|(row, events)| {
            IncidentAlert::new(
                row.id,
                row.service,
                row.summary,
                row.status,
                row.created_at,
                events,
            )
        })
        .collect();
    alerts.sort_by_key(|a| (a.created, a.id));
    Ok(Incident { since, until, alerts })
}
