//! GoAlertRotation → a GoAlert rotation.

use kube::ResourceExt;

use super::{
    Context,
    error::{Error, Result},
    field_diff::FieldDiff,
    reconcile::{Changes, Provisioned},
    references::{Referrer, user_id},
};
use crate::{
    api::{
        GoAlertRotation,
        common::goalert_name,
        rotation::{DEFAULT_SHIFT_LENGTH, RotationType as SpecType},
    },
    timezone::{self, same_instant, same_time_zone},
};
use goalert_client::model::{RotationFields, RotationType, RotationUpdate};

/// GoAlert's field names in its errors, and the spec fields they come from.
const FIELDS: &[(&str, &str)] = &[
    ("name", "spec.rotationName"),
    ("description", "spec.description"),
    ("timeZone", "spec.timeZone"),
    ("shiftLength", "spec.shiftLength"),
    ("start", "spec.start"),
    ("userIDs", "spec.participants"),
];

impl Provisioned for GoAlertRotation {
    type Desired = RotationFields;
    type Fields = ();
    type Observed = RotationFields;

    async fn desired(&self, ctx: &Context) -> Result<RotationFields> {
        let spec = &self.spec;
        if let Some(message) = timezone::problem(&spec.time_zone) {
            return Err(Error::InvalidSpec {
                field: "spec.timeZone".into(),
                message,
            });
        }
        let referrer = Referrer::of(self);
        let mut user_ids = Vec::with_capacity(spec.participants.len());
        for (index, participant) in spec.participants.iter().enumerate() {
            user_ids.push(
                user_id(
                    ctx,
                    &referrer,
                    participant,
                    &format!("spec.participants[{index}]"),
                )
                .await?,
            );
        }
        Ok(RotationFields {
            name: goalert_name(spec.rotation_name.as_deref().unwrap_or(&self.name_any())),
            description: spec.description.clone().unwrap_or_default(),
            time_zone: spec.time_zone.clone(),
            rotation_type: match spec.rotation_type {
                SpecType::Hourly => RotationType::Hourly,
                SpecType::Daily => RotationType::Daily,
                SpecType::Weekly => RotationType::Weekly,
                SpecType::Monthly => RotationType::Monthly,
            },
            shift_length: i64::from(spec.shift_length.unwrap_or(DEFAULT_SHIFT_LENGTH)),
            start: spec.start.clone(),
            user_ids,
        })
    }

    fn unique_key(desired: &RotationFields) -> &str {
        &desired.name
    }

    async fn find(ctx: &Context, name: &str) -> Result<Option<String>> {
        Ok(ctx.goalert.rotation_id_by_name(name).await?)
    }

    async fn observe(ctx: &Context, id: &str) -> Result<Option<RotationFields>> {
        Ok(ctx.goalert.rotation(id).await?.map(|r| r.fields))
    }

    async fn list(ctx: &Context) -> Result<Vec<(String, RotationFields)>> {
        let rotations = ctx.goalert.all_rotations().await?;
        Ok(rotations.into_iter().map(|r| (r.id, r.fields)).collect())
    }

    fn key_of(observed: &RotationFields) -> &str {
        &observed.name
    }

    async fn create(&self, ctx: &Context, desired: &RotationFields) -> Result<(String, RotationFields)> {
        ctx.goalert
            .create_rotation(desired)
            .await
            .map(|rotation| (rotation.id, rotation.fields))
            .map_err(|e| Error::from_goalert(e, FIELDS))
    }

    async fn converge(
        &self,
        ctx: &Context,
        id: &str,
        desired: &RotationFields,
        observed: &RotationFields,
        changes: &mut Changes,
    ) -> Result<()> {
        let (update, changed) = differences(desired, observed);
        if !changed.is_empty() {
            let request = ctx.goalert.update_rotation(id, update);
            changes
                .send(&changed, async {
                    request.await.map_err(|e| Error::from_goalert(e, FIELDS))
                })
                .await?;
        }
        Ok(())
    }
}

/// The update that makes `observed` match `desired`, and the spec fields it changes. Values
/// GoAlert normalises (time zone aliases, the offset a start is written in) count as equal.
fn differences(desired: &RotationFields, observed: &RotationFields) -> (RotationUpdate, Vec<String>) {
    let mut diff = FieldDiff::default();
    let update = RotationUpdate {
        name: diff.set("spec.rotationName", &desired.name, &observed.name),
        description: diff.set("spec.description", &desired.description, &observed.description),
        time_zone: diff.set_if(
            "spec.timeZone",
            !same_time_zone(&desired.time_zone, &observed.time_zone),
            &desired.time_zone,
        ),
        rotation_type: diff.set("spec.type", &desired.rotation_type, &observed.rotation_type),
        shift_length: diff.set("spec.shiftLength", &desired.shift_length, &observed.shift_length),
        start: diff.set_if(
            "spec.start",
            !same_instant(&desired.start, &observed.start),
            &desired.start,
        ),
        user_ids: diff.set("spec.participants", &desired.user_ids, &observed.user_ids),
    };
    (update, diff.changed())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rotation() -> RotationFields {
        RotationFields {
            name: "Primary".into(),
            description: String::new(),
            time_zone: "UTC".into(),
            rotation_type: RotationType::Weekly,
            shift_length: 1,
            start: "2026-01-05T09:00:00+01:00".into(),
            user_ids: vec!["a".into(), "b".into()],
        }
    }

    #[test]
    fn goalerts_normalised_form_is_in_sync() {
        let observed = RotationFields {
            time_zone: "Etc/UTC".into(),
            start: "2026-01-05T08:00:00Z".into(),
            ..rotation()
        };
        let (update, changed) = differences(&rotation(), &observed);
        assert!(changed.is_empty(), "{changed:?}");
        assert_eq!(update, RotationUpdate::default());
    }

    #[test]
    fn reordered_participants_update_only_the_list() {
        let observed = RotationFields {
            user_ids: vec!["b".into(), "a".into()],
            ..rotation()
        };
        let (update, changed) = differences(&rotation(), &observed);
        assert_eq!(changed, ["spec.participants"]);
        assert_eq!(
            update,
            RotationUpdate {
                user_ids: Some(vec!["a".into(), "b".into()]),
                ..Default::default()
            }
        );
    }

    #[test]
    fn every_field_class_is_compared() {
        let observed = RotationFields {
            name: "Old".into(),
            description: "old".into(),
            time_zone: "Europe/Amsterdam".into(),
            rotation_type: RotationType::Daily,
            shift_length: 2,
            start: "2025-01-01T00:00:00Z".into(),
            user_ids: vec![],
        };
        let (_, changed) = differences(&rotation(), &observed);
        assert_eq!(changed.len(), 7, "{changed:?}");
    }
}
