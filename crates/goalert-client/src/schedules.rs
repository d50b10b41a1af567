//! Schedules, their targets with time rules, and user overrides.

use super::{
    GoAlert, Result, created,
    model::{
        NewSchedule, OverrideWindow, Schedule, ScheduleRule, ScheduleTarget, ScheduleTargetKind,
        ScheduleUpdate, TargetRef, TargetType, UserOverride,
    },
    operations::*,
};

/// The fragment ScheduleFields, as each operation that selects it generates it.
macro_rules! schedule_from {
    ($($operation:ident),*) => {$(
        impl From<$operation::ScheduleFields> for Schedule {
            fn from(s: $operation::ScheduleFields) -> Self {
                Schedule {
                    id: s.id,
                    name: s.name,
                    description: s.description,
                    time_zone: s.time_zone,
                    targets: s
                        .targets
                        .into_iter()
                        .filter_map(|t| {
                            let kind = match t.target.type_ {
                                TargetType::Rotation => ScheduleTargetKind::Rotation,
                                TargetType::User => ScheduleTargetKind::User,
                                _ => return None,
                            };
                            Some(ScheduleTarget {
                                target: TargetRef {
                                    kind,
                                    id: t.target.id,
                                },
                                rules: t
                                    .rules
                                    .into_iter()
                                    .map(|r| ScheduleRule {
                                        start: r.start,
                                        end: r.end,
                                        weekdays: r.weekday_filter.try_into().unwrap_or([true; 7]),
                                    })
                                    .collect(),
                            })
                        })
                        .collect(),
                }
            }
        }
    )*};
}

schedule_from!(schedule_by_id, all_schedules, create_schedule);

impl GoAlert {
    pub async fn schedule(&self, id: &str) -> Result<Option<Schedule>> {
        let data = self
            .run::<ScheduleById>(schedule_by_id::Variables { id: id.to_owned() })
            .await?;
        Ok(data.schedule.map(Schedule::from))
    }

    /// Every schedule, a page at a time (sized in paging.rs).
    pub async fn all_schedules(&self) -> Result<Vec<Schedule>> {
        super::paging::shrinking(super::paging::first_page::SCHEDULES, |after, first| async move {
            let page = self
                .run::<AllSchedules>(all_schedules::Variables { after, first })
                .await?
                .schedules;
            Ok(super::paging::Page {
                items: page.nodes.into_iter().map(Schedule::from).collect(),
                next: page.page_info.end_cursor.filter(|_| page.page_info.has_next_page),
            })
        })
        .await
    }

    /// The schedule whose name equals `name`, ignoring case (GoAlert's uniqueness rule).
    pub async fn schedule_id_by_name(&self, name: &str) -> Result<Option<String>> {
        super::paging::id_by_name(name, |after| async move {
            let variables = schedules_by_name::Variables {
                search: name.to_owned(),
                after,
            };
            let page = self.run::<SchedulesByName>(variables).await?.schedules;
            Ok(super::paging::Page {
                items: page.nodes.into_iter().map(|n| (n.id, n.name)).collect(),
                next: page.page_info.end_cursor.filter(|_| page.page_info.has_next_page),
            })
        })
        .await
    }

    /// Creates a schedule with its targets, their rules and its overrides in one request (one
    /// transaction: if GoAlert refuses any part, nothing is made).
    pub async fn create_schedule(&self, schedule: &NewSchedule) -> Result<Schedule> {
        let targets = schedule
            .targets
            .iter()
            .map(|t| create_schedule::ScheduleTargetInput {
                schedule_id: None,
                target: Some(create_schedule::TargetInput {
                    id: t.target.id.clone(),
                    type_: target_type(t.target.kind),
                }),
                new_rotation: None,
                rules: t
                    .rules
                    .iter()
                    .map(|r| create_schedule::ScheduleRuleInput {
                        id: None,
                        start: Some(r.start.clone()),
                        end: Some(r.end.clone()),
                        weekday_filter: Some(r.weekdays.to_vec()),
                    })
                    .collect(),
            })
            .collect();
        let overrides = schedule
            .overrides
            .iter()
            .map(|window| create_schedule::CreateUserOverrideInput {
                // GoAlert sets the new schedule's ID.
                schedule_id: None,
                start: window.start.clone(),
                end: window.end.clone(),
                add_user_id: window.add_user_id.clone(),
                remove_user_id: window.remove_user_id.clone(),
            })
            .collect();
        let input = create_schedule::CreateScheduleInput {
            name: schedule.name.clone(),
            description: Some(schedule.description.clone()),
            time_zone: schedule.time_zone.clone(),
            favorite: None,
            targets: Some(targets),
            new_user_overrides: Some(overrides),
        };
        let data = self
            .run::<CreateSchedule>(create_schedule::Variables { input })
            .await?;
        created("CreateSchedule", data.create_schedule)
    }

