//! alert list (and --watch), show, ack, close, escalate.

use std::{io::Write, time::Duration};

use jiff::Timestamp;
use serde::Serialize;

use super::{
    App,
    cli::{AlertChangeArgs, AlertCommand, AlertListArgs, StatusFilter},
    error::{Error, Result},
    lookup,
    ops::{
        AlertDetail, AlertStatus, Alerts, EscalateAlerts, MyOnCallServices, UpdateAlerts, alert_detail,
        alerts, escalate_alerts, my_on_call_services, update_alerts,
    },
    output::{Cell, Format, Paint, Style, Table, fields, heading},
    prompt,
    session::Session,
    time,
};

/// GoAlert pages at most 149 items per request (it fetches one more to know if there is a next page).
const PAGE: usize = 149;

impl AlertStatus {
    pub fn label(self) -> &'static str {
        match self {
            AlertStatus::Unacknowledged => "unacked",
            AlertStatus::Acknowledged => "acked",
            AlertStatus::Closed => "closed",
        }
    }

    fn style(self) -> Style {
        match self {
            AlertStatus::Unacknowledged => Style::Red,
            AlertStatus::Acknowledged => Style::Yellow,
            AlertStatus::Closed => Style::Green,
        }
    }

    pub fn cell(self) -> Cell {
        Cell::styled(self.label(), Some(self.style()))
    }
}

/// Output shows `unacked`/`acked`/`closed`; GoAlert's wire names stay on the wire.
pub fn serialize_label<S: serde::Serializer>(status: &AlertStatus, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(status.label())
}

fn serialize_optional_label<S: serde::Serializer>(
    status: &Option<AlertStatus>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_some(&status.map(AlertStatus::label))
}

/// One alert as gctl shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertRow {
    pub id: i64,
    #[serde(serialize_with = "serialize_label")]
    pub status: AlertStatus,
    pub summary: String,
    pub service: String,
    pub service_id: String,
    pub created_at: Timestamp,
}

/// Which alerts to fetch, in GoAlert's terms.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    pub statuses: Vec<AlertStatus>,
    pub service_ids: Vec<String>,
    pub search: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// Newest first, paged, up to `limit` alerts.
pub async fn fetch(session: &Session, query: &AlertQuery, limit: usize) -> Result<Vec<AlertRow>> {
    let mut found = Vec::new();
    let mut after = String::new();
    while found.len() < limit {
        let input = alerts::AlertSearchOptions {
            filter_by_status: Some(query.statuses.clone()).filter(|s| !s.is_empty()),
            filter_by_service_id: Some(query.service_ids.clone()).filter(|s| !s.is_empty()),
            search: query.search.clone(),
            first: Some(PAGE.min(limit - found.len()) as i64),
            after: Some(after.clone()),
            favorites_only: None,
            include_notified: None,
            omit: None,
            sort: Some(alerts::AlertSearchSort::dateID),
            created_before: query.until.map(|t| t.to_string()),
            not_created_before: query.since.map(|t| t.to_string()),
            closed_before: None,
            not_closed_before: None,
        };
        let page = session.run::<Alerts>(alerts::Variables { input }).await?.alerts;
        found.extend(page.nodes.into_iter().map(|a| {
            let (service_id, service) = a.service.map(|s| (s.id, s.name)).unwrap_or_default();
            AlertRow {
                id: a.alert_id,
                status: a.status,
                summary: a.summary,
                service,
                service_id,
                created_at: time::parse_goalert(&a.created_at).unwrap_or_default(),
            }
        }));
        match page.page_info.end_cursor {
            Some(cursor) if page.page_info.has_next_page => after = cursor,
            _ => break,
        }
    }
    Ok(found)
}

pub async fn run(app: &App, command: AlertCommand) -> Result<()> {
    let session = app.session().await?;
    match command {
        AlertCommand::List(args) => list(app, &session, args).await,
        AlertCommand::Show { id } => show(app, &session, id).await,
        AlertCommand::Ack(args) => change(app, &session, Change::Ack, args).await,
        AlertCommand::Close(args) => change(app, &session, Change::Close, args).await,
        AlertCommand::Escalate(args) => change(app, &session, Change::Escalate, args).await,
    }
}

fn statuses(filters: &[StatusFilter]) -> Vec<AlertStatus> {
    use AlertStatus::*;
    let mut statuses: Vec<AlertStatus> = filters
        .iter()
        .flat_map(|f| match f {
            StatusFilter::Open => vec![Unacknowledged, Acknowledged],
            StatusFilter::Unacked => vec![Unacknowledged],
            StatusFilter::Acked => vec![Acknowledged],
            StatusFilter::Closed => vec![Closed],
            StatusFilter::All => vec![],
        })
        .collect();
    if filters.contains(&StatusFilter::All) {
        statuses.clear();
    }
    statuses
}

