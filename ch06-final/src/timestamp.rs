//! Times as the logs write and read them: RFC 3339 in UTC with nanoseconds
//! (`2025-01-01T12:00:00.000000000Z`), and the forms `logs --since` and
//! `--until` accept, as Docker's: an RFC 3339 time, a Unix timestamp, or a
//! duration before now (`10m`, `1h30m`).
//!
//! The conversion between a day count and a calendar date is the
//! "days from civil" arithmetic of the proleptic Gregorian calendar: years
//! are counted from March, so that the leap day is the last day of a year
//! and every month but February has a fixed place in it.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Result, bail};

const NANOS_PER_SEC: i128 = 1_000_000_000;
const SECS_PER_DAY: i128 = 86_400;

/// A moment, in nanoseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(i128);

impl Timestamp {
    /// Now, by the system's clock.
    pub fn now() -> Timestamp {
        Timestamp::from(SystemTime::now())
    }

    /// `secs` seconds and `nanos` nanoseconds after the epoch.
    pub fn from_unix(secs: i64, nanos: u32) -> Timestamp {
        Timestamp(i128::from(secs) * NANOS_PER_SEC + i128::from(nanos))
    }

    /// `duration` before this moment.
    pub fn before(self, duration: Duration) -> Timestamp {
        Timestamp(self.0 - duration.as_nanos() as i128)
    }

    // ANCHOR: parse_user
    /// What `--since` and `--until` accept, as Docker reads them: first a
    /// duration before `now` (`90s`, `10m`, `1h30m`), then an RFC 3339
    /// time (a time without a zone is UTC here: see the book), then a
    /// Unix timestamp with optional fraction (`1735732800.5`).
    pub fn parse_user(text: &str, now: Timestamp) -> Result<Timestamp> {
        if let Some(duration) = parse_duration(text) {
            return Ok(now.before(duration));
        }
        if text.contains(['-', ':']) {
            if let Some(time) = Timestamp::parse_rfc3339(text) {
                return Ok(time);
            }
        } else if let Some(time) = parse_unix(text) {
            return Ok(time);
        }
        bail!("failed to parse value as time or duration: {text:?}")
    }
    // ANCHOR_END: parse_user

    /// Parses `YYYY-MM-DD`, optionally followed by `THH:MM[:SS[.fraction]]`
    /// and a zone (`Z` or `±HH:MM`); without a zone, UTC.
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        let (date, rest) = text.split_at_checked(10)?;
        let mut parts = date.split('-');
        let year: i64 = number(parts.next()?, 4)?;
        let month: u32 = number(parts.next()?, 2)?;
        let day: u32 = number(parts.next()?, 2)?;
        if !(1..=12).contains(&month) || !(1..=days_in_month(year, month)).contains(&day) {
            return None;
        }
        let (clock, zone) = match rest.strip_prefix(['T', 't', ' ']) {
            Some(rest) => {
                let end = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
                rest.split_at(end)
            }
            None => ("", rest),
        };
        let mut nanos = 0i128;
        let mut seconds = 0i128;
        if !clock.is_empty() {
            let (hms, fraction) = match clock.split_once('.') {
                Some((hms, fraction)) => (hms, Some(fraction)),
                None => (clock, None),
            };
            let mut fields = hms.split(':');
            let hour: i128 = number(fields.next()?, 2)?;
            let minute: i128 = number(fields.next()?, 2)?;
            let second: i128 = match fields.next() {
                Some(s) => number(s, 2)?,
                None => 0,
            };
            if fields.next().is_some() || hour > 23 || minute > 59 || second > 60 {
                return None;
            }
            if let Some(fraction) = fraction {
                nanos = fraction_nanos(fraction)?;
            }
            seconds = hour * 3600 + minute * 60 + second;
        }
        let offset = match zone {
            "" | "Z" | "z" => 0,
            zone => {
                let sign = if zone.starts_with('-') { -1 } else { 1 };
                let (h, m) = zone[1..].split_once(':')?;
                sign * (number::<i128>(h, 2)? * 3600 + number::<i128>(m, 2)? * 60)
            }
        };
        let days = days_from_civil(year, month, day);
        let secs = i128::from(days) * SECS_PER_DAY + seconds - offset;
        Some(Timestamp(secs * NANOS_PER_SEC + nanos))
    }

    // ANCHOR: format
    /// RFC 3339 in UTC with all nine digits of nanoseconds, as `docker logs
    /// -t` prints it (and as the log file stores it).
    pub fn rfc3339_nano(self) -> String {
        let secs = self.0.div_euclid(NANOS_PER_SEC);
        let nanos = self.0.rem_euclid(NANOS_PER_SEC);
        let days = secs.div_euclid(SECS_PER_DAY) as i64;
        let of_day = secs.rem_euclid(SECS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
            of_day / 3600,
            of_day / 60 % 60,
            of_day % 60
        )
    }
    // ANCHOR_END: format
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Timestamp {
        match time.duration_since(UNIX_EPOCH) {
            Ok(after) => Timestamp(after.as_nanos() as i128),
            Err(before) => Timestamp(-(before.duration().as_nanos() as i128)),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339_nano())
    }
}

