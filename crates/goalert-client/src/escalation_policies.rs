//! Escalation policies and their steps.

use super::{
    GoAlert, Result, created,
    model::{
        Destination, EscalationPolicy, EscalationPolicyUpdate, EscalationStep, NewEscalationPolicy,
        NewEscalationStep,
    },
    operations::*,
    paging::{Page, first_page, id_by_name, shrinking},
};

/// The fragment EscalationPolicyFields, as each operation that selects it generates it.
macro_rules! escalation_policy_from {
    ($($operation:ident),*) => {$(
        impl From<$operation::EscalationPolicyFields> for EscalationPolicy {
            fn from(p: $operation::EscalationPolicyFields) -> Self {
                EscalationPolicy {
                    id: p.id,
                    name: p.name,
                    description: p.description,
                    repeat: p.repeat,
                    steps: p
                        .steps
                        .into_iter()
                        .map(|s| {
                            let mut actions: Vec<_> = s
                                .actions
                                .into_iter()
                                .map(|a| Destination {
                                    dest_type: a.type_,
                                    args: a.args,
                                })
                                .collect();
                            actions.sort();
                            EscalationStep {
                                id: s.id,
                                delay_minutes: s.delay_minutes,
                                actions,
                            }
                        })
                        .collect(),
                }
            }
        }
    )*};
}

escalation_policy_from!(
    escalation_policy_by_id,
    all_escalation_policies,
    create_escalation_policy
);

/// A step as the input of `$operation`, which each operation that takes one generates.
macro_rules! step_input {
    ($operation:ident, $step:expr, $policy_id:expr) => {
        $operation::CreateEscalationPolicyStepInput {
            escalation_policy_id: $policy_id,
            delay_minutes: $step.delay_minutes,
            actions: Some(
                $step
                    .actions
                    .iter()
                    .map(|d| $operation::DestinationInput {
                        type_: d.dest_type.clone(),
                        args: Some(d.args.clone()),
                        values: None,
                    })
                    .collect(),
            ),
            targets: None,
            new_rotation: None,
            new_schedule: None,
        }
    };
}

impl GoAlert {
    pub async fn escalation_policy(&self, id: &str) -> Result<Option<EscalationPolicy>> {
        let data = self
            .run::<EscalationPolicyById>(escalation_policy_by_id::Variables { id: id.to_owned() })
            .await?;
        Ok(data.escalation_policy.map(EscalationPolicy::from))
    }

    /// Every escalation policy, a page at a time (sized in paging.rs).
    pub async fn all_escalation_policies(&self) -> Result<Vec<EscalationPolicy>> {
        shrinking(first_page::ESCALATION_POLICIES, |after, first| async move {
            let page = self
                .run::<AllEscalationPolicies>(all_escalation_policies::Variables { after, first })
                .await?
                .escalation_policies;
            Ok(Page {
                items: page.nodes.into_iter().map(EscalationPolicy::from).collect(),
                next: page.page_info.end_cursor.filter(|_| page.page_info.has_next_page),
            })
        })
        .await
    }

    pub async fn escalation_policy_id_by_name(&self, name: &str) -> Result<Option<String>> {
        id_by_name(name, |after| async move {
            let variables = escalation_policies_by_name::Variables {
                search: name.to_owned(),
                after,
            };
            let page = self
                .run::<EscalationPoliciesByName>(variables)
                .await?
                .escalation_policies;
            Ok(Page {
                items: page.nodes.into_iter().map(|n| (n.id, n.name)).collect(),
                next: page.page_info.end_cursor.filter(|_| page.page_info.has_next_page),
            })
        })
        .await
    }

    /// Creates a policy with its steps in one request (one transaction: if GoAlert refuses a
    /// step, nothing is made).
    pub async fn create_escalation_policy(&self, policy: &NewEscalationPolicy) -> Result<EscalationPolicy> {
        let steps = policy
            .steps
            .iter()
            // GoAlert sets the new policy's ID.
            .map(|step| step_input!(create_escalation_policy, step, None))
            .collect();
        let input = create_escalation_policy::CreateEscalationPolicyInput {
            name: policy.name.clone(),
            description: Some(policy.description.clone()),
            repeat: Some(policy.repeat),
            favorite: None,
            steps: Some(steps),
        };
        let data = self
            .run::<CreateEscalationPolicy>(create_escalation_policy::Variables { input })
            .await?;
        created("CreateEscalationPolicy", data.create_escalation_policy)
    }

    pub async fn update_escalation_policy(&self, id: &str, update: EscalationPolicyUpdate) -> Result<()> {
        let input = update_escalation_policy::UpdateEscalationPolicyInput {
            id: id.to_owned(),
            name: update.name,
            description: update.description,
            repeat: update.repeat,
            step_i_ds: update.step_ids,
        };
        self.run::<UpdateEscalationPolicy>(update_escalation_policy::Variables { input })
            .await
            .map(drop)
    }

    /// Appends a step to the policy; returns its ID.
    pub async fn create_escalation_step(&self, policy_id: &str, step: &NewEscalationStep) -> Result<String> {
        let input = step_input!(create_escalation_policy_step, step, Some(policy_id.to_owned()));
        let data = self
            .run::<CreateEscalationPolicyStep>(create_escalation_policy_step::Variables { input })
            .await?;
        Ok(data
            .create_escalation_policy_step
            .map(|s| s.id)
            .unwrap_or_default())
    }

    pub async fn update_escalation_step(&self, id: &str, step: &NewEscalationStep) -> Result<()> {
        let input = update_escalation_policy_step::UpdateEscalationPolicyStepInput {
            id: id.to_owned(),
            delay_minutes: Some(step.delay_minutes),
            actions: Some(
                step.actions
                    .iter()
                    .map(|d| update_escalation_policy_step::DestinationInput {
                        type_: d.dest_type.clone(),
                        args: Some(d.args.clone()),
                        values: None,
                    })
                    .collect(),
            ),
            targets: None,
        };
        self.run::<UpdateEscalationPolicyStep>(update_escalation_policy_step::Variables { input })
            .await
            .map(drop)
    }
}
