//! What a review found, and how it becomes an AdmissionResponse: a denial is a `Status` with
//! code 422, reason Invalid and one cause per field, with the field paths in the message too.

use kube::core::{
    admission::AdmissionResponse,
    response::{Status, StatusCause, StatusDetails},
};

/// Kubernetes' cause reasons (metav1.CauseType).
pub const INVALID: &str = "FieldValueInvalid";
pub const NOT_FOUND: &str = "FieldValueNotFound";
pub const DUPLICATE: &str = "FieldValueDuplicate";
pub const FORBIDDEN: &str = "FieldValueForbidden";

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path as kubectl shows it, for example `spec.participants[0].email`.
    pub field: String,
    pub reason: &'static str,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Everything one review found: errors deny the request, warnings are shown to the user
/// (kubectl prints them as `Warning: ...`).
#[derive(Debug, Default)]
pub struct Findings {
    pub errors: Vec<FieldError>,
    pub warnings: Vec<String>,
}

impl Findings {
    pub fn error(&mut self, field: impl Into<String>, reason: &'static str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            reason,
            message: message.into(),
        });
    }

    pub fn invalid(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.error(field, INVALID, message);
    }

    pub fn warn(&mut self, message: impl Into<String>) {
        self.warnings.push(message.into());
    }

    /// The fields with errors, in order: what unit tests compare.
    pub fn fields(&self) -> Vec<&str> {
        self.errors.iter().map(|e| e.field.as_str()).collect()
    }

    /// The message a user reads: every error with its field, separated by `; `.
    pub fn message(&self) -> String {
        self.errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Applies the findings to a response built from the request.
    pub fn respond(self, response: AdmissionResponse, kind: &str, name: &str) -> AdmissionResponse {
        let mut response = response;
        if !self.warnings.is_empty() {
            response.warnings = Some(self.warnings.clone());
        }
        if self.errors.is_empty() {
            return response;
        }
        let message = format!("{kind} {name:?} is invalid: {}", self.message());
        let causes = self
            .errors
            .iter()
            .map(|e| StatusCause {
                reason: e.reason.to_owned(),
                message: e.message.clone(),
                field: e.field.clone(),
            })
            .collect();
        let mut response = response.deny(&message);
        response.result = Status::failure(&message, "Invalid")
            .with_code(422)
            .with_details(StatusDetails {
                name: name.to_owned(),
                group: crate::api::GROUP.to_owned(),
                kind: kind.to_owned(),
                uid: String::new(),
                causes,
                retry_after_seconds: 0,
            });
        response
    }
}

/// `base[index]`, the way Kubernetes writes list paths.
pub fn at(base: &str, index: usize) -> String {
    format!("{base}[{index}]")
}