    pub async fn update_schedule(&self, id: &str, update: ScheduleUpdate) -> Result<()> {
        let input = update_schedule::UpdateScheduleInput {
            id: id.to_owned(),
            name: update.name,
            description: update.description,
            time_zone: update.time_zone,
        };
        self.run::<UpdateSchedule>(update_schedule::Variables { input })
            .await
            .map(drop)
    }

    /// Replaces all rules of one target; no rules removes the target from the schedule.
    pub async fn set_schedule_target(
        &self,
        schedule_id: &str,
        target: &TargetRef,
        rules: &[ScheduleRule],
    ) -> Result<()> {
        let input = update_schedule_target::ScheduleTargetInput {
            schedule_id: Some(schedule_id.to_owned()),
            target: Some(update_schedule_target::TargetInput {
                id: target.id.clone(),
                type_: target_type(target.kind),
            }),
            new_rotation: None,
            rules: rules
                .iter()
                .map(|r| update_schedule_target::ScheduleRuleInput {
                    id: None,
                    start: Some(r.start.clone()),
                    end: Some(r.end.clone()),
                    weekday_filter: Some(r.weekdays.to_vec()),
                })
                .collect(),
        };
        self.run::<UpdateScheduleTarget>(update_schedule_target::Variables { input })
            .await
            .map(drop)
    }

    /// Overrides of the schedule that have not ended by `now` (RFC 3339).
    pub async fn user_overrides(&self, schedule_id: &str, now: &str) -> Result<Vec<UserOverride>> {
        let overrides = self.overrides(Some(schedule_id), now).await?;
        Ok(overrides.into_iter().map(|(_, o)| o).collect())
    }

    /// Every schedule's overrides that have not ended by `now`, each with its schedule's ID.
    pub async fn all_user_overrides(&self, now: &str) -> Result<Vec<(String, UserOverride)>> {
        self.overrides(None, now).await
    }

    async fn overrides(&self, schedule_id: Option<&str>, now: &str) -> Result<Vec<(String, UserOverride)>> {
        super::paging::all(|after| async move {
            let variables = user_overrides::Variables {
                schedule_id: schedule_id.map(str::to_owned),
                start: now.to_owned(),
                after,
            };
            let page = self.run::<UserOverrides>(variables).await?.user_overrides;
            Ok(super::paging::Page {
                items: page
                    .nodes
                    .into_iter()
                    .map(|o| {
                        let window = OverrideWindow {
                            add_user_id: Some(o.add_user_id).filter(|id| !id.is_empty()),
                            remove_user_id: Some(o.remove_user_id).filter(|id| !id.is_empty()),
                            start: o.start,
                            end: o.end,
                        };
                        (o.target.id, UserOverride { id: o.id, window })
                    })
                    .collect(),
                next: page.page_info.end_cursor.filter(|_| page.page_info.has_next_page),
            })
        })
        .await
    }

    pub async fn create_user_override(&self, schedule_id: &str, window: &OverrideWindow) -> Result<String> {
        let input = create_user_override::CreateUserOverrideInput {
            schedule_id: Some(schedule_id.to_owned()),
            start: window.start.clone(),
            end: window.end.clone(),
            add_user_id: window.add_user_id.clone(),
            remove_user_id: window.remove_user_id.clone(),
        };
        let data = self
            .run::<CreateUserOverride>(create_user_override::Variables { input })
            .await?;
        Ok(data.create_user_override.map(|o| o.id).unwrap_or_default())
    }
}

fn target_type(kind: ScheduleTargetKind) -> TargetType {
    match kind {
        ScheduleTargetKind::Rotation => TargetType::Rotation,
        ScheduleTargetKind::User => TargetType::User,
    }
}
