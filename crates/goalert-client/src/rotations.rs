//! Rotations.

use super::{
    GoAlert, Result, created,
    model::{Rotation, RotationFields, RotationUpdate},
    operations::*,
};

/// The fragment RotationFields, as each operation that selects it generates it.
macro_rules! rotation_from {
    ($($operation:ident),*) => {$(
        impl From<$operation::RotationFields> for Rotation {
            fn from(r: $operation::RotationFields) -> Self {
                Rotation {
                    id: r.id,
                    fields: RotationFields {
                        name: r.name,
                        description: r.description,
                        time_zone: r.time_zone,
                        rotation_type: r.type_,
                        shift_length: r.shift_length,
                        start: r.start,
                        user_ids: r.user_i_ds,
                    },
                }
            }
        }
    )*};
}

rotation_from!(rotation_by_id, all_rotations, create_rotation);

impl GoAlert {
    pub async fn rotation(&self, id: &str) -> Result<Option<Rotation>> {
        let data = self
            .run::<RotationById>(rotation_by_id::Variables { id: id.to_owned() })
            .await?;
        Ok(data.rotation.map(Rotation::from))
    }

    /// Every rotation, a page at a time (sized in paging.rs).
    pub async fn all_rotations(&self) -> Result<Vec<Rotation>> {
        super::paging::shrinking(super::paging::first_page::ROTATIONS, |after, first| async move {
            let page = self
                .run::<AllRotations>(all_rotations::Variables { after, first })
                .await?
                .rotations;
            Ok(super::paging::Page {
                items: page.nodes.into_iter().map(Rotation::from).collect(),
                next: page.page_info.end_cursor.filter(|_| page.page_info.has_next_page),
            })
        })
        .await
    }

    /// The rotation whose name equals `name`, ignoring case (GoAlert's uniqueness rule).
    pub async fn rotation_id_by_name(&self, name: &str) -> Result<Option<String>> {
        super::paging::id_by_name(name, |after| async move {
            let variables = rotations_by_name::Variables {
                search: name.to_owned(),
                after,
            };
            let page = self.run::<RotationsByName>(variables).await?.rotations;
            Ok(super::paging::Page {
                items: page.nodes.into_iter().map(|n| (n.id, n.name)).collect(),
                next: page.page_info.end_cursor.filter(|_| page.page_info.has_next_page),
            })
        })
        .await
    }

    pub async fn create_rotation(&self, fields: &RotationFields) -> Result<Rotation> {
        let input = create_rotation::CreateRotationInput {
            name: fields.name.clone(),
            description: Some(fields.description.clone()),
            time_zone: fields.time_zone.clone(),
            start: fields.start.clone(),
            type_: fields.rotation_type,
            shift_length: Some(fields.shift_length),
            user_i_ds: Some(fields.user_ids.clone()),
            favorite: None,
        };
        let data = self
            .run::<CreateRotation>(create_rotation::Variables { input })
            .await?;
        created("CreateRotation", data.create_rotation)
    }

    pub async fn update_rotation(&self, id: &str, update: RotationUpdate) -> Result<()> {
        let input = update_rotation::UpdateRotationInput {
            id: id.to_owned(),
            name: update.name,
            description: update.description,
            time_zone: update.time_zone,
            start: update.start,
            type_: update.rotation_type,
            shift_length: update.shift_length,
            user_i_ds: update.user_ids,
            active_user_index: None,
        };
        self.run::<UpdateRotation>(update_rotation::Variables { input })
            .await
            .map(drop)
    }
}
