//! ack, close and escalate, by ID or by filter, in batches GoAlert accepts, with an exact account
//! of what happened to every alert; and alert create.
//!
//! GoAlert v0.34 cancels a request after 100 database queries, and `updateAlerts` spends about
//! 80 of them plus one per alert (measured on the testbed), so larger batches fail *after* the
//! change was committed. `escalateAlerts` takes exactly one alert. An alert missing from
//! GoAlert's answer was not changed by that call: its state is read back to tell "already
//! acknowledged" from "no such alert".

use std::collections::BTreeMap;

use serde::Serialize;

use super::{query, render};
use crate::{
    App,
    cli::{AlertChangeArgs, AlertCreateArgs},
    error::{Error, Result},
    lookup,
    ops::{
        AlertStatus, CreateAlert, EscalateAlerts, UpdateAlerts, create_alert, escalate_alerts, update_alerts,
    },
    output::{Cell, Style, Table},
    prompt,
    search::{self, AlertRow},
    session::Session,
};

/// Alerts per `updateAlerts` call: about 90 of GoAlert's 100 queries per request.
const BATCH: usize = 10;
/// Alerts whose state one request reads back.
const STATE_BATCH: usize = 50;
/// Alerts a filter acts on without `--all`.
const FILTER_LIMIT: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
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

    /// The alerts a filter can act on.
    fn acts_on(self) -> Vec<AlertStatus> {
        match self {
            Change::Ack => vec![AlertStatus::Unacknowledged],
            Change::Close | Change::Escalate => vec![AlertStatus::Unacknowledged, AlertStatus::Acknowledged],
        }
    }

    /// Whether an alert in `status` already is where this change would take it.
    fn already(self, status: AlertStatus) -> bool {
        match self {
            Change::Ack => status != AlertStatus::Unacknowledged,
            Change::Close | Change::Escalate => status == AlertStatus::Closed,
        }
    }
}

/// What happened to one alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum Outcome {
    /// This call changed it; `status` is its state now.
    Changed {
        #[serde(serialize_with = "crate::alert::serialize_label")]
        status: AlertStatus,
    },
    /// It already was acknowledged or closed; nothing to do.
    Already {
        #[serde(serialize_with = "crate::alert::serialize_label")]
        status: AlertStatus,
    },
    NotFound,
    /// GoAlert refused the change, and the alert is not in the wanted state.
    Failed {
        error: String,
    },
}

#[derive(Debug, Serialize)]
struct Result_ {
    id: i64,
    #[serde(flatten)]
    outcome: Outcome,
}

pub async fn run(app: &App, session: &Session, change: Change, args: AlertChangeArgs) -> Result<()> {
    let ids = if args.ids.is_empty() {
        let found = matching(session, change, &args).await?;
        if found.is_empty() {
            eprintln!("No alerts match, so nothing to {}.", change.verb().to_lowercase());
            return app.out.print(&Vec::<Result_>::new(), |_, _| String::new());
        }
        if !args.yes {
            eprint!("{}", render(&found, app.out.paint, app.global.utc));
            prompt::confirm(&format!(
                "{} these {} {}?",
                change.verb(),
                found.len(),
                if found.len() == 1 { "alert" } else { "alerts" }
            ))?;
        }
        found.iter().map(|a| a.id).collect()
    } else {
        if !args.filter.is_empty() || args.all {
            return Err(Error::Usage(
                "give alert IDs or a filter (--service, --mine, --search, --since, --until), not both".into(),
            ));
        }
        let mut ids = args.ids;
        ids.sort_unstable();
        ids.dedup();
        if ids.len() > 1 && !args.yes {
            prompt::confirm(&format!(
                "{} {} alerts ({})?",
                change.verb(),
                ids.len(),
                id_list(&ids)
            ))?;
        }
        ids
    };
    let outcomes = apply(session, change, &ids).await?;
    report(app, change, outcomes)
}

/// The alerts a filter selects for `change`: the newest 100, or with `--all` every one.
async fn matching(session: &Session, change: Change, args: &AlertChangeArgs) -> Result<Vec<AlertRow>> {
    let Some(query) = query(session, &args.filter, change.acts_on()).await? else {
        return Ok(Vec::new());
    };
    let limit = (!args.all).then_some(FILTER_LIMIT);
    let found = search::fetch(session, &query, limit).await?;
    if limit == Some(found.len()) {
        let total = search::count(session, &query).await?;
        if total > found.len() {
            eprintln!(
                "note: {total} alerts match; acting on the newest {}; --all acts on every one",
                found.len()
            );
        }
    }
    Ok(found)
}

