//! Paging through GoAlert's alert search, alert storms included.
//!
//! GoAlert v0.34 breaks on the second page of its `dateID` sort (the query behind the cursor
//! names a column that does not exist, so every page after the first is "unexpected error"),
//! so gctl never pages that sort. It pages `statusID` instead, which orders one status by ID,
//! newest first, and pages correctly: one stream per status (and per 50 services, GoAlert's
//! filter limit), merged by ID. GoAlert's text search looks at the summary, ID and service name
//! only, so `--search` is matched here, over the details too.

use goalert_client::paging;
use jiff::Timestamp;
use serde::Serialize;

use super::{
    error::{Error, Result},
    ops::{AlertIds, AlertStatus, Alerts, AlertsWithEvents, alert_ids, alerts, alerts_with_events},
    session::Session,
    time,
};

/// GoAlert's alert search serves up to 1000 alerts a page (unlike its other lists, capped at 149).
const PAGE: usize = 1000;
/// GoAlert accepts at most this many services in one alert filter.
const SERVICES_PER_FILTER: usize = 50;
/// Alerts read with their logs per request to begin with: GoAlert reads each log with its own
/// database query (about 90 fit in a request; see [`paging::shrinking`]).
const EVENTS_PAGE: i64 = 64;
/// No investigation reads more alerts than this.
pub const MAX_ALERTS: usize = 50_000;

/// One alert as gctl shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertRow {
    pub id: i64,
    #[serde(serialize_with = "crate::alert::serialize_label")]
    pub status: AlertStatus,
    pub summary: String,
    pub details: String,
    pub service: String,
    pub service_id: String,
    pub created_at: Timestamp,
}

/// One line of an alert's log.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub time: Timestamp,
    pub message: String,
    /// Delivery state of a notification, when the event is one.
    pub delivery: Option<String>,
}

/// The same fragments come back in each operation's own types; one conversion for all of them.
macro_rules! from_fragments {
    ($($module:ident),*) => {$(
        impl From<$module::AlertFields> for AlertRow {
            fn from(a: $module::AlertFields) -> Self {
                let (service_id, service) = a.service.map(|s| (s.id, s.name)).unwrap_or_default();
                AlertRow {
                    id: a.alert_id,
                    status: a.status,
                    summary: a.summary,
                    details: a.details,
                    service,
                    service_id,
                    created_at: time::parse_goalert(&a.created_at).unwrap_or_default(),
                }
            }
        }
    )*};
}
from_fragments!(alerts, alerts_with_events);

macro_rules! event_from_fragments {
    ($($module:ident),*) => {$(
        impl From<&crate::ops::$module::EventFields> for Event {
            fn from(e: &crate::ops::$module::EventFields) -> Self {
                Event {
                    time: time::parse_goalert(&e.timestamp).unwrap_or_default(),
                    message: e.message.clone(),
                    delivery: e.state.as_ref().map(|s| s.details.clone()).filter(|d| !d.is_empty()),
                }
            }
        }
    )*};
}
event_from_fragments!(alerts_with_events, alert_detail);

/// Which alerts to fetch.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    /// No statuses means every status.
    pub statuses: Vec<AlertStatus>,
    pub service_ids: Vec<String>,
    /// Matched, ignoring case, against the ID, summary, details and service name.
    pub search: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

impl AlertQuery {
    /// The separately paged searches whose union is this query, each newest first.
    fn streams(&self) -> Vec<alerts::AlertSearchOptions> {
        let statuses: Vec<AlertStatus> = if self.statuses.is_empty() {
            vec![
                AlertStatus::Unacknowledged,
                AlertStatus::Acknowledged,
                AlertStatus::Closed,
            ]
        } else {
            self.statuses.clone()
        };
        let service_chunks: Vec<Option<Vec<String>>> = if self.service_ids.is_empty() {
            vec![None]
        } else {
            self.service_ids
                .chunks(SERVICES_PER_FILTER)
                .map(|c| Some(c.to_vec()))
                .collect()
        };
        statuses
            .iter()
            .flat_map(|status| {
                service_chunks
                    .iter()
                    .map(move |services| alerts::AlertSearchOptions {
                        filter_by_status: Some(vec![*status]),
                        filter_by_service_id: services.clone(),
                        search: None,
                        first: None,
                        after: None,
                        favorites_only: None,
                        include_notified: None,
                        omit: None,
                        sort: Some(alerts::AlertSearchSort::statusID),
                        created_before: self.until.map(|t| t.to_string()),
                        not_created_before: self.since.map(|t| t.to_string()),
                        closed_before: None,
                        not_closed_before: None,
                    })
            })
            .collect()
    }

    pub fn matches(&self, row: &AlertRow) -> bool {
        let Some(text) = self.search.as_deref().map(str::to_lowercase) else {
            return true;
        };
        row.id.to_string() == text
            || [&row.summary, &row.details, &row.service]
                .iter()
                .any(|field| field.to_lowercase().contains(&text))
    }
}

/// The newest `limit` matching alerts (every one without a limit), newest first.
pub async fn fetch(session: &Session, query: &AlertQuery, limit: Option<usize>) -> Result<Vec<AlertRow>> {
    let mut found = Vec::new();
    for stream in query.streams() {
        let mut taken = 0;
        let mut after = String::new();
        for _ in 0..pages_bound(limit) {
            // Without a text to match locally, GoAlert's page can be exactly what is still needed.
            let wanted = match (limit, &query.search) {
                (Some(limit), None) => (limit - taken).min(PAGE),
                _ => PAGE,
            };
            let input = alerts::AlertSearchOptions {
                first: Some(wanted as i64),
                after: Some(after.clone()),
                ..stream.clone()
            };
            let page = session.run::<Alerts>(alerts::Variables { input }).await?.alerts;
            for row in page.nodes.into_iter().map(AlertRow::from) {
                if query.matches(&row) && limit.is_none_or(|limit| taken < limit) {
                    found.push(row);
                    taken += 1;
                }
            }
            match page.page_info.end_cursor {
                Some(cursor) if page.page_info.has_next_page && limit.is_none_or(|l| taken < l) => {
                    after = cursor
                }
                _ => break,
            }
        }
    }
    newest_first(&mut found);
    if let Some(limit) = limit {
        found.truncate(limit);
    }
    Ok(found)
}