/// A field of exactly `width` ASCII digits.
fn number<T: std::str::FromStr>(text: &str, width: usize) -> Option<T> {
    (text.len() == width && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// `.5` is 500 ms: the digits after the point, as nanoseconds (at most 9).
fn fraction_nanos(digits: &str) -> Option<i128> {
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: i128 = digits.parse().ok()?;
    Some(value * 10i128.pow(9 - digits.len() as u32))
}

/// `SECONDS[.FRACTION]` since the epoch.
fn parse_unix(text: &str) -> Option<Timestamp> {
    let (secs, fraction) = match text.split_once('.') {
        Some((secs, fraction)) => (secs, fraction_nanos(fraction)?),
        None => (text, 0),
    };
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i128 = secs.parse().ok()?;
    Some(Timestamp(secs * NANOS_PER_SEC + fraction))
}

// ANCHOR: duration
/// A duration as Go writes one: numbers with units, `300ms`, `1.5h`,
/// `1h30m`, `2h45m10s` (units `ns`, `us`, `µs`, `ms`, `s`, `m`, `h`);
/// `0` alone is a duration too. Returns `None` for anything else.
pub fn parse_duration(text: &str) -> Option<Duration> {
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text;
    let mut nanos = 0f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (value, tail) = rest.split_at(digits);
        let value: f64 = value.parse().ok()?;
        let unit = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit);
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        nanos += value * scale;
        rest = tail;
    }
    (!text.is_empty()).then(|| Duration::from_nanos(nanos as u64))
}
// ANCHOR_END: duration

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Years start in March: January and February belong to the year before.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day counted from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_nine_digits_in_utc() {
        assert_eq!(
            Timestamp::from_unix(0, 0).to_string(),
            "1970-01-01T00:00:00.000000000Z"
        );
        assert_eq!(
            Timestamp::from_unix(1_735_732_800, 5).to_string(),
            "2025-01-01T12:00:00.000000005Z"
        );
        // A leap day, and the last nanosecond of a century's last day.
        assert_eq!(
            Timestamp::from_unix(951_782_400, 0).to_string(),
            "2000-02-29T00:00:00.000000000Z"
        );
        assert_eq!(
            Timestamp::from_unix(4_102_444_799, 999_999_999).to_string(),
            "2099-12-31T23:59:59.999999999Z"
        );
    }

    #[test]
    fn every_day_reads_back() {
        // 1900 to 2100: non-leap centuries, leap years and month ends.
        for day in -25_567..47_482 {
            let t = Timestamp::from_unix(day * 86_400 + 3_723, 42);
            assert_eq!(Timestamp::parse_rfc3339(&t.to_string()), Some(t), "{t}");
        }
    }

    #[test]
    fn reads_rfc3339_with_and_without_zone_and_fraction() {
        let noon = Timestamp::from_unix(1_735_732_800, 0);
        for text in [
            "2025-01-01T12:00:00Z",
            "2025-01-01T12:00:00.000Z",
            "2025-01-01T12:00:00",
            "2025-01-01T12:00",
            "2025-01-01T13:00:00+01:00",
            "2025-01-01T07:30:00-04:30",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(text), Some(noon), "{text}");
        }
        assert_eq!(
            Timestamp::parse_rfc3339("2025-01-01"),
            Some(Timestamp::from_unix(1_735_689_600, 0))
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2025-01-01T12:00:00.25Z"),
            Some(Timestamp::from_unix(1_735_732_800, 250_000_000))
        );
        for bad in [
            "2025-13-01",
            "2025-02-30T00:00:00Z",
            "2025-01-01T25:00:00Z",
            "2025-1-1",
            "yesterday",
            "2025-01-01T12:00:00.Z",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn reads_what_docker_logs_since_reads() {
        let now = Timestamp::from_unix(1_735_732_800, 0);
        let parse = |text| Timestamp::parse_user(text, now).unwrap();
        assert_eq!(parse("10m"), now.before(Duration::from_secs(600)));
        assert_eq!(parse("1h30m"), now.before(Duration::from_secs(5400)));
        assert_eq!(parse("1.5h"), now.before(Duration::from_secs(5400)));
        assert_eq!(parse("300ms"), now.before(Duration::from_millis(300)));
        assert_eq!(parse("0"), now);
        assert_eq!(parse("1735732800"), now);
        assert_eq!(
            parse("1735732800.5"),
            Timestamp::from_unix(1_735_732_800, 500_000_000)
        );
        assert_eq!(
            parse("2025-01-01T11:00:00Z"),
            Timestamp::from_unix(1_735_729_200, 0)
        );
        for bad in ["", "10x", "m", "soon", "2025-99-01", "1.2.3"] {
            let err = Timestamp::parse_user(bad, now).unwrap_err().to_string();
            assert!(
                err.contains("failed to parse value as time or duration"),
                "{bad}: {err}"
            );
        }
    }
}
