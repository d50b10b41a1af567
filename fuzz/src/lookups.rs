//! GoAlert as the fuzzers see it: it answers every question the same fixed way.

use goalert_provisioning::webhooks::validate::{BoxFuture, Lookups, RefKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answers {
    /// Nothing exists; every phone number is refused.
    Unknown,
    /// GoAlert cannot be reached.
    Unavailable,
    /// Everything exists, exactly once; every phone number is accepted.
    Found,
    /// Several users share every e-mail.
    Several,
}

impl Answers {
    pub const ALL: [Self; 4] = [Self::Unknown, Self::Unavailable, Self::Found, Self::Several];
}

const UNAVAILABLE: &str = "GoAlert unavailable (fuzzing)";

fn ready<'a, T: Send + 'a>(value: Result<T, String>) -> BoxFuture<'a, Result<T, String>> {
    Box::pin(std::future::ready(value))
}

impl Lookups for Answers {
    fn exists_by_name<'a>(&'a self, _: RefKind, _: &'a str) -> BoxFuture<'a, Result<bool, String>> {
        ready(match self {
            Self::Unknown => Ok(false),
            Self::Unavailable => Err(UNAVAILABLE.into()),
            Self::Found | Self::Several => Ok(true),
        })
    }

    fn exists_by_id<'a>(&'a self, kind: RefKind, id: &'a str) -> BoxFuture<'a, Result<bool, String>> {
        self.exists_by_name(kind, id)
    }

    fn users_with_email<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<usize, String>> {
        ready(match self {
            Self::Unknown => Ok(0),
            Self::Unavailable => Err(UNAVAILABLE.into()),
            Self::Found => Ok(1),
            Self::Several => Ok(2),
        })
    }

    fn phone_number_problem<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<String>, String>> {
        ready(match self {
            Self::Unknown => Ok(Some("not a valid phone number".into())),
            Self::Unavailable => Err(UNAVAILABLE.into()),
            Self::Found | Self::Several => Ok(None),
        })
    }
}
