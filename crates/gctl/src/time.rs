//! Reading times and durations from the command line, and showing them to people.

use jiff::{SignedDuration, Timestamp, tz::TimeZone};

use super::error::{Error, Result};

/// A length of time typed by a person: `90s`, `15m`, `2h`, `7d`, `1w`, or combinations like `1h30m`.
pub fn parse_duration(text: &str) -> Result<SignedDuration> {
    let invalid = || {
        Error::Usage(format!(
            "invalid duration {text:?}: use e.g. 30s, 15m, 2h, 7d, 1h30m"
        ))
    };
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(invalid()),
        };
        let amount: i64 = digits.parse().map_err(|_| invalid())?;
        total = amount
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(invalid)?;
        digits.clear();
    }
    if !digits.is_empty() || total == 0 {
        return Err(invalid());
    }
    Ok(SignedDuration::from_secs(total))
}

/// A moment typed by a person, relative to `now`: `now`, an RFC 3339 timestamp
/// (`2026-03-01T02:10:00Z`), a local date and time (`2026-03-01 02:10`), a time ago (`2h`,
/// `-2h`, `2h ago`) or a time ahead (`in 3h`, `+3h`).
pub fn parse_time(text: &str, now: Timestamp) -> Result<Timestamp> {
    let text = text.trim();
    if text == "now" {
        return Ok(now);
    }
    if let Ok(timestamp) = text.parse::<Timestamp>() {
        return Ok(timestamp);
    }
    let ahead = text
        .strip_prefix("in ")
        .map(str::trim)
        .or_else(|| text.strip_prefix('+'));
    if let Some(duration) = ahead.and_then(|t| parse_duration(t).ok()) {
        return Ok(now + duration);
    }
    let ago = text
        .strip_suffix("ago")
        .map(str::trim)
        .or_else(|| text.strip_prefix('-'));
    if let Some(duration) = ago.or(Some(text)).and_then(|t| parse_duration(t).ok()) {
        return Ok(now - duration);
    }
    let local = text.replace(' ', "T");
    local
        .parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|civil| civil.to_zoned_datetime(TimeZone::system()).ok())
        .map(|zoned| zoned.timestamp())
        .ok_or_else(|| {
            Error::Usage(format!(
                "invalid time {text:?}: use now, 2h ago, in 3h, 2026-03-01 02:10 (local) or 2026-03-01T02:10:00Z"
            ))
        })
}

/// A GoAlert timestamp (RFC 3339) as a [`Timestamp`]; GoAlert always sends valid ones.
pub fn parse_goalert(text: &str) -> Option<Timestamp> {
    text.parse().ok()
}

/// `2026-03-01 02:10:05` in the local time zone: what a person reads in a table.
pub fn local(timestamp: Timestamp) -> String {
    show(timestamp, false)
}

/// The zone tables show times in: the local one, or UTC with `--utc`.
pub fn zone(utc: bool) -> TimeZone {
    if utc { TimeZone::UTC } else { TimeZone::system() }
}

/// A time as a table shows it, in [`zone`].
pub fn show(timestamp: Timestamp, utc: bool) -> String {
    timestamp
        .to_zoned_datetime(zone(utc))
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A table column of times, naming its zone: `CREATED (UTC)`, `FROM (Europe/Berlin)`.
pub fn header(name: &str, utc: bool) -> String {
    let zone = zone(utc);
    let label = zone.iana_name().map(str::to_owned).unwrap_or_else(|| {
        Timestamp::now()
            .to_zoned_datetime(zone.clone())
            .strftime("%Z")
            .to_string()
    });
    let label = if label == "Etc/UTC" {
        "UTC".to_owned()
    } else {
        label
    };
    format!("{name} ({label})")
}

/// `in 3h05m` or `2h ago`, relative to `now`.
pub fn relative(timestamp: Timestamp, now: Timestamp) -> String {
    let duration = timestamp.duration_since(now);
    if duration.is_negative() {
        format!("{} ago", short(duration))
    } else {
        format!("in {}", short(duration))
    }
}

/// An inverted or empty window is a mistake worth saying, not an empty answer.
pub fn check_window(since: Timestamp, until: Timestamp) -> Result<()> {
    if since >= until {
        return Err(Error::Usage(format!(
            "the window is empty: --since {} is not before --until {}",
            local(since),
            local(until)
        )));
    }
    Ok(())
}

/// `3m`, `2h05m`, `4d03h`: a compact length of time for tables.
pub fn short(duration: SignedDuration) -> String {
    let secs = duration.as_secs().abs();
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m"),
        (0, _, _) => format!("{h}h{m:02}m"),
        _ => format!("{d}d{h:02}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("90s").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(parse_duration("7d").unwrap().as_secs(), 7 * 86_400);
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn times_can_be_absolute_or_relative() {
        let now: Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
        let two_hours_ago: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        assert_eq!(parse_time("now", now).unwrap(), now);
        assert_eq!(parse_time("2h ago", now).unwrap(), two_hours_ago);
        assert_eq!(parse_time("-2h", now).unwrap(), two_hours_ago);
        assert_eq!(parse_time("2h", now).unwrap(), two_hours_ago);
        assert_eq!(parse_time("2026-03-01T10:00:00Z", now).unwrap(), two_hours_ago);
        assert_eq!(
            parse_time("in 2h", now).unwrap(),
            "2026-03-01T14:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            parse_time("+2h", now).unwrap(),
            "2026-03-01T14:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert!(parse_time("yesterday-ish", now).is_err());
    }

    #[test]
    fn relative_times_point_both_ways_and_windows_must_not_be_inverted() {
        let now: Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
        assert_eq!(relative("2026-03-01T15:05:00Z".parse().unwrap(), now), "in 3h05m");
        assert_eq!(relative("2026-03-01T11:58:00Z".parse().unwrap(), now), "2m ago");
        assert!(check_window(now, now).is_err());
        assert!(check_window(now - SignedDuration::from_hours(1), now).is_ok());
        assert_eq!(header("TIME", true), "TIME (UTC)");
    }

    #[test]
    fn short_durations_stay_short() {
        assert_eq!(short(SignedDuration::from_secs(42)), "42s");
        assert_eq!(short(SignedDuration::from_secs(180)), "3m");
        assert_eq!(short(SignedDuration::from_secs(7500)), "2h05m");
        assert_eq!(short(SignedDuration::from_secs(3 * 86_400 + 3600)), "3d01h");
    }
}
