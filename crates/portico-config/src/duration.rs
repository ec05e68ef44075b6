//! Durations in Backstage's three config forms.
//!
//! * an object of units, `{ days: 2, hours: 6 }` (Backstage's `HumanDuration`; a year counts as
//!   365 days and a month as 30, like luxon's casual conversion Backstage relies on);
//! * an ISO 8601 string such as `P2DT6H` or `PT1M`;
//! * an `ms`-style string such as `5m`, `30 seconds` or `1.5h` (a unit is required: a bare
//!   number is rejected as ambiguous, like Backstage does).

use std::time::Duration;

use serde_json::Value;

use crate::ConfigError;
use crate::config::type_name;

const SECOND: f64 = 1000.0;
const MINUTE: f64 = 60.0 * SECOND;
const HOUR: f64 = 60.0 * MINUTE;
const DAY: f64 = 24.0 * HOUR;
const WEEK: f64 = 7.0 * DAY;
const MONTH: f64 = 30.0 * DAY;
const YEAR: f64 = 365.0 * DAY;

/// The keys of the object form, with their length in milliseconds.
const UNITS: [(&str, f64); 8] = [
    ("years", YEAR),
    ("months", MONTH),
    ("weeks", WEEK),
    ("days", DAY),
    ("hours", HOUR),
    ("minutes", MINUTE),
    ("seconds", SECOND),
    ("milliseconds", 1.0),
];

/// Reads the duration `value` found at `key`.
pub(crate) fn read(key: &str, value: &Value) -> Result<Duration, ConfigError> {
    let millis = match value {
        Value::String(text) => {
            let text = text.trim();
            let parsed = if text.starts_with('P') || text.starts_with("-P") {
                parse_iso(text)
            } else {
                parse_ms(text)
            };
            parsed
                .map_err(|reason| ConfigError::invalid(key, format!("invalid duration '{text}', {reason}")))?
        }
        Value::Object(map) => {
            let unknown: Vec<&str> =
                map.keys().map(String::as_str).filter(|k| !UNITS.iter().any(|(unit, _)| unit == k)).collect();
            if !unknown.is_empty() {
                let what = if unknown.len() == 1 { "property" } else { "properties" };
                return Err(ConfigError::invalid(
                    key,
                    format!("unknown duration {what} '{}'; {}", unknown.join("', '"), needs_units()),
                ));
            }
            if map.is_empty() {
                return Err(ConfigError::invalid(key, needs_units()));
            }
            let mut total = 0.0;
            for (unit, length) in UNITS {
                let Some(amount) = map.get(unit) else { continue };
                let amount = match amount {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
                    _ => None,
                }
                .ok_or_else(|| ConfigError::WrongType {
                    key: format!("{key}.{unit}"),
                    expected: "a number",
                    actual: type_name(amount),
                })?;
                total += amount * length;
            }
            total
        }
        other => {
            return Err(ConfigError::WrongType {
                key: key.to_owned(),
                expected: "a duration (an object such as { minutes: 5 }, or a string such as '5m' or 'PT5M')",
                actual: type_name(other),
            });
        }
    };
    if millis < 0.0 {
        return Err(ConfigError::invalid(key, "negative durations are not allowed"));
    }
    Duration::try_from_secs_f64(millis / 1000.0)
        .map_err(|_| ConfigError::invalid(key, "the duration is too long to be represented"))
}

fn needs_units() -> String {
    let names: Vec<String> = UNITS.iter().map(|(unit, _)| format!("'{unit}'")).collect();
    format!("needs one or more of {}", names.join(", "))
}

/// Parses `ms`-library strings: a number, optional spaces, and a unit.
fn parse_ms(text: &str) -> Result<f64, String> {
    const NOT_VALID: &str =
        "not a valid duration string, try a number followed by a unit such as '1d' or '2 seconds'";
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the value cannot be a plain number; try adding a unit like 'ms' or 'seconds'".into());
    }
    if text.len() > 100 {
        return Err(NOT_VALID.into());
    }
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unsigned = number.strip_prefix('-').unwrap_or(number);
    // The `ms` library wants digits after any decimal point (`1.5`, `.5`, not `1.`).
    let well_formed = !unsigned.is_empty()
        && !unsigned.ends_with('.')
        && unsigned.matches('.').count() <= 1
        && !unsigned.contains('-');
    let amount: f64 = if well_formed {
        number.parse().map_err(|_| NOT_VALID.to_owned())?
    } else {
        return Err(NOT_VALID.into());
    };
    let length = match unit.trim_start_matches(' ').to_ascii_lowercase().as_str() {
        "" | "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => 1.0,
        "s" | "sec" | "secs" | "second" | "seconds" => SECOND,
        "m" | "min" | "mins" | "minute" | "minutes" => MINUTE,
        "h" | "hr" | "hrs" | "hour" | "hours" => HOUR,
        "d" | "day" | "days" => DAY,
        "w" | "week" | "weeks" => WEEK,
        // The `ms` library's year is 365.25 days.
        "y" | "yr" | "yrs" | "year" | "years" => DAY * 365.25,
        _ => return Err(NOT_VALID.into()),
    };
    let millis = amount * length;
    if millis < 0.0 {
        return Err("negative durations are not allowed".into());
    }
    // Backstage turns the result into whole years plus the rest, then counts a year as 365
    // days; do the same so that `1y` means what it means there.
    let years = (millis / (DAY * 365.25)).floor();
    Ok(millis - years * DAY * 0.25)
}

