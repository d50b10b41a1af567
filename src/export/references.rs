//! How exported objects refer to each other: by the name of the exported custom resource, or by
//! GoAlert ID or name for what was not exported.

use std::collections::HashMap;

use crate::api::{ObjectRef, UserRef};

/// How exported objects refer to each other, by GoAlert ID.
#[derive(Default)]
pub(super) struct References {
    pub(super) users: HashMap<String, UserRef>,
    pub(super) rotations: HashMap<String, String>,
    pub(super) schedules: HashMap<String, String>,
    pub(super) policies: HashMap<String, ObjectRef>,
}

impl References {
    /// A user that was not exported is referred to by ID, so the reference stays exact.
    pub(super) fn user(&self, id: &str) -> UserRef {
        self.users.get(id).cloned().unwrap_or_else(|| UserRef {
            name: None,
            email: None,
            goalert_id: Some(id.to_owned()),
        })
    }

    pub(super) fn rotation(&self, id: &str) -> ObjectRef {
        by_name_or_id(self.rotations.get(id), id)
    }

    pub(super) fn schedule(&self, id: &str) -> ObjectRef {
        by_name_or_id(self.schedules.get(id), id)
    }

    pub(super) fn policy(&self, id: &str) -> ObjectRef {
        self.policies
            .get(id)
            .cloned()
            .unwrap_or_else(|| by_name_or_id(None, id))
    }
}

/// What targets are sorted by: the name a reference uses. GoAlert lists them by ID, which differs
/// between GoAlerts; names do not.
pub(super) fn sort_key(object: Option<&ObjectRef>, user: Option<&UserRef>) -> String {
    let object = object.and_then(|r| {
        r.name
            .as_ref()
            .or(r.goalert_name.as_ref())
            .or(r.goalert_id.as_ref())
    });
    let user = user.and_then(|r| r.name.as_ref().or(r.email.as_ref()).or(r.goalert_id.as_ref()));
    object.or(user).cloned().unwrap_or_default()
}

/// A reference to the exported custom resource, or (for an object that vanished while the export
/// ran) to the GoAlert ID.
pub(super) fn by_name_or_id(name: Option<&String>, id: &str) -> ObjectRef {
    ObjectRef {
        name: name.cloned(),
        goalert_name: None,
        goalert_id: name.is_none().then(|| id.to_owned()),
    }
}
