//! Who is on call: now, at a moment, or next — for everyone, me, a schedule, a service or an
//! escalation policy.
//!
//! Schedules answer from GoAlert itself (`Schedule.shifts`, which includes past shifts from
//! GoAlert's history). A service's current chain is GoAlert's own `onCallUsers`. For other
//! moments a policy's steps are resolved target by target: users directly, schedules by their
//! shifts, rotations from their handoff times (GoAlert keeps no rotation history, so a rotation
//! cannot answer for the past).

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::{
    App,
    cli::OncallArgs,
    error::{Error, Result},
    lookup::{self, Named},
    ops::{
        MyOnCallServices, PolicySteps, RotationOnCall, ScheduleShifts, ServiceOnCall, my_on_call_services,
        policy_steps, rotation_on_call, schedule_shifts, service_on_call,
    },
    output::{Paint, Table},
    session::Session,
    time,
};

/// The moment (or span) the question is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    At(Timestamp),
    /// Shifts starting after `from`, up to `until`.
    Next {
        from: Timestamp,
        until: Timestamp,
    },
}

impl Moment {
    /// The span to ask GoAlert about. GoAlert returns the shifts overlapping it, cut to it (at
    /// minute precision), so a day either side of a moment shows the real start and end of
    /// any shift up to a day long.
    fn span(self) -> (Timestamp, Timestamp) {
        match self {
            Moment::At(t) => (
                t - SignedDuration::from_hours(24),
                t + SignedDuration::from_hours(24),
            ),
            Moment::Next { from, until } => (from, until),
        }
    }

    fn selects(self, shift: &OnCall) -> bool {
        match self {
            Moment::At(t) => shift.start.is_none_or(|s| s <= t) && shift.end.is_none_or(|e| t < e),
            Moment::Next { from, until } => shift.start.is_some_and(|s| from < s && s <= until),
        }
    }
}

/// One person on call through one route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OnCall {
    pub user: String,
    pub user_id: String,
    /// How they are on call: `schedule primary`, `rotation db-rotation`, `user`, `service payments`.
    pub via: String,
    /// The escalation step, when the question was about a service or policy.
    pub step: Option<i64>,
    /// Minutes after an alert is created that this step pages (for a policy's steps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages_after_minutes: Option<i64>,
    /// When the shift started; `None` when it started before what GoAlert reported.
    pub start: Option<Timestamp>,
    /// When it ends; `None` when it does not end (a user named directly in a policy).
    pub end: Option<Timestamp>,
}

pub async fn run(app: &App, args: OncallArgs) -> Result<()> {
    let session = app.session().await?;
    let now = Timestamp::now();
    let moment = if args.next {
        Moment::Next {
            from: now,
            until: now + time::parse_duration(&args.window)?,
        }
    } else {
        Moment::At(args.at.as_deref().map_or(Ok(now), |t| time::parse_time(t, now))?)
    };
    let rows = if let Some(name) = &args.service {
        let service = lookup::service(&session, name).await?;
        service_on_call(&session, &service, moment, now).await?
    } else if let Some(name) = &args.policy {
        let policy = lookup::policy(&session, name).await?;
        policy_on_call(&session, &policy.id, moment, now).await?
    } else if let Some(name) = &args.schedule {
        let schedule = lookup::schedule(&session, name).await?;
        schedule_on_call(&session, &schedule, moment, None).await?
    } else if args.me {
        my_on_call(&session, moment, now).await?
    } else {
        let mut rows = Vec::new();
        for schedule in lookup::schedules(&session, "").await? {
            rows.extend(schedule_on_call(&session, &schedule, moment, None).await?);
        }
        rows
    };
    app.out.print(&rows, |rows, paint| render(rows, paint))
}

fn render(rows: &[OnCall], paint: Paint) -> String {
    if rows.is_empty() {
        return "Nobody is on call for that.\n".into();
    }
    let with_steps = rows.iter().any(|r| r.step.is_some());
    let headers: &[&str] = if with_steps {
        &["STEP", "USER", "VIA", "FROM", "UNTIL"]
    } else {
        &["USER", "VIA", "FROM", "UNTIL"]
    };
    let mut table = Table::new(headers);
    for row in rows {
        let mut cells = Vec::new();
        if with_steps {
            cells.push(row.step.map(|s| s.to_string()).unwrap_or_default().into());
        }
        cells.push(row.user.clone().into());
        cells.push(row.via.clone().into());
        cells.push(row.start.map(time::local).unwrap_or_else(|| "-".into()).into());
        cells.push(row.end.map(time::local).unwrap_or_else(|| "-".into()).into());
        table.row(cells);
    }
    table.render(paint)
}

