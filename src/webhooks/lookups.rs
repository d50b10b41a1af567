//! GoAlert lookups for the validating webhook, cached for a short time (a GitOps sync of many
//! objects asks the same questions many times), and failing fast for a few seconds after GoAlert
//! failed, so an outage costs one timeout, not one per review.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use super::validate::{BoxFuture, Lookups, RefKind};
use goalert_client::{
    GoAlert,
    operations::{
        AdmissionEscalationPoliciesByName, AdmissionEscalationPolicyById, AdmissionPhoneNumberInfo,
        admission_escalation_policies_by_name, admission_escalation_policy_by_id,
        admission_phone_number_info,
    },
};

/// How long to skip GoAlert after it failed.
const BACKOFF: Duration = Duration::from_secs(5);

pub struct CachedGoAlert {
    goalert: GoAlert,
    ttl: Duration,
    answers: Mutex<HashMap<String, (Instant, Answer)>>,
    last_failure: Mutex<Option<(Instant, String)>>,
}

#[derive(Clone)]
enum Answer {
    Exists(bool),
    Count(usize),
    Problem(Option<String>),
}

impl CachedGoAlert {
    pub fn new(goalert: GoAlert, ttl: Duration) -> Self {
        Self {
            goalert,
            ttl,
            answers: Mutex::default(),
            last_failure: Mutex::default(),
        }
    }

    async fn cached<F>(&self, key: String, ask: F) -> Result<Answer, String>
    where
        F: Future<Output = Result<Answer, goalert_client::Error>>,
    {
        if let Some((at, answer)) = self.answers.lock().expect("not poisoned").get(&key)
            && at.elapsed() < self.ttl
        {
            return Ok(answer.clone());
        }
        if let Some((at, reason)) = &*self.last_failure.lock().expect("not poisoned")
            && at.elapsed() < BACKOFF
        {
            return Err(reason.clone());
        }
        match ask.await {
            Ok(answer) => {
                let mut answers = self.answers.lock().expect("not poisoned");
                if answers.len() > 10_000 {
                    answers.clear();
                }
                answers.insert(key, (Instant::now(), answer.clone()));
                Ok(answer)
            }
            Err(error) if error.is_transient() => {
                let reason = format!("GoAlert unreachable: {error}");
                *self.last_failure.lock().expect("not poisoned") = Some((Instant::now(), reason.clone()));
                Err(reason)
            }
            Err(error) => Err(error.to_string()),
        }
    }

    async fn policy_by_name(&self, name: &str) -> goalert_client::Result<bool> {
        let mut after = None;
        loop {
            let variables = admission_escalation_policies_by_name::Variables {
                search: name.to_owned(),
                after,
            };
            let page = self
                .goalert
                .run::<AdmissionEscalationPoliciesByName>(variables)
                .await?
                .escalation_policies;
            if page.nodes.iter().any(|p| p.name.eq_ignore_ascii_case(name)) {
                return Ok(true);
            }
            match page.page_info.end_cursor {
                Some(cursor) if page.page_info.has_next_page => after = Some(cursor),
                _ => return Ok(false),
            }
        }
    }
}

impl Lookups for CachedGoAlert {
    fn exists_by_name<'a>(&'a self, kind: RefKind, name: &'a str) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            let key = format!("name/{kind:?}/{}", name.to_lowercase());
            let answer = self
                .cached(key, async {
                    let found = match kind {
                        RefKind::Rotation => self.goalert.rotation_id_by_name(name).await?.is_some(),
                        RefKind::Schedule => self.goalert.schedule_id_by_name(name).await?.is_some(),
                        RefKind::EscalationPolicy => self.policy_by_name(name).await?,
                        // Users have no unique name in GoAlert; they are referred to by e-mail.
                        RefKind::User => false,
                    };
                    Ok(Answer::Exists(found))
                })
                .await?;
            Ok(matches!(answer, Answer::Exists(true)))
        })
    }

    fn exists_by_id<'a>(&'a self, kind: RefKind, id: &'a str) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            let key = format!("id/{kind:?}/{}", id.to_lowercase());
            let answer = self
                .cached(key, async {
                    let found = match kind {
                        RefKind::User => self.goalert.user(id).await?.is_some(),
                        RefKind::Rotation => self.goalert.rotation(id).await?.is_some(),
                        RefKind::Schedule => self.goalert.schedule(id).await?.is_some(),
                        RefKind::EscalationPolicy => self
                            .goalert
                            .run::<AdmissionEscalationPolicyById>(
                                admission_escalation_policy_by_id::Variables { id: id.to_owned() },
                            )
                            .await?
                            .escalation_policy
                            .is_some(),
                    };
                    Ok(Answer::Exists(found))
                })
                .await?;
            Ok(matches!(answer, Answer::Exists(true)))
        })
    }

    fn users_with_email<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<usize, String>> {
        Box::pin(async move {
            let key = format!("email/{}", email.to_lowercase());
            let answer = self
                .cached(key, async {
                    Ok(Answer::Count(self.goalert.user_ids_by_email(email).await?.len()))
                })
                .await?;
            Ok(match answer {
                Answer::Count(n) => n,
                _ => 0,
            })
        })
    }

    fn phone_number_problem<'a>(&'a self, number: &'a str) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let key = format!("phone/{number}");
            let answer = self
                .cached(key, async {
                    let info = self
                        .goalert
                        .run::<AdmissionPhoneNumberInfo>(admission_phone_number_info::Variables {
                            number: number.to_owned(),
                        })
                        .await?
                        .phone_number_info;
                    Ok(Answer::Problem(match info {
                        Some(info) if info.valid => None,
                        Some(info) if !info.error.is_empty() => Some(info.error),
                        _ => Some("not a valid phone number".into()),
                    }))
                })
                .await?;
            Ok(match answer {
                Answer::Problem(problem) => problem,
                _ => None,
            })
        })
    }
}
