//! GoAlertSchedule → a GoAlert schedule with its targets, time rules and user overrides.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kube::ResourceExt;

use super::{
    Context,
    error::{Error, Result},
    field_diff::FieldDiff,
    owned_set::owned_set,
    reconcile::{Changes, Provisioned},
    references::{Referrer, object_id, user_id},
};
use crate::{
    api::{
        GoAlertRotation, GoAlertSchedule,
        common::goalert_name,
        schedule::{ScheduleRule as SpecRule, ScheduleStatus, Weekday},
    },
    timezone::{self, same_instant, same_time_zone},
};
use goalert_client::model::{
    NewSchedule, OverrideWindow, Schedule, ScheduleRule, ScheduleTarget, ScheduleTargetKind, ScheduleUpdate,
    TargetRef, TargetType, UserOverride,
};

const FIELDS: &[(&str, &str)] = &[
    ("name", "spec.scheduleName"),
    ("description", "spec.description"),
    ("timeZone", "spec.timeZone"),
    // The parts of a nested create: targets in GoAlert ID order, overrides without the ended.
    ("targets", "spec.targets"),
    ("newUserOverride", "spec.overrides"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredSchedule {
    name: String,
    description: String,
    time_zone: String,
    /// Rules sorted, so comparing with GoAlert's list ignores order.
    targets: BTreeMap<TargetRef, Vec<ScheduleRule>>,
    /// Overrides that have not ended.
    overrides: Vec<OverrideWindow>,
}

#[derive(Clone)]
pub struct ObservedSchedule {
    schedule: Schedule,
    overrides: Vec<UserOverride>,
}

impl Provisioned for GoAlertSchedule {
    type Desired = DesiredSchedule;
    type Fields = ScheduleStatus;
    type Observed = ObservedSchedule;

    async fn desired(&self, ctx: &Context) -> Result<DesiredSchedule> {
        let spec = &self.spec;
        if let Some(message) = timezone::problem(&spec.time_zone) {
            return Err(Error::InvalidSpec {
                field: "spec.timeZone".into(),
                message,
            });
        }
        let referrer = Referrer::of(self);
        let mut targets = BTreeMap::new();
        for (index, target) in spec.targets.iter().enumerate() {
            let field = format!("spec.targets[{index}]");
            let target_ref = match (&target.rotation_ref, &target.user_ref) {
                (Some(rotation), _) => TargetRef {
                    kind: ScheduleTargetKind::Rotation,
                    id: object_id::<GoAlertRotation>(
                        ctx,
                        &referrer,
                        rotation,
                        &format!("{field}.rotationRef"),
                    )
                    .await?,
                },
                (None, Some(user)) => TargetRef {
                    kind: ScheduleTargetKind::User,
                    id: user_id(ctx, &referrer, user, &format!("{field}.userRef")).await?,
                },
                (None, None) => {
                    return Err(Error::InvalidSpec {
                        field,
                        message: "set rotationRef or userRef".into(),
                    });
                }
            };
            if targets.insert(target_ref, rules(&target.rules)).is_some() {
                return Err(Error::InvalidSpec {
                    field,
                    message: "this target is listed twice; merge its rules".into(),
                });
            }
        }
        let now = jiff::Timestamp::now();
        let mut overrides = Vec::new();
        for (index, o) in spec.overrides.iter().enumerate() {
            let field = format!("spec.overrides[{index}]");
            let ended = o
                .end
                .parse::<jiff::Timestamp>()
                .map(|end| end <= now)
                .unwrap_or(false);
            if ended {
                continue;
            }
            let add_user_id = match &o.add_user_ref {
                Some(r) => Some(user_id(ctx, &referrer, r, &format!("{field}.addUserRef")).await?),
                None => None,
            };
            let remove_user_id = match &o.remove_user_ref {
                Some(r) => Some(user_id(ctx, &referrer, r, &format!("{field}.removeUserRef")).await?),
                None => None,
            };
            overrides.push(OverrideWindow {
                add_user_id,
                remove_user_id,
                start: o.start.clone(),
                end: o.end.clone(),
            });
        }
        Ok(DesiredSchedule {
            name: goalert_name(spec.schedule_name.as_deref().unwrap_or(&self.name_any())),
            description: spec.description.clone().unwrap_or_default(),
            time_zone: spec.time_zone.clone(),
            targets,
            overrides,
        })
    }

    fn unique_key(desired: &DesiredSchedule) -> &str {
        &desired.name
    }

    async fn find(ctx: &Context, name: &str) -> Result<Option<String>> {
        Ok(ctx.goalert.schedule_id_by_name(name).await?)
    }

    async fn observe(ctx: &Context, id: &str) -> Result<Option<ObservedSchedule>> {
        let Some(schedule) = ctx.goalert.schedule(id).await? else {
            return Ok(None);
        };
        let overrides = ctx
            .goalert
            .user_overrides(id, &jiff::Timestamp::now().to_string())
            .await?;
        Ok(Some(ObservedSchedule { schedule, overrides }))
    }

    async fn list(ctx: &Context) -> Result<Vec<(String, ObservedSchedule)>> {
        let schedules = ctx.goalert.all_schedules().await?;
        let mut overrides: HashMap<String, Vec<UserOverride>> = HashMap::new();
        let now = jiff::Timestamp::now().to_string();
        for (schedule_id, user_override) in ctx.goalert.all_user_overrides(&now).await? {
            overrides.entry(schedule_id).or_default().push(user_override);
        }
        Ok(schedules
            .into_iter()
            .map(|schedule| {
                let overrides = overrides.remove(&schedule.id).unwrap_or_default();
                (schedule.id.clone(), ObservedSchedule { schedule, overrides })
            })
            .collect())
    }

    fn key_of(observed: &ObservedSchedule) -> &str {
        &observed.schedule.name
    }

    async fn create(&self, ctx: &Context, desired: &DesiredSchedule) -> Result<(String, ObservedSchedule)> {
        let schedule = ctx
            .goalert
            .create_schedule(&new_schedule(desired))
            .await
            .map_err(|e| Error::from_goalert(e, FIELDS))?;
        // The answer holds no overrides; only those just made need their IDs read.
        let overrides = if desired.overrides.is_empty() {
            Vec::new()
        } else {
            ctx.goalert
                .user_overrides(&schedule.id, &jiff::Timestamp::now().to_string())
                .await?
        };
        Ok((schedule.id.clone(), ObservedSchedule { schedule, overrides }))
    }

    async fn converge(
        &self,
        ctx: &Context,
        id: &str,
        desired: &DesiredSchedule,
        observed: &ObservedSchedule,
        changes: &mut Changes,
    ) -> Result<ScheduleStatus> {
        let (update, fields) = schedule_update(desired, &observed.schedule);
        if update != ScheduleUpdate::default() {
            let request = ctx.goalert.update_schedule(id, update);
            changes
                .send(&fields, async {
                    request.await.map_err(|e| Error::from_goalert(e, FIELDS))
                })
                .await?;
        }
        for (target, rules) in &target_changes(desired, &observed.schedule) {
            let request = ctx.goalert.set_schedule_target(id, target, rules);
            changes
                .send(&["spec.targets"], async {
                    request
                        .await
                        .map_err(|e| Error::from_goalert(e, &[("rules", "spec.targets")]))
                })
                .await?;
        }

        let previously: BTreeSet<String> = self
            .status
            .iter()
            .flat_map(|s| s.schedule.managed_overrides.iter().cloned())
            .collect();
        let plan = override_plan(&desired.overrides, &observed.overrides, &previously);
        let mut managed = plan.keep;
        for window in &plan.create {
            let request = ctx.goalert.create_user_override(id, window);
            let created = changes
                .send(&["spec.overrides"], async {
                    request.await.map_err(|e| {
                        Error::from_goalert(e, &[("start", "spec.overrides"), ("end", "spec.overrides")])
                    })
                })
                .await?;
            managed.extend(created);
        }
        if !plan.delete.is_empty() {
            let targets: Vec<_> = plan
                .delete
                .iter()
                .map(|id| (TargetType::UserOverride, id.as_str()))
                .collect();
            let request = ctx.goalert.delete(&targets);
            let sent = changes
                .send(&["spec.overrides"], async { Ok(request.await?) })
                .await?;
            if sent.is_none() {
                // Not deleted, so still this resource's to delete later.
                managed.extend(plan.delete.iter().cloned());
            }
        }
        Ok(ScheduleStatus {
            managed_overrides: managed,
        })
    }
}

/// The schedule with its targets and overrides, all of which createSchedule takes.
fn new_schedule(desired: &DesiredSchedule) -> NewSchedule {
    NewSchedule {
        name: desired.name.clone(),
        description: desired.description.clone(),
        time_zone: desired.time_zone.clone(),
        targets: (desired.targets.iter())
            .map(|(target, rules)| ScheduleTarget {
                target: target.clone(),
                rules: rules.clone(),
            })
            .collect(),
        overrides: desired.overrides.clone(),
    }
}

/// GoAlert's rules for a target; no rules means always active (one all-day rule every day).
fn rules(spec: &[SpecRule]) -> Vec<ScheduleRule> {
    let always = [SpecRule {
        start: None,
        end: None,
        weekdays: None,
    }];
    let spec = if spec.is_empty() { &always[..] } else { spec };
    let mut rules: Vec<_> = spec
        .iter()
        .map(|rule| {
            let days = rule.weekdays.as_deref().unwrap_or(&Weekday::ALL);
            ScheduleRule {
                start: rule.start.clone().unwrap_or_else(|| "00:00".into()),
                end: rule.end.clone().unwrap_or_else(|| "00:00".into()),
                weekdays: Weekday::ALL.map(|day| days.contains(&day)),
            }
        })
        .collect();
    rules.sort();
    rules
}

/// The update of the schedule's own fields, and the spec fields it changes.
fn schedule_update(desired: &DesiredSchedule, observed: &Schedule) -> (ScheduleUpdate, Vec<String>) {
    let mut diff = FieldDiff::default();
    let update = ScheduleUpdate {
        name: diff.set("spec.scheduleName", &desired.name, &observed.name),
        description: diff.set("spec.description", &desired.description, &observed.description),
        time_zone: diff.set_if(
            "spec.timeZone",
            !same_time_zone(&desired.time_zone, &observed.time_zone),
            &desired.time_zone,
        ),
    };
    (update, diff.changed())
}

/// Targets whose rules differ, with the rules to set; targets not in the spec get no rules,
/// which removes them.
fn target_changes(desired: &DesiredSchedule, observed: &Schedule) -> Vec<(TargetRef, Vec<ScheduleRule>)> {
    let current: BTreeMap<&TargetRef, Vec<ScheduleRule>> = observed
        .targets
        .iter()
        .map(|t| {
            let mut rules = t.rules.clone();
            rules.sort();
            (&t.target, rules)
        })
        .collect();
    let mut changes: Vec<_> = desired
        .targets
        .iter()
        .filter(|(target, rules)| current.get(target) != Some(rules))
        .map(|(target, rules)| (target.clone(), rules.clone()))
        .collect();
    changes.extend(
        current
            .keys()
            .filter(|target| !desired.targets.contains_key(target))
            .map(|target| ((*target).clone(), Vec::new())),
    );
    changes
}

#[derive(Debug, Default, PartialEq, Eq)]
struct OverridePlan {
    keep: Vec<String>,
    create: Vec<OverrideWindow>,
    delete: Vec<String>,
}

/// Spec overrides already in GoAlert are kept, missing ones created; overrides this resource
/// created earlier and no longer lists are deleted. Overrides made in GoAlert's UI are never
/// touched.
fn override_plan(
    desired: &[OverrideWindow],
    observed: &[UserOverride],
    previously: &BTreeSet<String>,
) -> OverridePlan {
    let same = |a: &OverrideWindow, b: &OverrideWindow| {
        a.add_user_id == b.add_user_id
            && a.remove_user_id == b.remove_user_id
            && same_instant(&a.start, &b.start)
            && same_instant(&a.end, &b.end)
    };
    let parts = owned_set(
        desired,
        observed,
        |w, o| same(w, &o.window),
        |o| previously.contains(&o.id),
    );
    let mut plan = OverridePlan::default();
    for (_, window, existing) in parts.wanted {
        match existing {
            Some(o) => plan.keep.push(o.id.clone()),
            None => plan.create.push(window.clone()),
        }
    }
    plan.delete = parts.retired.iter().map(|o| o.id.clone()).collect();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rotation(id: &str) -> TargetRef {
        TargetRef {
            kind: ScheduleTargetKind::Rotation,
            id: id.into(),
        }
    }

    fn desired(targets: BTreeMap<TargetRef, Vec<ScheduleRule>>) -> DesiredSchedule {
        DesiredSchedule {
            name: "S".into(),
            description: String::new(),
            time_zone: "UTC".into(),
            targets,
            overrides: vec![],
        }
    }

    fn observed(targets: Vec<ScheduleTarget>) -> Schedule {
        Schedule {
            id: "s".into(),
            name: "S".into(),
            description: String::new(),
            time_zone: "Etc/UTC".into(),
            targets,
        }
    }

    #[test]
    fn no_rules_means_always_and_weekdays_start_on_sunday() {
        assert_eq!(
            rules(&[]),
            vec![ScheduleRule {
                start: "00:00".into(),
                end: "00:00".into(),
                weekdays: [true; 7]
            }]
        );
        let weekend = rules(&[SpecRule {
            start: Some("09:00".into()),
            end: Some("17:00".into()),
            weekdays: Some(vec![Weekday::Saturday, Weekday::Sunday]),
        }]);
        assert_eq!(
            weekend[0].weekdays,
            [true, false, false, false, false, false, true]
        );
    }

    #[test]
    fn rule_order_and_zone_aliases_are_not_drift() {
        let a = ScheduleRule {
            start: "00:00".into(),
            end: "12:00".into(),
            weekdays: [true; 7],
        };
        let b = ScheduleRule {
            start: "12:00".into(),
            end: "00:00".into(),
            weekdays: [true; 7],
        };
        let want = desired([(rotation("r"), vec![a.clone(), b.clone()])].into());
        let have = observed(vec![ScheduleTarget {
            target: rotation("r"),
            rules: vec![b, a],
        }]);
        assert!(target_changes(&want, &have).is_empty());
        assert_eq!(schedule_update(&want, &have).0, ScheduleUpdate::default());
    }

    #[test]
    fn targets_are_set_and_removed() {
        let rule = ScheduleRule {
            start: "00:00".into(),
            end: "00:00".into(),
            weekdays: [true; 7],
        };
        let want = desired([(rotation("new"), vec![rule.clone()])].into());
        let have = observed(vec![ScheduleTarget {
            target: rotation("old"),
            rules: vec![rule.clone()],
        }]);
        assert_eq!(
            target_changes(&want, &have),
            vec![(rotation("new"), vec![rule]), (rotation("old"), vec![])]
        );
    }

    #[test]
    fn a_schedule_made_with_its_targets_and_overrides_is_in_sync_and_owns_them() {
        let rule = ScheduleRule {
            start: "08:00".into(),
            end: "20:00".into(),
            weekdays: [false, true, true, true, true, true, false],
        };
        let mut want = desired([(rotation("r"), vec![rule])].into());
        want.overrides = vec![OverrideWindow {
            add_user_id: Some("a".into()),
            remove_user_id: Some("b".into()),
            start: "2030-01-01T00:00:00Z".into(),
            end: "2030-01-02T00:00:00Z".into(),
        }];
        let new = new_schedule(&want);
        let made = observed(new.targets);
        let overrides: Vec<_> = (new.overrides.into_iter().enumerate())
            .map(|(i, window)| UserOverride {
                id: format!("o{i}"),
                window,
            })
            .collect();
        assert!(target_changes(&want, &made).is_empty());
        assert_eq!(schedule_update(&want, &made).0, ScheduleUpdate::default());
        let plan = override_plan(&want.overrides, &overrides, &BTreeSet::new());
        assert_eq!(
            plan,
            OverridePlan {
                keep: vec!["o0".into()],
                ..OverridePlan::default()
            },
            "the first round records the overrides as this resource's own"
        );
    }

    #[test]
    fn only_overrides_this_resource_made_are_deleted() {
        let window = |user: &str| OverrideWindow {
            add_user_id: Some(user.into()),
            remove_user_id: None,
            start: "2030-01-01T00:00:00Z".into(),
            end: "2030-01-02T00:00:00Z".into(),
        };
        let observed = vec![
            UserOverride {
                id: "mine-kept".into(),
                window: window("a"),
            },
            UserOverride {
                id: "mine-dropped".into(),
                window: window("b"),
            },
            UserOverride {
                id: "from-the-ui".into(),
                window: window("c"),
            },
        ];
        let previously: BTreeSet<String> = ["mine-kept".into(), "mine-dropped".into()].into();
        let plan = override_plan(&[window("a"), window("d")], &observed, &previously);
        assert_eq!(plan.keep, ["mine-kept"]);
        assert_eq!(plan.create, vec![window("d")]);
        assert_eq!(plan.delete, ["mine-dropped"]);
    }
}
