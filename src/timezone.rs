//! Time zones and timestamps as GoAlert treats them, shared by the controllers (comparing) and
//! the webhooks (validating).
//!
//! Comparing values the way GoAlert stores them. GoAlert rewrites time zone aliases to canonical
//! names (UTC → Etc/UTC) and timestamps into the rotation's zone; comparing the raw strings would
//! see drift forever.

use jiff::{Timestamp, tz::TimeZone};

/// Whether two IANA names denote the same rules: equal offsets at every month from 1970 to 2040
/// (aliases share the same data in the time zone database, so this holds exactly for them).
pub fn same_time_zone(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (Ok(a), Ok(b)) = (TimeZone::get(a), TimeZone::get(b)) else {
        return false;
    };
    const MONTH: i64 = 2_629_746;
    (0..70 * 12).all(|month| {
        let at = Timestamp::from_second(month * MONTH).expect("within jiff's range");
        a.to_offset(at) == b.to_offset(at)
    })
}

/// Whether two RFC 3339 timestamps are the same instant, whatever offset each is written in.
/// Fractions of a second do not count: GoAlert stores fewer digits than a spec may carry, and
/// on-call windows are never that precise.
pub fn same_instant(a: &str, b: &str) -> bool {
    match (a.parse::<Timestamp>(), b.parse::<Timestamp>()) {
        (Ok(a), Ok(b)) => a.as_second() == b.as_second(),
        _ => a == b,
    }
}

/// Whether a name is in the time zone database.
pub fn is_known(name: &str) -> bool {
    TimeZone::get(name).is_ok()
}

/// Why GoAlert would refuse `name` as a time zone, if it would: the one message the webhook and
/// the controllers give.
pub fn problem(name: &str) -> Option<String> {
    (!is_known(name)).then(|| {
        format!(
            "{name:?} is not an IANA time zone name (for example Europe/Amsterdam, America/New_York, Etc/UTC)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_of_a_second_are_the_same_instant() {
        assert!(same_instant(
            "2026-11-26T16:59:52.123456789Z",
            "2026-11-26T17:59:52.123457+01:00"
        ));
        assert!(!same_instant("2026-11-26T16:59:52Z", "2026-11-26T16:59:53Z"));
    }

    #[test]
    fn aliases_are_the_same_zone() {
        assert!(same_time_zone("UTC", "Etc/UTC"));
        assert!(same_time_zone("US/Central", "America/Chicago"));
        assert!(!same_time_zone("Europe/Amsterdam", "Europe/London"));
        assert!(!same_time_zone("Not/AZone", "Etc/UTC"));
    }

    #[test]
    fn instants_ignore_the_offset_they_are_written_in() {
        assert!(same_instant("2026-01-05T09:00:00+01:00", "2026-01-05T08:00:00Z"));
        assert!(!same_instant("2026-01-05T09:00:00Z", "2026-01-05T08:00:00Z"));
    }

    #[test]
    fn known_zones() {
        assert!(is_known("Asia/Tokyo"));
        assert!(!is_known("Mars/Olympus"));
    }
}