async fn list(app: &App, session: &Session, args: AlertListArgs) -> Result<()> {
    let now = Timestamp::now();
    let mut service_ids = Vec::new();
    for name in &args.service {
        service_ids.push(lookup::service(session, name).await?.id);
    }
    if args.mine {
        service_ids = my_services(session).await?;
        if service_ids.is_empty() {
            return app.out.print(&Vec::<AlertRow>::new(), |_, _| {
                "You are not on call for any service, so no alerts are yours.\n".into()
            });
        }
    }
    let query = AlertQuery {
        statuses: statuses(&args.status),
        service_ids,
        search: args.search.clone(),
        since: args
            .since
            .as_deref()
            .map(|t| time::parse_time(t, now))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|t| time::parse_time(t, now))
            .transpose()?,
    };
    if !args.watch {
        let rows = fetch(session, &query, args.limit).await?;
        return app.out.print(&rows, |rows, paint| render(rows, paint));
    }
    if app.out.format != Format::Table {
        return Err(Error::Usage("--watch shows a table; drop -o".into()));
    }
    let interval = Duration::try_from(time::parse_duration(&args.interval)?)
        .map_err(|_| Error::Usage("--interval must be positive".into()))?;
    watch(app, session, &query, args.limit, interval).await
}

/// Redraws the list in place every `interval` until Ctrl-C.
async fn watch(
    app: &App,
    session: &Session,
    query: &AlertQuery,
    limit: usize,
    interval: Duration,
) -> Result<()> {
    loop {
        let rows = fetch(session, query, limit).await?;
        let screen = format!(
            "\x1b[H\x1b[2J{}  (every {}s, Ctrl-C to stop)\n\n{}",
            app.out.paint.style(
                &format!(
                    "gctl alert list: {} {} at {}",
                    rows.len(),
                    if rows.len() == 1 { "alert" } else { "alerts" },
                    time::local(Timestamp::now())
                ),
                Some(Style::Bold)
            ),
            interval.as_secs(),
            render(&rows, app.out.paint)
        );
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(screen.as_bytes())?;
        stdout.flush()?;
        drop(stdout);
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

async fn my_services(session: &Session) -> Result<Vec<String>> {
    let me = session
        .run::<MyOnCallServices>(my_on_call_services::Variables {})
        .await?
        .user;
    let mut ids: Vec<String> = me
        .into_iter()
        .flat_map(|u| u.on_call_overview.service_assignments)
        .map(|a| a.service_id)
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

pub fn render(rows: &[AlertRow], paint: Paint) -> String {
    if rows.is_empty() {
        return "No alerts.\n".into();
    }
    let now = Timestamp::now();
    let mut table = Table::new(&["ID", "STATUS", "SERVICE", "CREATED", "AGE", "SUMMARY"]);
    for row in rows {
        table.row(vec![
            row.id.to_string().into(),
            row.status.cell(),
            row.service.clone().into(),
            time::local(row.created_at).into(),
            time::short(now.duration_since(row.created_at)).into(),
            row.summary.clone().into(),
        ]);
    }
    table.render(paint)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertDetails {
    #[serde(flatten)]
    alert: AlertRow,
    details: String,
    escalation_step: Option<i64>,
    noise_reason: Option<String>,
    url: String,
    events: Vec<Event>,
}

/// One line of an alert's log.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub time: Timestamp,
    pub message: String,
    /// Delivery state of a notification, when the event is one.
    pub delivery: Option<String>,
}

/// One alert and its whole log, oldest event first.
pub async fn detail(session: &Session, id: i64) -> Result<(alert_detail::AlertDetailAlert, Vec<Event>)> {
    let mut events = Vec::new();
    let mut after = String::new();
    loop {
        let alert = session
            .run::<AlertDetail>(alert_detail::Variables { id, after })
            .await?
            .alert
            .ok_or_else(|| Error::NotFound {
                what: format!("alert {id}"),
            })?;
        let page = &alert.recent_events;
        events.extend(page.nodes.iter().map(|e| {
            Event {
                time: time::parse_goalert(&e.timestamp).unwrap_or_default(),
                message: e.message.clone(),
                delivery: e
                    .state
                    .as_ref()
                    .map(|s| s.details.clone())
                    .filter(|d| !d.is_empty()),
            }
        }));
        match &page.page_info.end_cursor {
            Some(cursor) if page.page_info.has_next_page => after = cursor.clone(),
            _ => {
                // GoAlert lists the newest event first; a timeline reads oldest first.
                events.reverse();
                return Ok((alert, events));
            }
        }
    }
}

async fn show(app: &App, session: &Session, id: i64) -> Result<()> {
    let (alert, events) = detail(session, id).await?;
    let (service_id, service) = alert.service.map(|s| (s.id, s.name)).unwrap_or_default();
    let details = AlertDetails {
        alert: AlertRow {
            id: alert.alert_id,
            status: alert.status,
            summary: alert.summary,
            service,
            service_id,
            created_at: time::parse_goalert(&alert.created_at).unwrap_or_default(),
        },
        details: alert.details,
        escalation_step: alert.state.map(|s| s.step_number + 1),
        noise_reason: alert.noise_reason.filter(|r| !r.is_empty()),
        url: session.ui_url(&format!("alerts/{id}")),
        events,
    };
    app.out.print(&details, |d, paint| {
        let mut pairs = vec![
            ("Alert", format!("#{} {}", d.alert.id, d.alert.summary)),
            (
                "Status",
                paint.style(d.alert.status.label(), Some(d.alert.status.style())),
            ),
            ("Service", d.alert.service.clone()),
            ("Created", time::local(d.alert.created_at)),
        ];
        if let Some(step) = d.escalation_step {
            pairs.push(("Escalation step", step.to_string()));
        }
        if let Some(reason) = &d.noise_reason {
            pairs.push(("Noise reason", reason.clone()));
        }
        pairs.push(("URL", d.url.clone()));
        let mut out = fields(&pairs);
        if !d.details.is_empty() {
            out += &heading("Details", paint);
            out += &d.details;
            out += "\n";
        }
        out += &heading("Timeline", paint);
        let mut table = Table::new(&["TIME", "EVENT"]);
        for event in &d.events {
            let message = match &event.delivery {
                Some(delivery) => format!("{} [{delivery}]", event.message),
                None => event.message.clone(),
            };
            table.row(vec![time::local(event.time).into(), message.into()]);
        }
        out + &table.render(paint)
    })
}

#[derive(Debug, Clone, Copy)]
enum Change {
    Ack,
    Close,
    Escalate,
}

impl Change {
    fn verb(self) -> &'static str {
        match self {
            Change::Ack => "Acknowledge",
            Change::Close => "Close",
            Change::Escalate => "Escalate",
        }
    }
}

async fn change(app: &App, session: &Session, change: Change, args: AlertChangeArgs) -> Result<()> {
    let mut ids = args.ids;
    ids.sort_unstable();
    ids.dedup();
    if ids.len() > 1 && !args.yes {
        let list: Vec<String> = ids.iter().map(|id| format!("#{id}")).collect();
        prompt::confirm(&format!(
            "{} {} alerts ({})?",
            change.verb(),
            ids.len(),
            list.join(", ")
        ))?;
    }
    let changed: Vec<(i64, AlertStatus)> = match change {
        Change::Ack | Change::Close => {
            let new_status = match change {
                Change::Ack => AlertStatus::Acknowledged,
                _ => AlertStatus::Closed,
            };
            let input = update_alerts::UpdateAlertsInput {
                alert_i_ds: ids.clone(),
                new_status: Some(new_status),
                noise_reason: None,
            };
            session
                .run::<UpdateAlerts>(update_alerts::Variables { input })
                .await?
                .update_alerts
                .unwrap_or_default()
                .into_iter()
                .map(|a| (a.alert_id, a.status))
                .collect()
        }
        Change::Escalate => session
            .run::<EscalateAlerts>(escalate_alerts::Variables { ids: ids.clone() })
            .await?
            .escalate_alerts
            .unwrap_or_default()
            .into_iter()
            .map(|a| (a.alert_id, a.status))
            .collect(),
    };
    let results: Vec<ChangeResult> = ids
        .iter()
        .map(|&id| ChangeResult {
            id,
            status: changed.iter().find(|(c, _)| *c == id).map(|(_, s)| *s),
        })
        .collect();
    app.out.print(&results, |results, paint| {
        let mut table = Table::new(&["ID", "RESULT"]);
        for result in results {
            let cell = match result.status {
                Some(status) => status.cell(),
                None => Cell::styled(
                    "unchanged (already in that state, or not found)",
                    Some(Style::Dim),
                ),
            };
            table.row(vec![result.id.to_string().into(), cell]);
        }
        table.render(paint)
    })?;
    let missing: Vec<String> = results
        .iter()
        .filter(|r| r.status.is_none())
        .map(|r| r.id.to_string())
        .collect();
    if missing.len() == results.len() {
        return Err(Error::NotFound {
            what: format!(
                "alerts {} to {}",
                missing.join(", "),
                change.verb().to_lowercase()
            ),
        });
    }
    Ok(())
}

#[derive(Debug, Serialize)]
struct ChangeResult {
    id: i64,
    /// The status after the change; `None` when GoAlert did not change the alert.
    #[serde(serialize_with = "serialize_optional_label")]
    status: Option<AlertStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_means_unacked_and_acked_and_all_means_no_filter() {
        use AlertStatus::*;
        assert_eq!(statuses(&[StatusFilter::Open]), [Unacknowledged, Acknowledged]);
        assert_eq!(statuses(&[StatusFilter::Closed]), [Closed]);
        assert!(statuses(&[StatusFilter::Unacked, StatusFilter::All]).is_empty());
    }
}
