//! Who is on call: now, at a moment, or next — for everyone, me, a schedule, a service or an
//! escalation policy.
//!
//! Schedules answer from GoAlert itself (`Schedule.shifts`, which includes past shifts from
//! GoAlert's history), every schedule in a few bulk requests. A service's current chain is
//! GoAlert's own `onCallUsers`. Policies also page people and rotations directly (not through a
//! schedule); those are read from every policy's steps. Rotations answer from their handoff
//! times (GoAlert keeps no rotation history, so a rotation cannot answer for the past).

use std::collections::BTreeMap;

use goalert_client::paging;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::{
    App,
    cli::OncallArgs,
    error::{Error, Result},
    lookup::{self, Named},
    ops::{
        MyOnCallServices, PoliciesSteps, PolicySteps, RotationOnCall, ScheduleShifts, SchedulesOnCall,
        ServiceOnCall, my_on_call_services, policies_steps, policy_steps, rotation_on_call, schedule_shifts,
        schedules_on_call, service_on_call,
    },
    output::{Paint, Table},
    session::Session,
    time,
};

/// GoAlert computes shifts for at most 50 days at a time.
const MAX_SPAN_DAYS: i64 = 50;
/// How far beyond the question gctl asks GoAlert, so shifts show their real start and end.
const MARGIN_DAYS: i64 = 7;
/// Schedules per bulk request (each costs GoAlert about nine of its 100 queries a request).
const SCHEDULES_PER_PAGE: i64 = 10;
const POLICIES_PER_PAGE: i64 = 20;

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
    /// The span to ask GoAlert about. GoAlert cuts shifts at the span's edges (and says
    /// `truncated` when one runs past its end), so gctl asks for a week either side of the
    /// question and shows a cut edge as unknown ("-"), never as the shift's start or end.
    fn span(self) -> (Timestamp, Timestamp) {
        let margin = SignedDuration::from_hours(24 * MARGIN_DAYS);
        match self {
            Moment::At(t) => (t - margin, t + margin),
            Moment::Next { from, until } => (from, until + margin),
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
    /// How they are on call: `schedule primary`, `rotation db-rotation`, `policy payments-ep step 2`.
    pub via: String,
    /// The escalation step, when the question was about a service or policy.
    pub step: Option<i64>,
    /// Minutes after an alert is created that this step pages (for a policy's steps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages_after_minutes: Option<i64>,
    /// When the shift started; `None` when it started before what GoAlert reported.
    pub start: Option<Timestamp>,
    /// When it ends; `None` when it does not end within what GoAlert reported (or at all: a
    /// user named directly in a policy).
    pub end: Option<Timestamp>,
}

pub async fn run(app: &App, args: OncallArgs) -> Result<()> {
    let session = app.session().await?;
    let now = Timestamp::now();
    let moment = if args.next {
        let window = time::parse_duration(&args.window)?;
        if window > SignedDuration::from_hours(24 * (MAX_SPAN_DAYS - MARGIN_DAYS)) {
            return Err(Error::Usage(format!(
                "--window can be at most {}d (GoAlert computes shifts for {MAX_SPAN_DAYS} days at a time)",
                MAX_SPAN_DAYS - MARGIN_DAYS
            )));
        }
        Moment::Next {
            from: now,
            until: now + window,
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
        schedule_on_call(&session, &schedule, moment).await?
    } else if args.me {
        my_on_call(&session, moment, now).await?
    } else {
        everyone(&session, moment, now, None).await?
    };
    let utc = app.global.utc;
    app.out.print(&rows, |rows, paint| render(rows, paint, utc, now))
}

fn render(rows: &[OnCall], paint: Paint, utc: bool, now: Timestamp) -> String {
    if rows.is_empty() {
        return "Nobody is on call for that.\n".into();
    }
    let with_steps = rows.iter().any(|r| r.step.is_some());
    let (from, until) = (time::header("FROM", utc), time::header("UNTIL", utc));
    let mut headers = vec!["USER", "VIA", &from, &until];
    if with_steps {
        headers.insert(0, "STEP");
    }
    let mut table = Table::new(&headers);
    let when = |t: Option<Timestamp>| {
        t.map(|t| format!("{} ({})", time::show(t, utc), time::relative(t, now)))
            .unwrap_or_else(|| "-".into())
    };
    for row in rows {
        let mut cells = Vec::new();
        if with_steps {
            cells.push(row.step.map(|s| s.to_string()).unwrap_or_default().into());
        }
        cells.push(row.user.clone().into());
        cells.push(row.via.clone().into());
        cells.push(when(row.start).into());
        cells.push(when(row.end).into());
        table.row(cells);
    }
    table.render(paint)
}

/// One shift as GoAlert reports it, whichever operation it came in.
struct Shift {
    user_id: String,
    user: Option<String>,
    start: String,
    end: String,
    truncated: bool,
}

macro_rules! shifts_from {
    ($($module:ident),*) => {$(
        impl From<$module::ShiftFields> for Shift {
            fn from(s: $module::ShiftFields) -> Self {
                Shift { user_id: s.user_id, user: s.user.map(|u| u.name), start: s.start, end: s.end, truncated: s.truncated }
            }
        }
    )*};
}
shifts_from!(schedule_shifts, schedules_on_call);

/// GoAlert's shifts of one schedule as rows, edges of the asked span shown as unknown.
fn shift_rows(schedule: &str, shifts: Vec<Shift>, span_start: Timestamp, moment: Moment) -> Vec<OnCall> {
    // GoAlert computes shifts minute by minute from the start of the span.
    let first_minute = span_start - SignedDuration::from_secs(span_start.as_second().rem_euclid(60));
    shifts
        .into_iter()
        .map(|shift| OnCall {
            user: shift.user.unwrap_or_else(|| shift.user_id.clone()),
            user_id: shift.user_id,
            via: format!("schedule {schedule}"),
            step: None,
            pages_after_minutes: None,
            start: time::parse_goalert(&shift.start).filter(|s| *s > first_minute),
            end: time::parse_goalert(&shift.end).filter(|_| !shift.truncated),
        })
        .filter(|row| moment.selects(row))
        .collect()
}

/// Shifts of one schedule selected by `moment`.
pub async fn schedule_on_call(session: &Session, schedule: &Named, moment: Moment) -> Result<Vec<OnCall>> {
    let (start, end) = moment.span();
    let data = session
        .run::<ScheduleShifts>(schedule_shifts::Variables {
            id: schedule.id.clone(),
            start: start.to_string(),
            end: end.to_string(),
            user_i_ds: None,
        })
        .await?;
    let found = data.schedule.ok_or_else(|| Error::NotFound {
        what: format!("schedule {:?}", schedule.name),
    })?;
    let shifts = found.shifts.into_iter().map(Shift::from).collect();
    Ok(shift_rows(&found.name, shifts, start, moment))
}

/// Every schedule's shifts selected by `moment` (only one user's with `user_id`), in bulk.
async fn schedules_on_call(session: &Session, moment: Moment, user_id: Option<&str>) -> Result<Vec<OnCall>> {
    let (start, end) = moment.span();
    let schedules = paging::shrinking::<_, Error, _, _>(SCHEDULES_PER_PAGE, |after, first| async move {
        let data = session
            .run::<SchedulesOnCall>(schedules_on_call::Variables {
                first,
                after: after.unwrap_or_default(),
                start: start.to_string(),
                end: end.to_string(),
                user_i_ds: user_id.map(|id| vec![id.to_owned()]),
            })
            .await?
            .schedules;
        Ok(paging::Page {
            items: data.nodes,
            next: paging::next(data.page_info.end_cursor, data.page_info.has_next_page),
        })
    })
    .await?;
    Ok(schedules
        .into_iter()
        .flat_map(|s| {
            shift_rows(
                &s.name,
                s.shifts.into_iter().map(Shift::from).collect(),
                start,
                moment,
            )
        })
        .collect())
}

/// One action of an escalation step, whichever operation it came in.
struct Action {
    kind: String,
    args: BTreeMap<String, String>,
    name: String,
}

struct Step {
    number: i64,
    delay_minutes: i64,
    actions: Vec<Action>,
}

macro_rules! steps_from {
    ($($module:ident),*) => {$(
        impl From<$module::StepFields> for Step {
            fn from(step: $module::StepFields) -> Self {
                Step {
                    number: step.step_number,
                    delay_minutes: step.delay_minutes,
                    actions: step.actions.into_iter().map(|a| Action {
                        kind: a.type_,
                        args: a.args,
                        name: match a.display_info {
                            $module::StepFieldsActionsDisplayInfo::DestinationDisplayInfo(info) => info.text,
                            _ => String::new(),
                        },
                    }).collect(),
                }
            }
        }
    )*};
}
steps_from!(policy_steps, policies_steps);

/// What one action pages: GoAlert's built-in destination types for people (Slack channels,
/// webhooks and the like page no person).
enum Target {
    User(Named),
    Schedule(Named),
    Rotation(Named),
    Other,
}

impl Action {
    fn target(&self) -> Target {
        let named = |key: &str| Named {
            id: self.args.get(key).cloned().unwrap_or_default(),
            name: self.name.clone(),
        };
        match self.kind.as_str() {
            "builtin-user" => Target::User(named("user_id")),
            "builtin-schedule" => Target::Schedule(named("schedule_id")),
            "builtin-rotation" => Target::Rotation(named("rotation_id")),
            _ => Target::Other,
        }
    }
}

fn direct_user(user: Named, via: String) -> OnCall {
    OnCall {
        user: user.name,
        user_id: user.id,
        via,
        step: None,
        pages_after_minutes: None,
        start: None,
        end: None,
    }
}

/// Everyone on call (or only `me`): every schedule's shifts, and the people and rotations
/// policies page directly.
async fn everyone(
    session: &Session,
    moment: Moment,
    now: Timestamp,
    me: Option<&str>,
) -> Result<Vec<OnCall>> {
    let mut rows = schedules_on_call(session, moment, me).await?;
    let policies = paging::shrinking::<_, Error, _, _>(POLICIES_PER_PAGE, |after, first| async move {
        let data = session
            .run::<PoliciesSteps>(policies_steps::Variables {
                first,
                after: after.unwrap_or_default(),
            })
            .await?
            .escalation_policies;
        Ok(paging::Page {
            items: data.nodes,
            next: paging::next(data.page_info.end_cursor, data.page_info.has_next_page),
        })
    })
    .await?;
    let mut rotations: BTreeMap<String, (Named, Vec<String>)> = BTreeMap::new();
    for policy in policies {
        for step in policy.steps.into_iter().map(Step::from) {
            let via = format!("policy {} step {}", policy.name, step.number + 1);
            for action in &step.actions {
                match action.target() {
                    Target::User(user) if me.is_none_or(|me| me == user.id) => {
                        rows.push(direct_user(user, via.clone()))
                    }
                    Target::Rotation(rotation) => {
                        let entry = rotations
                            .entry(rotation.id.clone())
                            .or_insert_with(|| (rotation, Vec::new()));
                        entry.1.push(via.clone());
                    }
                    _ => {}
                }
            }
        }
    }
    for (rotation, vias) in rotations.into_values() {
        let shifts = rotation_on_call(session, &rotation, moment, now).await?;
        for shift in shifts.into_iter().filter(|s| me.is_none_or(|me| me == s.user_id)) {
            for via in &vias {
                rows.push(OnCall {
                    via: format!("{via} ({})", shift.via),
                    ..shift.clone()
                });
            }
        }
    }
    Ok(rows)
}

/// My shifts in every schedule, what policies page me for directly, and (for now) the services
/// whose escalation I am on.
async fn my_on_call(session: &Session, moment: Moment, now: Timestamp) -> Result<Vec<OnCall>> {
    let me = session
        .run::<MyOnCallServices>(my_on_call_services::Variables {})
        .await?
        .user
        .ok_or_else(|| Error::NotLoggedIn {
            context: Some(session.context.clone()),
        })?;
    let mut rows = everyone(session, moment, now, Some(&me.id)).await?;
    if moment == Moment::At(now) {
        rows.extend(
            me.on_call_overview
                .service_assignments
                .into_iter()
                .map(|a| OnCall {
                    user: me.name.clone(),
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
    for step in policy.steps.into_iter().map(Step::from) {
        let step_number = step.number + 1;
        let step_pages_after = pages_after;
        pages_after += step.delay_minutes;
        for action in &step.actions {
            let found = match action.target() {
                Target::User(user) => vec![direct_user(user, "user".into())],
                Target::Schedule(schedule) => schedule_on_call(session, &schedule, moment).await?,
                Target::Rotation(rotation) => rotation_on_call(session, &rotation, moment, now).await?,
                Target::Other => Vec::new(),
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
    fn edges_of_the_asked_span_are_unknown_not_the_shift_s_start_or_end() {
        let now = t("2026-03-01T12:00:30Z");
        let moment = Moment::At(now);
        let (start, _) = moment.span();
        let shift = |s: &str, e: &str, truncated: bool| Shift {
            user_id: "id-ann".into(),
            user: Some("ann".into()),
            start: s.into(),
            end: e.into(),
            truncated,
        };
        let edge = (start - SignedDuration::from_secs(30)).to_string();
        let rows = shift_rows(
            "primary",
            vec![
                shift(&edge, "2026-03-08T12:00:00Z", true),
                shift("2026-03-01T08:00:00Z", "2026-03-01T16:00:00Z", false),
            ],
            start,
            moment,
        );
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].start, rows[0].end), (None, None));
        assert_eq!(rows[1].start, Some(t("2026-03-01T08:00:00Z")));
        assert_eq!(rows[1].end, Some(t("2026-03-01T16:00:00Z")));
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