/// Shifts of one schedule selected by `moment`, optionally for one user only.
pub async fn schedule_on_call(
    session: &Session,
    schedule: &Named,
    moment: Moment,
    user_id: Option<&str>,
) -> Result<Vec<OnCall>> {
    let (start, end) = moment.span();
    let data = session
        .run::<ScheduleShifts>(schedule_shifts::Variables {
            id: schedule.id.clone(),
            start: start.to_string(),
            end: end.to_string(),
            user_i_ds: user_id.map(|id| vec![id.to_owned()]),
        })
        .await?;
    let schedule_data = data.schedule.ok_or_else(|| Error::NotFound {
        what: format!("schedule {:?}", schedule.name),
    })?;
    let rows = schedule_data
        .shifts
        .into_iter()
        .map(|shift| OnCall {
            user: shift
                .user
                .map(|u| u.name)
                .unwrap_or_else(|| shift.user_id.clone()),
            user_id: shift.user_id,
            via: format!("schedule {}", schedule_data.name),
            step: None,
            pages_after_minutes: None,
            start: time::parse_goalert(&shift.start),
            end: time::parse_goalert(&shift.end),
        })
        .filter(|row| moment.selects(row))
        .collect();
    Ok(rows)
}

/// My shifts in every schedule, and (for now) the services whose policies page me directly.
async fn my_on_call(session: &Session, moment: Moment, now: Timestamp) -> Result<Vec<OnCall>> {
    let me = session
        .run::<MyOnCallServices>(my_on_call_services::Variables {})
        .await?
        .user
        .ok_or_else(|| Error::NotLoggedIn {
            context: Some(session.context.clone()),
        })?;
    let mut rows = Vec::new();
    for schedule in lookup::schedules(session, "").await? {
        rows.extend(schedule_on_call(session, &schedule, moment, Some(&me.id)).await?);
    }
    if moment == Moment::At(now) {
        rows.extend(
            me.on_call_overview
                .service_assignments
                .into_iter()
                .map(|a| OnCall {
                    user: "me".into(),
                    user_id: me.id.clone(),
                    via: format!("service {} ({})", a.service_name, a.escalation_policy_name),
                    step: Some(a.step_number + 1),
                    pages_after_minutes: None,
                    start: None,
                    end: None,
                }),
        );
    }
    Ok(rows)
}

/// Who a service pages. Now, GoAlert answers itself; at other moments its policy is resolved.
pub async fn service_on_call(
    session: &Session,
    service: &Named,
    moment: Moment,
    now: Timestamp,
) -> Result<Vec<OnCall>> {
    let data = session
        .run::<ServiceOnCall>(service_on_call::Variables {
            id: service.id.clone(),
        })
        .await?;
    let found = data.service.ok_or_else(|| Error::NotFound {
        what: format!("service {:?}", service.name),
    })?;
    if moment != Moment::At(now) {
        return policy_on_call(session, &found.escalation_policy_id, moment, now).await;
    }
    let policy = found.escalation_policy.map(|p| p.name).unwrap_or_default();
    Ok(found
        .on_call_users
        .into_iter()
        .map(|u| OnCall {
            user: u.user_name,
            user_id: u.user_id,
            via: format!("policy {policy}"),
            // GoAlert numbers steps from 0; people count from 1.
            step: Some(u.step_number + 1),
            pages_after_minutes: None,
            start: None,
            end: None,
        })
        .collect())
}

/// Every step of a policy, each target resolved to the people on call at `moment`.
pub async fn policy_on_call(
    session: &Session,
    policy_id: &str,
    moment: Moment,
    now: Timestamp,
) -> Result<Vec<OnCall>> {
    let policy = session
        .run::<PolicySteps>(policy_steps::Variables {
            id: policy_id.to_owned(),
        })
        .await?
        .escalation_policy
        .ok_or_else(|| Error::NotFound {
            what: format!("escalation policy {policy_id}"),
        })?;
    let mut rows = Vec::new();
    let mut pages_after = 0;
    for step in policy.steps {
        let step_number = step.step_number + 1;
        let step_pages_after = pages_after;
        pages_after += step.delay_minutes;
        for action in step.actions {
            let name = match action.display_info {
                policy_steps::PolicyStepsEscalationPolicyStepsActionsDisplayInfo::DestinationDisplayInfo(
                    info,
                ) => info.text,
                _ => String::new(),
            };
            let arg = |key: &str| action.args.get(key).cloned().unwrap_or_default();
            // GoAlert's built-in destination types for people; Slack channels, webhooks and
            // the like page no person.
            let found = match action.type_.as_str() {
                "builtin-user" => vec![OnCall {
                    user: name,
                    user_id: arg("user_id"),
                    via: "user".into(),
                    step: None,
                    pages_after_minutes: None,
                    start: None,
                    end: None,
                }],
                "builtin-schedule" => {
                    let schedule = Named {
                        id: arg("schedule_id"),
                        name,
                    };
                    schedule_on_call(session, &schedule, moment, None).await?
                }
                "builtin-rotation" => {
                    let rotation = Named {
                        id: arg("rotation_id"),
                        name,
                    };
                    rotation_on_call(session, &rotation, moment, now).await?
                }
                _ => Vec::new(),
            };
            rows.extend(found.into_iter().map(|row| OnCall {
                step: Some(step_number),
                pages_after_minutes: Some(step_pages_after),
                ..row
            }));
        }
    }
    Ok(rows)
}

