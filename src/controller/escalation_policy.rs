//! GoAlertEscalationPolicy → a GoAlert escalation policy and its steps, edited in place.

use kube::ResourceExt;

use super::{
    Context,
    error::{Error, Result},
    field_diff::FieldDiff,
    reconcile::{Changes, Provisioned},
    references::{Referrer, object_id, user_id},
};
use crate::api::{
    GoAlertEscalationPolicy, GoAlertRotation, GoAlertSchedule,
    common::goalert_name,
    escalation_policy::{DEFAULT_REPEAT, StepTarget},
};
use goalert_client::model::{
    Destination, EscalationPolicy, EscalationPolicyUpdate, EscalationStep, NewEscalationPolicy,
    NewEscalationStep, StepTargetKind,
};

const FIELDS: &[(&str, &str)] = &[
    ("name", "spec.escalationPolicyName"),
    ("description", "spec.description"),
    ("repeat", "spec.repeat"),
    ("delayMinutes", "spec.steps"),
    ("actions", "spec.steps"),
    // A step of the nested create, in spec order.
    ("Steps", "spec.steps[]"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredPolicy {
    name: String,
    description: String,
    repeat: i64,
    steps: Vec<DesiredStep>,
}

/// A step as the spec wants it, which is exactly what GoAlert makes; its actions sorted, like
/// the observed steps' actions.
type DesiredStep = NewEscalationStep;

impl Provisioned for GoAlertEscalationPolicy {
    type Desired = DesiredPolicy;
    type Fields = ();
    type Observed = EscalationPolicy;

    async fn desired(&self, ctx: &Context) -> Result<DesiredPolicy> {
        let spec = &self.spec;
        let referrer = Referrer::of(self);
        let mut steps = Vec::with_capacity(spec.steps.len());
        for (index, step) in spec.steps.iter().enumerate() {
            let mut actions = Vec::with_capacity(step.targets.len());
            for (target_index, target) in step.targets.iter().enumerate() {
                let field = format!("spec.steps[{index}].targets[{target_index}]");
                actions.push(destination(ctx, &referrer, target, &field).await?);
            }
            actions.sort();
            actions.dedup();
            steps.push(DesiredStep {
                delay_minutes: i64::from(step.delay_minutes),
                actions,
            });
        }
        Ok(DesiredPolicy {
            name: goalert_name(spec.escalation_policy_name.as_deref().unwrap_or(&self.name_any())),
            description: spec.description.clone().unwrap_or_default(),
            repeat: i64::from(spec.repeat.unwrap_or(DEFAULT_REPEAT)),
            steps,
        })
    }

    fn unique_key(desired: &DesiredPolicy) -> &str {
        &desired.name
    }

    async fn find(ctx: &Context, name: &str) -> Result<Option<String>> {
        Ok(ctx.goalert.escalation_policy_id_by_name(name).await?)
    }

    async fn observe(ctx: &Context, id: &str) -> Result<Option<EscalationPolicy>> {
        Ok(ctx.goalert.escalation_policy(id).await?)
    }

    async fn list(ctx: &Context) -> Result<Vec<(String, EscalationPolicy)>> {
        let policies = ctx.goalert.all_escalation_policies().await?;
        Ok(policies.into_iter().map(|p| (p.id.clone(), p)).collect())
    }

    fn key_of(observed: &EscalationPolicy) -> &str {
        &observed.name
    }

    async fn create(&self, ctx: &Context, desired: &DesiredPolicy) -> Result<(String, EscalationPolicy)> {
        let policy = NewEscalationPolicy {
            name: desired.name.clone(),
            description: desired.description.clone(),
            repeat: desired.repeat,
            steps: desired.steps.clone(),
        };
        ctx.goalert
            .create_escalation_policy(&policy)
            .await
            .map(|policy| (policy.id.clone(), policy))
            .map_err(|e| Error::from_goalert(e, FIELDS))
    }

    async fn converge(
        &self,
        ctx: &Context,
        id: &str,
        desired: &DesiredPolicy,
        observed: &EscalationPolicy,
        changes: &mut Changes,
    ) -> Result<()> {
        let mut diff = FieldDiff::default();
        let mut update = EscalationPolicyUpdate {
            name: diff.set("spec.escalationPolicyName", &desired.name, &observed.name),
            description: diff.set("spec.description", &desired.description, &observed.description),
            repeat: diff.set("spec.repeat", &desired.repeat, &observed.repeat),
            ..EscalationPolicyUpdate::default()
        };

        let plan = step_plan(&desired.steps, &observed.steps);
        let mut step_ids = Vec::with_capacity(plan.len());
        for (slot, step) in plan.iter().zip(&desired.steps) {
            let step_id = match slot {
                Slot::Keep(step_id) => Some(step_id.clone()),
                Slot::Update(step_id) => {
                    let request = ctx.goalert.update_escalation_step(step_id, step);
                    changes
                        .send(&["spec.steps"], async {
                            request.await.map_err(|e| Error::from_goalert(e, FIELDS))
                        })
                        .await?;
                    Some(step_id.clone())
                }
                Slot::Create => {
                    let request = ctx.goalert.create_escalation_step(id, step);
                    changes
                        .send(&["spec.steps"], async {
                            request.await.map_err(|e| Error::from_goalert(e, FIELDS))
                        })
                        .await?
                }
            };
            // Only a read-only reconcile leaves a step without ID, and it sends no update.
            step_ids.extend(step_id);
        }
        let observed_ids: Vec<_> = observed.steps.iter().map(|s| s.id.clone()).collect();
        // The complete ordered list: it reorders, and removes the steps left out.
        update.step_ids = diff.set("spec.steps", &step_ids, &observed_ids);
        let fields = diff.changed();
        if !fields.is_empty() {
            let request = ctx.goalert.update_escalation_policy(id, update);
            changes
                .send(&fields, async {
                    request.await.map_err(|e| Error::from_goalert(e, FIELDS))
                })
                .await?;
        }
        Ok(())
    }
}

/// The GoAlert destination a step target resolves to.
async fn destination(
    ctx: &Context,
    referrer: &Referrer,
    target: &StepTarget,
    field: &str,
) -> Result<Destination> {
    let (kind, value) = match target {
        StepTarget {
            user_ref: Some(user), ..
        } => (
            StepTargetKind::User,
            user_id(ctx, referrer, user, &format!("{field}.userRef")).await?,
        ),
        StepTarget {
            rotation_ref: Some(rotation),
            ..
        } => (
            StepTargetKind::Rotation,
            object_id::<GoAlertRotation>(ctx, referrer, rotation, &format!("{field}.rotationRef")).await?,
        ),
        StepTarget {
            schedule_ref: Some(schedule),
            ..
        } => (
            StepTargetKind::Schedule,
            object_id::<GoAlertSchedule>(ctx, referrer, schedule, &format!("{field}.scheduleRef")).await?,
        ),
        StepTarget {
            slack_channel: Some(channel),
            ..
        } => (StepTargetKind::SlackChannel, channel.clone()),
        StepTarget {
            webhook_url: Some(url),
            ..
        } => (StepTargetKind::Webhook, url.clone()),
        _ => {
            return Err(Error::InvalidSpec {
                field: field.to_owned(),
                message: "set one of userRef, rotationRef, scheduleRef, slackChannel, webhookUrl".into(),
            });
        }
    };
    Ok(kind.destination(value))
}

/// What becomes of each desired step.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    /// An existing step that already matches.
    Keep(String),
    /// An existing step edited in place.
    Update(String),
    /// A new step.
    Create,
}

/// Maps desired steps onto existing ones so that as few as possible change: identical steps are
/// kept wherever they moved to, then the remaining ones are edited in place (preferring the step
/// at the same position), and only what is left over is created. Existing steps not used here
/// are dropped by the final ordered step list.
fn step_plan(desired: &[DesiredStep], observed: &[EscalationStep]) -> Vec<Slot> {
    let mut used = vec![false; observed.len()];
    let mut slots: Vec<Option<Slot>> = vec![None; desired.len()];
    for (slot, want) in slots.iter_mut().zip(desired) {
        let same = observed.iter().enumerate().find(|(i, have)| {
            !used[*i] && have.delay_minutes == want.delay_minutes && have.actions == want.actions
        });
        if let Some((i, have)) = same {
            used[i] = true;
            *slot = Some(Slot::Keep(have.id.clone()));
        }
    }
    for (position, slot) in slots.iter_mut().enumerate() {
        if slot.is_some() {
            continue;
        }
        let reusable = if used.get(position) == Some(&false) {
            Some(position)
        } else {
            used.iter().position(|u| !u)
        };
        *slot = Some(match reusable {
            Some(i) => {
                used[i] = true;
                Slot::Update(observed[i].id.clone())
            }
            None => Slot::Create,
        });
    }
    slots
        .into_iter()
        .map(|slot| slot.expect("every slot is decided"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> Destination {
        StepTargetKind::User.destination(id.to_owned())
    }

    fn want(delay: i64, who: &str) -> DesiredStep {
        DesiredStep {
            delay_minutes: delay,
            actions: vec![user(who)],
        }
    }

    fn have(id: &str, delay: i64, who: &str) -> EscalationStep {
        EscalationStep {
            id: id.into(),
            delay_minutes: delay,
            actions: vec![user(who)],
        }
    }

    #[test]
    fn steps_in_sync_are_all_kept() {
        let plan = step_plan(
            &[want(5, "a"), want(10, "b")],
            &[have("1", 5, "a"), have("2", 10, "b")],
        );
        assert_eq!(plan, vec![Slot::Keep("1".into()), Slot::Keep("2".into())]);
    }

    #[test]
    fn a_reorder_keeps_both_steps() {
        let plan = step_plan(
            &[want(10, "b"), want(5, "a")],
            &[have("1", 5, "a"), have("2", 10, "b")],
        );
        assert_eq!(plan, vec![Slot::Keep("2".into()), Slot::Keep("1".into())]);
    }

    #[test]
    fn an_insert_creates_one_step_and_keeps_the_others() {
        let plan = step_plan(
            &[want(5, "a"), want(7, "new"), want(10, "b")],
            &[have("1", 5, "a"), have("2", 10, "b")],
        );
        assert_eq!(
            plan,
            vec![Slot::Keep("1".into()), Slot::Create, Slot::Keep("2".into())]
        );
    }

    #[test]
    fn an_edit_updates_in_place_and_a_removal_reuses_nothing() {
        let plan = step_plan(&[want(15, "a")], &[have("1", 5, "a"), have("2", 10, "b")]);
        assert_eq!(plan, vec![Slot::Update("1".into())]);
    }
}