/// How many alerts match; ID-only pages unless a text has to be matched here.
pub async fn count(session: &Session, query: &AlertQuery) -> Result<usize> {
    if query.search.is_some() {
        return Ok(fetch(session, query, None).await?.len());
    }
    let mut total = 0;
    for stream in query.streams() {
        let mut after = String::new();
        for _ in 0..pages_bound(None) {
            let input = alert_ids::AlertSearchOptions {
                first: Some(PAGE as i64),
                after: Some(after.clone()),
                ..convert_options(&stream)
            };
            let page = session
                .run::<AlertIds>(alert_ids::Variables { input })
                .await?
                .alerts;
            total += page.nodes.len();
            match page.page_info.end_cursor {
                Some(cursor) if page.page_info.has_next_page => after = cursor,
                _ => break,
            }
        }
    }
    Ok(total)
}

/// Every matching alert with its log (oldest event first), in pages as large as GoAlert's call
/// limit allows. Alerts with longer logs than one page holds are completed one by one.
pub async fn fetch_with_events(session: &Session, query: &AlertQuery) -> Result<Vec<(AlertRow, Vec<Event>)>> {
    let mut found = Vec::new();
    for stream in query.streams() {
        let stream: &alerts_with_events::AlertSearchOptions = &convert_options(&stream);
        let pages = paging::shrinking::<_, Error, _, _>(EVENTS_PAGE, |after, first| async move {
            let input = alerts_with_events::AlertSearchOptions {
                first: Some(first),
                after: Some(after.unwrap_or_default()),
                ..stream.clone()
            };
            let page = session
                .run::<AlertsWithEvents>(alerts_with_events::Variables { input })
                .await?
                .alerts;
            let items = page
                .nodes
                .into_iter()
                .map(|node| {
                    let complete = !node.recent_events.page_info.has_next_page;
                    // GoAlert lists the newest event first; a timeline reads oldest first.
                    let events: Vec<Event> = node.recent_events.nodes.iter().rev().map(Event::from).collect();
                    (AlertRow::from(node.alert_fields), events, complete)
                })
                .filter(|(row, _, _)| query.matches(row))
                .collect();
            Ok(paging::Page {
                items,
                next: paging::next(page.page_info.end_cursor, page.page_info.has_next_page),
            })
        })
        .await?;
        for (row, events, complete) in pages {
            let events = if complete {
                events
            } else {
                crate::alert::detail(session, row.id).await?.1
            };
            found.push((row, events));
            if found.len() >= MAX_ALERTS {
                return Ok(found);
            }
        }
    }
    Ok(found)
}

/// Loops over pages stop here even if GoAlert kept saying "there is more".
fn pages_bound(limit: Option<usize>) -> usize {
    limit.map_or(MAX_ALERTS, |l| l.min(MAX_ALERTS)) / PAGE + 2
}

/// IDs grow with creation; GoAlert's own "newest" is the same order for alerts it created.
fn newest_first(rows: &mut [AlertRow]) {
    rows.sort_by_key(|r| std::cmp::Reverse(r.id));
}

/// Each operation has its own copy of GoAlert's input type; they serialize alike.
fn convert_options<T: serde::de::DeserializeOwned>(options: &alerts::AlertSearchOptions) -> T {
    serde_json::from_value(serde_json::to_value(options).expect("search options serialize"))
        .expect("the operations share GoAlert's AlertSearchOptions")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, summary: &str, details: &str) -> AlertRow {
        AlertRow {
            id,
            status: AlertStatus::Unacknowledged,
            summary: summary.into(),
            details: details.into(),
            service: "payments".into(),
            service_id: "s".into(),
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn search_matches_the_details_too_ignoring_case() {
        let query = AlertQuery {
            search: Some("Disk".into()),
            ..AlertQuery::default()
        };
        assert!(query.matches(&row(1, "db down", "the disk is full")));
        assert!(query.matches(&row(2, "DISK full", "")));
        assert!(!query.matches(&row(3, "db down", "timeout")));
        assert!(AlertQuery::default().matches(&row(3, "db down", "timeout")));
    }

    #[test]
    fn every_status_and_every_fifty_services_are_a_stream_of_their_own() {
        let query = AlertQuery {
            service_ids: (0..120).map(|i| format!("svc-{i}")).collect(),
            ..AlertQuery::default()
        };
        let streams = query.streams();
        assert_eq!(streams.len(), 3 * 3);
        assert!(
            streams
                .iter()
                .all(|s| s.filter_by_status.as_ref().unwrap().len() == 1
                    && s.filter_by_service_id.as_ref().unwrap().len() <= SERVICES_PER_FILTER
                    && matches!(s.sort, Some(alerts::AlertSearchSort::statusID)))
        );
        let open = AlertQuery {
            statuses: vec![AlertStatus::Unacknowledged, AlertStatus::Acknowledged],
            ..AlertQuery::default()
        };
        assert_eq!(open.streams().len(), 2);
        assert!(open.streams()[0].filter_by_service_id.is_none());
    }
}