async fn rotation_on_call(
    session: &Session,
    rotation: &Named,
    moment: Moment,
    now: Timestamp,
) -> Result<Vec<OnCall>> {
    let until = match moment {
        Moment::At(t) if t < now => {
            eprintln!(
                "note: rotation {:?} cannot answer for the past (GoAlert keeps no rotation history); \
                 put rotations in a schedule to keep a record",
                rotation.name
            );
            return Ok(Vec::new());
        }
        Moment::At(t) => t,
        Moment::Next { until, .. } => until,
    };
    let found = session
        .run::<RotationOnCall>(rotation_on_call::Variables {
            id: rotation.id.clone(),
            handoffs: handoffs_needed(now, until),
        })
        .await?
        .rotation
        .ok_or_else(|| Error::NotFound {
            what: format!("rotation {:?}", rotation.name),
        })?;
    let people: Vec<(String, String)> = found.users.into_iter().map(|u| (u.id, u.name)).collect();
    let handoffs: Vec<Timestamp> = found
        .next_handoff_times
        .iter()
        .filter_map(|t| time::parse_goalert(t))
        .collect();
    let shifts = rotation_shifts(&people, found.active_user_index, &handoffs, &found.name);
    Ok(shifts.into_iter().filter(|s| moment.selects(s)).collect())
}

/// Enough upcoming handoffs to reach `until` for hourly rotations, within reason.
fn handoffs_needed(now: Timestamp, until: Timestamp) -> i64 {
    (until.duration_since(now).as_secs() / 3600 + 2).clamp(2, 200)
}

/// A rotation's shifts from its current participant and upcoming handoff times: the active
/// person until the first handoff, then each next person in turn.
pub fn rotation_shifts(
    people: &[(String, String)],
    active_index: i64,
    handoffs: &[Timestamp],
    rotation: &str,
) -> Vec<OnCall> {
    if people.is_empty() {
        return Vec::new();
    }
    let starts = std::iter::once(None).chain(handoffs.iter().copied().map(Some));
    let ends = handoffs.iter().copied().map(Some).chain(std::iter::once(None));
    starts
        .zip(ends)
        .enumerate()
        .map(|(i, (start, end))| {
            let (id, name) = &people[(active_index as usize + i) % people.len()];
            OnCall {
                user: name.clone(),
                user_id: id.clone(),
                via: format!("rotation {rotation}"),
                step: None,
                pages_after_minutes: None,
                start,
                end,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn people() -> Vec<(String, String)> {
        ["ann", "bob", "cy"]
            .iter()
            .map(|n| (format!("id-{n}"), n.to_string()))
            .collect()
    }

    #[test]
    fn rotation_shifts_follow_the_handoffs_from_the_active_person() {
        let handoffs = [t("2026-03-01T09:00:00Z"), t("2026-03-02T09:00:00Z")];
        let shifts = rotation_shifts(&people(), 2, &handoffs, "r");
        let who: Vec<_> = shifts.iter().map(|s| s.user.as_str()).collect();
        assert_eq!(who, ["cy", "ann", "bob"]);
        assert_eq!(shifts[0].start, None);
        assert_eq!(shifts[0].end, Some(handoffs[0]));
        assert_eq!(shifts[1].start, Some(handoffs[0]));
        assert_eq!(shifts[2].end, None);
    }

    #[test]
    fn at_selects_the_covering_shift_and_next_the_upcoming_ones() {
        let handoffs = [t("2026-03-01T09:00:00Z"), t("2026-03-02T09:00:00Z")];
        let shifts = rotation_shifts(&people(), 0, &handoffs, "r");
        let at = Moment::At(t("2026-03-01T12:00:00Z"));
        let covering: Vec<_> = shifts.iter().filter(|s| at.selects(s)).map(|s| &s.user).collect();
        assert_eq!(covering, ["bob"]);
        let next = Moment::Next {
            from: t("2026-03-01T08:00:00Z"),
            until: t("2026-03-01T20:00:00Z"),
        };
        let upcoming: Vec<_> = shifts
            .iter()
            .filter(|s| next.selects(s))
            .map(|s| &s.user)
            .collect();
        assert_eq!(upcoming, ["bob"]);
    }
}