/// Parses ISO 8601 durations: `[-]P[nY][nM][nW][nD][T[nH][nM][n[.f]S]]`.
fn parse_iso(text: &str) -> Result<f64, String> {
    let invalid = || {
        "Invalid ISO format, expected a value similar to 'P2DT6H' (2 days 6 hours) or 'PT1M' (1 minute)"
            .to_owned()
    };
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let rest = rest.strip_prefix('P').ok_or_else(invalid)?;
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (rest, None),
    };
    let mut found = false;
    let mut total = components(date, &[('Y', YEAR), ('M', MONTH), ('W', WEEK), ('D', DAY)], &mut found)
        .ok_or_else(invalid)?;
    if let Some(time) = time {
        total +=
            components(time, &[('H', HOUR), ('M', MINUTE), ('S', SECOND)], &mut found).ok_or_else(invalid)?;
    }
    if !found {
        return Err("Invalid ISO format, no values given".into());
    }
    Ok(if negative { -total } else { total })
}

/// Sums `<number><unit>` components appearing in the order of `units`, each at most once.
fn components(mut text: &str, units: &[(char, f64)], found: &mut bool) -> Option<f64> {
    let mut total = 0.0;
    let mut next_unit = 0;
    while !text.is_empty() {
        let end = text.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | ',' | '-')))?;
        let (number, rest) = text.split_at(end);
        let unit = rest.chars().next()?;
        let position = units[next_unit..].iter().position(|(u, _)| *u == unit)? + next_unit;
        let unsigned = number.strip_prefix('-').unwrap_or(number);
        let (whole, fraction) = unsigned.split_once(['.', ',']).unwrap_or((unsigned, "0"));
        let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !digits(fraction) {
            return None;
        }
        let amount: f64 = format!("{whole}.{fraction}").parse().ok()?;
        let amount = if number.starts_with('-') { -amount } else { amount };
        total += amount * units[position].1;
        *found = true;
        next_unit = position + 1;
        text = &rest[unit.len_utf8()..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ms(value: Value) -> Result<u128, ConfigError> {
        read("k", &value).map(|d| d.as_millis())
    }

    #[test]
    fn object_form() {
        assert_eq!(ms(json!({"minutes": 5})).expect("ok"), 300_000);
        assert_eq!(ms(json!({"hours": 1, "minutes": 30, "milliseconds": 5})).expect("ok"), 5_400_005);
        assert_eq!(ms(json!({"days": 1, "weeks": 1})).expect("ok"), 8 * 86_400_000);
        assert_eq!(ms(json!({"months": 1})).expect("ok"), 30 * 86_400_000);
        assert_eq!(ms(json!({"years": 1})).expect("ok"), 365 * 86_400_000);
        assert_eq!(ms(json!({"seconds": "2"})).expect("numeric string"), 2000);
        let error = ms(json!({"minute": 5})).expect_err("unknown unit");
        assert!(error.to_string().contains("unknown duration property 'minute'"), "{error}");
        assert!(ms(json!({})).expect_err("empty").to_string().contains("needs one or more of"));
        assert!(ms(json!({"seconds": -1})).is_err());
        assert!(
            matches!(ms(json!({"seconds": true})), Err(ConfigError::WrongType { key, .. }) if key == "k.seconds")
        );
    }

    #[test]
    fn iso_form() {
        assert_eq!(ms(json!("PT5M")).expect("ok"), 300_000);
        assert_eq!(ms(json!("P2DT6H")).expect("ok"), 2 * 86_400_000 + 6 * 3_600_000);
        assert_eq!(ms(json!("PT1.5S")).expect("ok"), 1500);
        assert_eq!(ms(json!("P1W")).expect("ok"), 7 * 86_400_000);
        assert_eq!(ms(json!("P1M")).expect("month"), 30 * 86_400_000);
        assert_eq!(ms(json!("PT1M")).expect("minute"), 60_000);
        assert!(ms(json!("P")).expect_err("no values").to_string().contains("no values given"));
        assert!(ms(json!("PT5X")).is_err());
        assert!(ms(json!("P1H")).is_err(), "hours belong after T");
        assert!(ms(json!("PT5M1H")).is_err(), "units out of order");
        assert!(ms(json!("-PT5M")).expect_err("negative").to_string().contains("negative"));
    }

    #[test]
    fn ms_form() {
        assert_eq!(ms(json!("5m")).expect("ok"), 300_000);
        assert_eq!(ms(json!("30s")).expect("ok"), 30_000);
        assert_eq!(ms(json!("2 seconds")).expect("ok"), 2000);
        assert_eq!(ms(json!("1.5h")).expect("ok"), 5_400_000);
        assert_eq!(ms(json!("100ms")).expect("ok"), 100);
        assert_eq!(ms(json!("1d")).expect("ok"), 86_400_000);
        assert_eq!(ms(json!("1y")).expect("ok"), 365 * 86_400_000);
        assert_eq!(ms(json!(" 10 Minutes ")).expect("ok"), 600_000);
        let error = ms(json!("100")).expect_err("plain number");
        assert!(error.to_string().contains("cannot be a plain number"), "{error}");
        assert!(error.to_string().contains("'k'"), "{error}");
        assert!(ms(json!("5 parsecs")).is_err());
        assert!(ms(json!("1.s")).is_err());
        assert!(ms(json!("-5m")).is_err());
        assert!(matches!(ms(json!(5)), Err(ConfigError::WrongType { .. })));
    }
}