fn id_list(ids: &[i64]) -> String {
    const SHOWN: usize = 20;
    let mut list: Vec<String> = ids.iter().take(SHOWN).map(|id| format!("#{id}")).collect();
    if ids.len() > SHOWN {
        list.push(format!("and {} more", ids.len() - SHOWN));
    }
    list.join(", ")
}

/// Applies the change batch by batch and accounts for every ID.
async fn apply(session: &Session, change: Change, ids: &[i64]) -> Result<BTreeMap<i64, Outcome>> {
    let mut outcomes = BTreeMap::new();
    let batch = if change == Change::Escalate { 1 } else { BATCH };
    for chunk in ids.chunks(batch) {
        let (changed, refused) = match call(session, change, chunk).await {
            Ok(changed) => (changed, None),
            // An error from a batch does not say what was committed; the read-back does.
            Err(error @ Error::GoAlert(goalert_client::Error::GraphQl { .. }))
            | Err(error @ Error::GoAlert(goalert_client::Error::Invalid { .. })) => {
                if change != Change::Escalate {
                    eprintln!(
                        "note: GoAlert answered a batch with an error ({error}); its alerts' states are read back"
                    );
                }
                (BTreeMap::new(), Some(error.to_string()))
            }
            Err(error) => {
                if !outcomes.is_empty() {
                    eprintln!(
                        "gctl: stopped after {} of {} alerts; those done so far:",
                        outcomes.len(),
                        ids.len()
                    );
                    for (id, outcome) in &outcomes {
                        eprintln!("  #{id}: {}", describe(change, outcome));
                    }
                }
                return Err(error);
            }
        };
        let unanswered: Vec<i64> = chunk
            .iter()
            .copied()
            .filter(|id| !changed.contains_key(id))
            .collect();
        let states = states(session, &unanswered).await?;
        for &id in chunk {
            let outcome = match (changed.get(&id), states.get(&id)) {
                (Some(&status), _) => Outcome::Changed { status },
                (None, None) => Outcome::NotFound,
                // GoAlert can fail an update after committing it; the alert's state says so.
                (None, Some(&status))
                    if change.already(status) && refused.is_some() && change != Change::Escalate =>
                {
                    Outcome::Changed { status }
                }
                (None, Some(&status)) if change.already(status) => Outcome::Already { status },
                (None, Some(_)) => Outcome::Failed {
                    error: refused
                        .clone()
                        .unwrap_or_else(|| "GoAlert did not change it".into()),
                },
            };
            outcomes.insert(id, outcome);
        }
    }
    Ok(outcomes)
}

