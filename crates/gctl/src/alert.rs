//! alert list (and --watch), show, create; ack, close and escalate live in [`change`].

mod change;

use std::{io::Write, time::Duration};

use jiff::Timestamp;
use serde::Serialize;

use super::{
    App,
    cli::{AlertCommand, AlertFilter, AlertListArgs, StatusFilter},
    error::{Error, ExitCode, Result},
    lookup,
    ops::{AlertDetail, AlertStatus, MyOnCallServices, alert_detail, my_on_call_services},
    output::{Cell, Format, Paint, Style, Table, fields, heading},
    search::{self, AlertQuery, AlertRow, Event},
    session::Session,
    time,
};

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

pub async fn run(app: &App, command: AlertCommand) -> Result<()> {
    let session = app.session().await?;
    match command {
        AlertCommand::List(args) => list(app, &session, args).await,
        AlertCommand::Show { id } => show(app, &session, id).await,
        AlertCommand::Create(args) => change::create(app, &session, args).await,
        AlertCommand::Ack(args) => change::run(app, &session, change::Change::Ack, args).await,
        AlertCommand::Close(args) => change::run(app, &session, change::Change::Close, args).await,
        AlertCommand::Escalate(args) => change::run(app, &session, change::Change::Escalate, args).await,
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
    statuses.sort_by_key(|s| s.label());
    statuses.dedup();
    statuses
}

/// The query a filter means, or `None` when `--mine` finds no services of mine.
pub async fn query(
    session: &Session,
    filter: &AlertFilter,
    statuses: Vec<AlertStatus>,
) -> Result<Option<AlertQuery>> {
    let now = Timestamp::now();
    let mut service_ids = Vec::new();
    for name in &filter.service {
        service_ids.push(lookup::service(session, name).await?.id);
    }
    if filter.mine {
        service_ids = my_services(session).await?;
        if service_ids.is_empty() {
            return Ok(None);
        }
    }
    let since = filter
        .since
        .as_deref()
        .map(|t| time::parse_time(t, now))
        .transpose()?;
    let until = filter
        .until
        .as_deref()
        .map(|t| time::parse_time(t, now))
        .transpose()?;
    if let (Some(since), Some(until)) = (since, until) {
        time::check_window(since, until)?;
    }
    Ok(Some(AlertQuery {
        statuses,
        service_ids,
        search: filter.search.clone().filter(|s| !s.is_empty()),
        since,
        until,
    }))
}

async fn list(app: &App, session: &Session, args: AlertListArgs) -> Result<()> {
    let Some(query) = query(session, &args.filter, statuses(&args.status)).await? else {
        eprintln!("You are not on call for any service, so no alerts are yours.");
        return print_rows(app, &[], args.ids);
    };
    let limit = (!args.all).then_some(args.limit);
    if !args.watch {
        let rows = search::fetch(session, &query, limit).await?;
        print_rows(app, &rows, args.ids)?;
        if limit == Some(rows.len()) && app.out.format == Format::Table && !args.ids {
            let total = search::count(session, &query).await?;
            if total > rows.len() {
                eprintln!(
                    "showing the newest {} of {total} alerts; --all shows every one, --limit N more",
                    rows.len()
                );
            }
        }
        return Ok(());
    }
    if app.out.format != Format::Table {
        return Err(Error::Usage("--watch shows a table; drop -o".into()));
    }
    let interval = Duration::try_from(time::parse_duration(&args.interval)?)
        .map_err(|_| Error::Usage("--interval must be positive".into()))?;
    watch(app, session, &query, limit, interval).await
}

fn print_rows(app: &App, rows: &[AlertRow], ids_only: bool) -> Result<()> {
    if ids_only {
        let text: String = rows.iter().map(|r| format!("{}\n", r.id)).collect();
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        return Ok(stdout.flush()?);
    }
    app.out
        .print(&rows, |rows, paint| render(rows, paint, app.global.utc))
}

/// The longest pause between attempts while GoAlert cannot be reached.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Redraws the list in place every `interval` until Ctrl-C. When GoAlert cannot be reached the
/// last list stays on screen, marked stale, and gctl retries with growing pauses.
async fn watch(
    app: &App,
    session: &Session,
    query: &AlertQuery,
    limit: Option<usize>,
    interval: Duration,
) -> Result<()> {
    let mut last: Option<(Vec<AlertRow>, Timestamp)> = None;
    let mut failures: u32 = 0;
    loop {
        let pause = match search::fetch(session, query, limit).await {
            Ok(rows) => {
                failures = 0;
                last = Some((rows, Timestamp::now()));
                draw(app, last.as_ref(), None, interval)?;
                interval
            }
            Err(error) if is_transient(&error) => {
                failures += 1;
                let pause = backoff(failures);
                let problem = format!("{error}; retrying in {}s", pause.as_secs());
                draw(app, last.as_ref(), Some(&problem), interval)?;
                pause
            }
            Err(error) => return Err(error),
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// Worth retrying: GoAlert unreachable, busy, or failing on its side for a moment.
fn is_transient(error: &Error) -> bool {
    matches!(error.exit_code(), ExitCode::Unreachable | ExitCode::Busy)
        || matches!(error, Error::GoAlert(goalert_client::Error::Http { status, .. }) if *status >= 500)
}

/// 1 s, 2 s, 4 s ... up to [`MAX_BACKOFF`].
fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(5)).min(MAX_BACKOFF)
}

fn draw(
    app: &App,
    last: Option<&(Vec<AlertRow>, Timestamp)>,
    problem: Option<&str>,
    interval: Duration,
) -> Result<()> {
    let (rows, at) = match last {
        Some((rows, at)) => (rows.as_slice(), Some(*at)),
        None => (&[][..], None),
    };
    let title = format!(
        "gctl alert list: {} {}{}",
        rows.len(),
        if rows.len() == 1 { "alert" } else { "alerts" },
        at.map(|t| format!(" at {}", time::show(t, app.global.utc)))
            .unwrap_or_default()
    );
    let mut header = format!(
        "{}  (every {}s, Ctrl-C to stop)\n",
        app.out.paint.style(&title, Some(Style::Bold)),
        interval.as_secs()
    );
    if let Some(problem) = problem {
        header += &app
            .out
            .paint
            .style(&format!("stale: {problem}\n"), Some(Style::Red));
    }
    let (height, width) = terminal_size();
    // The header, a blank line, the table, and the line the cursor rests on must all fit.
    let room = height.saturating_sub(header.lines().count() + 2);
    let body = fit(&render(rows, app.out.paint, app.global.utc), room, width);
    let screen = format!("\x1b[H\x1b[2J{header}\n{body}");
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(screen.as_bytes())?;
    Ok(stdout.flush()?)
}

/// Rows and columns of the terminal (24 x 80 when there is none to ask).
fn terminal_size() -> (usize, usize) {
    terminal_size::terminal_size()
        .map(|(w, h)| (h.0 as usize, w.0 as usize))
        .unwrap_or((24, 80))
}

/// At most `height` lines, none wider than `width`, so a redraw never scrolls: the lines that
/// do not fit are counted on the last line instead.
pub fn fit(text: &str, height: usize, width: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let height = height.max(2);
    let (shown, hidden) = if lines.len() > height {
        (&lines[..height - 1], lines.len() - (height - 1))
    } else {
        (&lines[..], 0)
    };
    let mut out: String = shown
        .iter()
        .map(|line| format!("{}\n", cut(line, width)))
        .collect();
    if hidden > 0 {
        out += &format!("... and {hidden} more (a taller terminal, or narrow the filter)\n");
    }
    out
}

/// Cuts a line to `width` visible characters, keeping colour codes intact.
fn cut(line: &str, width: usize) -> String {
    let mut out = String::new();
    let mut visible = 0;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            out.push(c);
            for code in chars.by_ref() {
                out.push(code);
                if code == 'm' {
                    break;
                }
            }
            continue;
        }
        if visible == width {
            // Reset any colour left open by the cut.
            if out.contains('\x1b') {
                out += "\x1b[0m";
            }
            break;
        }
        out.push(c);
        visible += 1;
    }
    out
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

pub fn render(rows: &[AlertRow], paint: Paint, utc: bool) -> String {
    if rows.is_empty() {
        return "No alerts.\n".into();
    }
    let now = Timestamp::now();
    let created = time::header("CREATED", utc);
    let mut table = Table::new(&["ID", "STATUS", "SERVICE", &created, "AGE", "SUMMARY"]);
    for row in rows {
        table.row(vec![
            row.id.to_string().into(),
            row.status.cell(),
            row.service.clone().into(),
            time::show(row.created_at, utc).into(),
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
    escalation_step: Option<i64>,
    noise_reason: Option<String>,
    url: String,
    events: Vec<Event>,
}

/// One alert and its whole log, oldest event first.
pub async fn detail(session: &Session, id: i64) -> Result<(alert_detail::AlertDetailAlert, Vec<Event>)> {
    let mut events = Vec::new();
    let mut after = String::new();
    // Each page holds 149 events; no alert log is longer than this many pages.
    for _ in 0..10_000 {
        let alert = session
            .run::<AlertDetail>(alert_detail::Variables { id, after })
            .await?
            .alert
            .ok_or_else(|| Error::NotFound {
                what: format!("alert {id}"),
            })?;
        let page = &alert.recent_events;
        events.extend(page.nodes.iter().map(Event::from));
        match &page.page_info.end_cursor {
            Some(cursor) if page.page_info.has_next_page => after = cursor.clone(),
            _ => {
                // GoAlert lists the newest event first; a timeline reads oldest first.
                events.reverse();
                return Ok((alert, events));
            }
        }
    }
    Err(Error::Usage(format!(
        "alert {id} has a longer log than gctl reads"
    )))
}

async fn show(app: &App, session: &Session, id: i64) -> Result<()> {
    let (alert, events) = detail(session, id).await?;
    let (service_id, service) = alert.service.map(|s| (s.id, s.name)).unwrap_or_default();
    let details = AlertDetails {
        alert: AlertRow {
            id: alert.alert_id,
            status: alert.status,
            summary: alert.summary,
            details: alert.details,
            service,
            service_id,
            created_at: time::parse_goalert(&alert.created_at).unwrap_or_default(),
        },
        escalation_step: alert.state.map(|s| s.step_number + 1),
        noise_reason: alert.noise_reason.filter(|r| !r.is_empty()),
        url: session.ui_url(&format!("alerts/{id}")),
        events,
    };
    let utc = app.global.utc;
    app.out.print(&details, |d, paint| {
        let mut pairs = vec![
            ("Alert", format!("#{} {}", d.alert.id, d.alert.summary)),
            (
                "Status",
                paint.style(d.alert.status.label(), Some(d.alert.status.style())),
            ),
            ("Service", d.alert.service.clone()),
            ("Created", time::show(d.alert.created_at, utc)),
        ];
        if let Some(step) = d.escalation_step {
            pairs.push(("Escalation step", step.to_string()));
        }
        if let Some(reason) = &d.noise_reason {
            pairs.push(("Noise reason", reason.clone()));
        }
        pairs.push(("URL", d.url.clone()));
        let mut out = fields(&pairs);
        if !d.alert.details.is_empty() {
            out += &heading("Details", paint);
            out += &d.alert.details;
            out += "\n";
        }
        out += &heading("Timeline", paint);
        let mut table = Table::new(&[&time::header("TIME", utc), "EVENT"]);
        for event in &d.events {
            let message = match &event.delivery {
                Some(delivery) => format!("{} [{delivery}]", event.message),
                None => event.message.clone(),
            };
            table.row(vec![time::show(event.time, utc).into(), message.into()]);
        }
        out + &table.render(paint)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_means_unacked_and_acked_and_all_means_no_filter() {
        use AlertStatus::*;
        let mut open = statuses(&[StatusFilter::Open, StatusFilter::Unacked]);
        open.sort_by_key(|s| s.label());
        assert_eq!(open, [Acknowledged, Unacknowledged]);
        assert_eq!(statuses(&[StatusFilter::Closed]), [Closed]);
        assert!(statuses(&[StatusFilter::Unacked, StatusFilter::All]).is_empty());
    }

    #[test]
    fn a_redraw_never_scrolls_and_says_how_much_it_left_out() {
        let text: String = (1..=30)
            .map(|i| format!("row {i} {}\n", "x".repeat(100)))
            .collect();
        let fitted = fit(&text, 10, 20);
        assert_eq!(fitted.lines().count(), 10);
        assert!(fitted.lines().take(9).all(|l| l.chars().count() <= 20));
        assert!(fitted.ends_with("... and 21 more (a taller terminal, or narrow the filter)\n"));
        assert_eq!(fit("a\nb\n", 10, 20), "a\nb\n");
    }

    #[test]
    fn cutting_keeps_colour_codes_whole() {
        let line = "\x1b[31munacked\x1b[0m  payments";
        assert_eq!(cut(line, 3), "\x1b[31muna\x1b[0m");
        assert_eq!(cut(line, 100), line);
    }

    #[test]
    fn retries_back_off_up_to_thirty_seconds() {
        let pauses: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
