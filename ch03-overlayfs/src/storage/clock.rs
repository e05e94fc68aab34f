//! Timestamps as image configurations and records write them (RFC 3339, UTC,
//! to the nanosecond as Docker writes them), and the "2 minutes ago" that
//! `docker images` and `docker ps` show.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, as `2024-05-01T12:34:56.123456789Z`.
pub fn now_rfc3339() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format_rfc3339(d.as_secs() as i64, d.subsec_nanos())
}

/// Seconds (and nanoseconds) since 1970 as an RFC 3339 UTC string.
pub fn format_rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let frac = if nanos == 0 {
        String::new()
    } else {
        format!(".{nanos:09}")
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{frac}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses the date and time of an RFC 3339 string into seconds since 1970
/// (fractions and a `Z` or `+00:00` zone; other offsets are applied).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se;
    let rest = &s[19..];
    let rest = rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    if let Some(off) = rest
        .strip_prefix('+')
        .map(|o| (1, o))
        .or(rest.strip_prefix('-').map(|o| (-1, o)))
    {
        let (sign, o) = off;
        let oh: i64 = o.get(0..2)?.parse().ok()?;
        let om: i64 = o.get(3..5)?.parse().ok()?;
        secs -= sign * (oh * 3600 + om * 60);
    }
    Some(secs)
}

/// "About a minute ago", "3 days ago": Docker's wording for an age.
pub fn ago(created: &str) -> String {
    let Some(then) = parse_rfc3339(created) else {
        return "N/A".to_string();
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    let s = (now - then).max(0);
    let unit = |n: i64, one: &str, many: &str| {
        if n == 1 {
            format!("{one} ago")
        } else {
            format!("{n} {many} ago")
        }
    };
    match s {
        0 => "Less than a second ago".to_string(),
        1..60 => unit(s, "1 second", "seconds"),
        60..120 => "About a minute ago".to_string(),
        120..3600 => unit(s / 60, "1 minute", "minutes"),
        3600..7200 => "About an hour ago".to_string(),
        7200..172_800 => unit(s / 3600, "1 hour", "hours"),
        172_800..1_209_600 => unit(s / 86_400, "1 day", "days"),
        1_209_600..5_184_000 => unit(s / 604_800, "1 week", "weeks"),
        5_184_000..63_072_000 => unit(s / 2_592_000, "1 month", "months"),
        _ => unit(s / 31_536_000, "1 year", "years"),
    }
}

// Howard Hinnant's algorithms for the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(format_rfc3339(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339(1_700_000_000, 5),
            "2023-11-14T22:13:20.000000005Z"
        );
        assert_eq!(
            parse_rfc3339("2023-11-14T22:13:20.000000005Z"),
            Some(1_700_000_000)
        );
        assert_eq!(
            parse_rfc3339("2023-11-14T23:13:20+01:00"),
            Some(1_700_000_000)
        );
        assert!(parse_rfc3339(&now_rfc3339()).is_some());
        assert_eq!(ago("garbage"), "N/A");
    }
}
