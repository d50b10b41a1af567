//! The one way a converge compares a GoAlert object's own fields with the spec: a field that
//! differs goes into the update and names its spec field (for `status.pendingChanges`, Events and
//! the drift metric); one that matches stays out of the update, so GoAlert is sent nothing.

/// The spec fields an update changes, gathered while the update is built.
#[derive(Debug, Default)]
pub struct FieldDiff {
    changed: Vec<String>,
}

impl FieldDiff {
    /// `desired`, when it differs from `observed`.
    pub fn set<T: PartialEq + Clone>(&mut self, spec_field: &str, desired: &T, observed: &T) -> Option<T> {
        self.set_if(spec_field, desired != observed, desired)
    }

    /// `desired`, when `differs`: for values GoAlert normalises (time-zone aliases, the offset an
    /// instant is written in, the case of an e-mail), compared by their own rule.
    pub fn set_if<T: Clone>(&mut self, spec_field: &str, differs: bool, desired: &T) -> Option<T> {
        differs.then(|| {
            self.changed.push(spec_field.to_owned());
            desired.clone()
        })
    }

    /// The spec fields that differ, in the order they were compared.
    pub fn changed(self) -> Vec<String> {
        self.changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_differing_fields_are_set_and_named() {
        let mut diff = FieldDiff::default();
        assert_eq!(diff.set("spec.name", &"a".to_owned(), &"a".to_owned()), None);
        assert_eq!(diff.set("spec.repeat", &3, &1), Some(3));
        assert_eq!(diff.set_if("spec.timeZone", false, &"UTC"), None);
        assert_eq!(diff.set_if("spec.email", true, &"A@x.org"), Some("A@x.org"));
        assert_eq!(diff.changed(), ["spec.repeat", "spec.email"]);
    }
}
