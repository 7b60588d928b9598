//! Time for the relying party: one [`Clock`] passed in through `RpConfig`, and
//! every date parsed or printed through the `time` crate (RFC 3339, MDS
//! dates), with its calendar checks (no 31 February).

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

/// Where the relying party reads the time: the system clock, or one a caller
/// (a test, a replay tool) sets.
///
/// ```
/// use keyhaven_rp::time::{parse_rfc3339, Clock};
/// let t = parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
/// assert_eq!(Clock::fixed(t).now(), t);
/// assert!(parse_rfc3339("2026-02-31T00:00:00Z").is_err());
/// ```
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> SystemTime + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock(Arc::new(SystemTime::now))
    }

    /// A clock that always reads `t`.
    pub fn fixed(t: SystemTime) -> Self {
        Clock(Arc::new(move || t))
    }

    /// A clock read through `f`.
    pub fn from_fn(f: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        Clock(Arc::new(f))
    }

    /// The current time.
    pub fn now(&self) -> SystemTime {
        (self.0)()
    }

    /// Seconds since the Unix epoch (0 before it).
    pub fn unix_seconds(&self) -> u64 {
        unix_seconds(self.now()).max(0) as u64
    }

    /// Milliseconds since the Unix epoch (0 before it).
    pub fn unix_millis(&self) -> i64 {
        unix_millis(self.now()).clamp(0, i128::from(i64::MAX)) as i64
    }

    /// Microseconds since the Unix epoch (0 before it).
    pub fn unix_micros(&self) -> u64 {
        (OffsetDateTime::from(self.now()).unix_timestamp_nanos() / 1000)
            .clamp(0, i128::from(u64::MAX)) as u64
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Clock({})", format_rfc3339(self.now()))
    }
}

/// A date or time that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not {expected}: {text:?} ({reason})")]
pub struct TimeError {
    /// What was expected ("an RFC 3339 date-time", "a YYYY-MM-DD date").
    pub expected: &'static str,
    /// The text.
    pub text: String,
    /// The parser's message.
    pub reason: String,
}

/// Parses an RFC 3339 date-time ("2026-01-01T00:00:00Z"; offsets and fractions allowed).
pub fn parse_rfc3339(s: &str) -> Result<SystemTime, TimeError> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map(SystemTime::from)
        .map_err(|e| TimeError {
            expected: "an RFC 3339 date-time",
            text: s.to_owned(),
            reason: e.to_string(),
        })
}

/// Formats a time as RFC 3339 in UTC ("2026-01-01T00:00:00Z").
pub fn format_rfc3339(t: SystemTime) -> String {
    OffsetDateTime::from(t)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "(time out of range)".into())
}

/// Formats milliseconds since the Unix epoch as RFC 3339 in UTC.
pub fn format_rfc3339_millis(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "(time out of range)".into())
}

/// Parses a calendar date "YYYY-MM-DD" (FIDO MDS3 `nextUpdate`, `effectiveDate`).
pub fn parse_date(s: &str) -> Result<Date, TimeError> {
    Date::parse(s, format_description!("[year]-[month]-[day]")).map_err(|e| TimeError {
        expected: "a YYYY-MM-DD date",
        text: s.to_owned(),
        reason: e.to_string(),
    })
}

/// The UTC calendar date of a time.
pub fn date_of(t: SystemTime) -> Date {
    OffsetDateTime::from(t).date()
}

/// Whole seconds since the Unix epoch (negative before it).
pub fn unix_seconds(t: SystemTime) -> i64 {
    OffsetDateTime::from(t).unix_timestamp()
}

/// Milliseconds since the Unix epoch (negative before it).
pub fn unix_millis(t: SystemTime) -> i128 {
    OffsetDateTime::from(t).unix_timestamp_nanos() / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn rfc3339() {
        let t = |s| unix_seconds(parse_rfc3339(s).unwrap());
        assert_eq!(t("1970-01-01T00:00:00Z"), 0);
        assert_eq!(t("2026-01-01T00:00:00Z"), 1_767_225_600);
        assert_eq!(t("2026-01-01T01:00:00+01:00"), 1_767_225_600);
        assert_eq!(t("2000-02-29T12:30:15.250Z"), 951_827_415);
        assert_eq!(t("1969-12-31T23:59:59Z"), -1);
        for bad in [
            "2026-13-01T00:00:00Z",
            "2026-02-31T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01",
            "yesterday",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
        let e = parse_rfc3339("2026-02-31T00:00:00Z").unwrap_err();
        assert_eq!(e.expected, "an RFC 3339 date-time");
    }

    #[test]
    fn format_round_trip() {
        let t = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        assert_eq!(format_rfc3339(t), "2026-01-01T00:00:00Z");
        assert_eq!(parse_rfc3339(&format_rfc3339(t)).unwrap(), t);
        assert_eq!(unix_millis(t + Duration::from_millis(5)), 1_767_225_600_005);
    }

    #[test]
    fn dates() {
        let d = parse_date("2026-02-28").unwrap();
        assert!(parse_date("2026-02-29").is_err());
        assert!(parse_date("2026-2-28").is_err());
        assert_eq!(date_of(parse_rfc3339("2026-02-28T23:59:59Z").unwrap()), d);
        assert!(date_of(parse_rfc3339("2026-03-01T00:00:00Z").unwrap()) > d);
    }

    #[test]
    fn clocks() {
        let t = UNIX_EPOCH + Duration::from_secs(42);
        assert_eq!(Clock::fixed(t).unix_seconds(), 42);
        let c = Clock::from_fn(move || t + Duration::from_secs(1));
        assert_eq!(c.unix_seconds(), 43);
        assert!(Clock::system().unix_seconds() > 1_700_000_000);
    }
}