/// One call; the alerts GoAlert reports as changed, with their new status.
async fn call(session: &Session, change: Change, ids: &[i64]) -> Result<BTreeMap<i64, AlertStatus>> {
    let changed = match change {
        Change::Ack | Change::Close => {
            let new_status = if change == Change::Ack {
                AlertStatus::Acknowledged
            } else {
                AlertStatus::Closed
            };
            let input = update_alerts::UpdateAlertsInput {
                alert_i_ds: ids.to_vec(),
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
            .run::<EscalateAlerts>(escalate_alerts::Variables { ids: ids.to_vec() })
            .await?
            .escalate_alerts
            .unwrap_or_default()
            .into_iter()
            .map(|a| (a.alert_id, a.status))
            .collect(),
    };
    Ok(changed)
}

/// The current status of each alert that exists, read with one aliased query per 50 alerts.
async fn states(session: &Session, ids: &[i64]) -> Result<BTreeMap<i64, AlertStatus>> {
    let mut found = BTreeMap::new();
    for chunk in ids.chunks(STATE_BATCH) {
        // The IDs are integers, so writing them into the document is safe.
        let fields: String = chunk
            .iter()
            .map(|id| format!("a{id}: alert(id: {id}) {{ alertID status }} "))
            .collect();
        let data = session
            .graphql_data(&format!("query AlertStates {{ {fields}}}"), None)
            .await?;
        for &id in chunk {
            if let Some(status) = data
                .get(format!("a{id}"))
                .filter(|a| !a.is_null())
                .and_then(|a| serde_json::from_value::<AlertStatus>(a["status"].clone()).ok())
            {
                found.insert(id, status);
            }
        }
    }
    Ok(found)
}

fn describe(change: Change, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Changed { status } if change == Change::Escalate => {
            format!("escalated ({})", status.label())
        }
        Outcome::Changed { status } => status.label().to_owned(),
        Outcome::Already { status } => match status {
            AlertStatus::Closed => "already closed".into(),
            _ => "already acknowledged".into(),
        },
        Outcome::NotFound => "no such alert".into(),
        Outcome::Failed { error } => format!("not changed: {error}"),
    }
}

fn report(app: &App, change: Change, outcomes: BTreeMap<i64, Outcome>) -> Result<()> {
    let rows: Vec<Result_> = outcomes
        .into_iter()
        .map(|(id, outcome)| Result_ { id, outcome })
        .collect();
    app.out.print(&rows, |rows, paint| {
        let mut table = Table::new(&["ID", "RESULT"]);
        for row in rows {
            let style = match &row.outcome {
                Outcome::Changed { status } => Some(status.style()),
                Outcome::Already { .. } => Some(Style::Dim),
                Outcome::NotFound | Outcome::Failed { .. } => Some(Style::Red),
            };
            table.row(vec![
                row.id.to_string().into(),
                Cell::styled(describe(change, &row.outcome), style),
            ]);
        }
        table.render(paint)
    })?;
    let ids_with = |wanted: fn(&Outcome) -> bool| -> Vec<String> {
        rows.iter()
            .filter(|r| wanted(&r.outcome))
            .map(|r| format!("#{}", r.id))
            .collect()
    };
    let failed = ids_with(|o| matches!(o, Outcome::Failed { .. }));
    if !failed.is_empty() {
        return Err(Error::Refused(format!(
            "GoAlert did not {} {}",
            change.verb().to_lowercase(),
            failed.join(", ")
        )));
    }
    let missing = ids_with(|o| *o == Outcome::NotFound);
    if !missing.is_empty() {
        return Err(Error::NotFound {
            what: format!("alert {}", missing.join(", ")),
        });
    }
    Ok(())
}

pub async fn create(app: &App, session: &Session, args: AlertCreateArgs) -> Result<()> {
    if args.summary.trim().is_empty() {
        return Err(Error::Usage("--summary must say what is wrong".into()));
    }
    let service = lookup::service(session, &args.service).await?;
    if !args.yes {
        prompt::confirm(&format!(
            "Raise {:?} on {}, paging whoever is on call for it?",
            args.summary, service.name
        ))?;
    }
    let input = create_alert::CreateAlertInput {
        summary: args.summary.trim().to_owned(),
        details: Some(args.details).filter(|d| !d.is_empty()),
        service_id: service.id,
        sanitize: Some(true),
        dedup: None,
        meta: None,
    };
    let created = session
        .run::<CreateAlert>(create_alert::Variables { input })
        .await?
        .create_alert
        .ok_or_else(|| Error::Refused("GoAlert did not create the alert".into()))?;
    let url = session.ui_url(&format!("alerts/{}", created.alert_id));
    let result = serde_json::json!({ "id": created.alert_id, "service": service.name, "url": url });
    app.out.print(&result, |_, _| {
        format!("Raised alert #{} on {}: {url}\n", created.alert_id, service.name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeating_a_change_is_already_done_not_an_error() {
        assert!(Change::Ack.already(AlertStatus::Acknowledged));
        assert!(Change::Ack.already(AlertStatus::Closed));
        assert!(!Change::Ack.already(AlertStatus::Unacknowledged));
        assert!(Change::Close.already(AlertStatus::Closed));
        assert!(!Change::Close.already(AlertStatus::Acknowledged));
        assert_eq!(
            describe(
                Change::Ack,
                &Outcome::Already {
                    status: AlertStatus::Acknowledged
                }
            ),
            "already acknowledged"
        );
    }

    #[test]
    fn long_id_lists_are_shortened_in_questions() {
        let ids: Vec<i64> = (1..=25).collect();
        assert!(id_list(&ids).ends_with("#20, and 5 more"));
        assert_eq!(id_list(&[3, 4]), "#3, #4");
    }
}
