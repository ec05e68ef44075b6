//! The audit log as a plugin: `/admin/audit` lists and filters the entries every plugin records
//! through [`portico_plugin::Audit`], and `GET /api/audit/entries` answers the same as JSON.
//! Nothing here changes or removes an entry: the routes only read, and the store offers no way
//! to.
//!
//! The filters read the same way on the page, in the API and in `portico audit`
//! ([`AuditFilters`]): `actor` (exact), `action` (exact, or a prefix ending in `*` or `.`),
//! `target` (contains, ASCII letters in either case), `outcome`, and `since`/`until` (a date,
//! a UTC time, or an age such as `1h`).

mod api;
mod page;

use std::sync::Arc;

use portico_plugin::{NavItem, Plugin, PluginContext, PluginError, Registrar};
use portico_store::{ActionFilter, AuditEntry, AuditOutcome, AuditQuery, AuditStore, Millis};
use portico_web::time::days_from_civil;
pub use portico_web::time::iso_time;
use serde_json::{Value, json};

/// Lists the audit log.
#[derive(Debug, Default)]
pub struct AuditPlugin;

#[async_trait::async_trait]
impl Plugin for AuditPlugin {
    fn id(&self) -> &'static str {
        "audit"
    }

    async fn start(&self, cx: &PluginContext, registrar: &mut Registrar) -> Result<(), PluginError> {
        let store: Arc<dyn AuditStore> = cx.audit.clone();
        registrar.api_routes("audit", api::router(store.clone()));
        registrar.pages(page::router(store));
        registrar.nav_item(NavItem::new("Audit log", page::PATH, "docs", 90));
        Ok(())
    }
}

/// The filters of a listing, as text from a query string or the command line. Empty texts
/// filter nothing, as an empty form field should.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilters {
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub since: String,
    pub until: String,
}

impl AuditFilters {
    /// The filter parameters of a query string (`actor`, `action`, `target`, `outcome`,
    /// `since`, `until`); the last value counts when one is repeated.
    pub fn from_query(query: &portico_web::Query) -> AuditFilters {
        let get = |name: &str| query.all(name).last().map(|v| v.trim().to_owned()).unwrap_or_default();
        AuditFilters {
            actor: get("actor"),
            action: get("action"),
            target: get("target"),
            outcome: get("outcome"),
            since: get("since"),
            until: get("until"),
        }
    }

    /// The store query for these filters at time `now` (ages count back from it), without
    /// limit and offset; the error says which filter is wrong and why.
    pub fn to_query(&self, now: Millis) -> Result<AuditQuery, String> {
        let text = |value: &str| (!value.is_empty()).then(|| value.to_owned());
        let time = |name: &str, value: &str| {
            if value.is_empty() {
                return Ok(None);
            }
            parse_time(value, now).map(Some).map_err(|message| format!("Invalid {name} {value:?}: {message}"))
        };
        let outcome = if self.outcome.is_empty() {
            None
        } else {
            Some(AuditOutcome::parse(&self.outcome).ok_or_else(|| {
                let names: Vec<&str> = AuditOutcome::ALL.iter().map(|o| o.as_str()).collect();
                format!("Invalid outcome {:?}: expected one of {}", self.outcome, names.join(", "))
            })?)
        };
        Ok(AuditQuery {
            actor: text(&self.actor),
            action: text(&self.action).map(|action| ActionFilter::parse(&action)),
            target: text(&self.target),
            outcome,
            since: time("since", &self.since)?,
            until: time("until", &self.until)?,
            limit: None,
            offset: None,
        })
    }

    /// Whether any filter is set.
    fn is_empty(&self) -> bool {
        *self == AuditFilters::default()
    }
}

/// An entry as the API serves it and `portico audit --json` prints it: the time as ISO 8601
/// in UTC, details as an object.
pub fn entry_json(entry: &AuditEntry) -> Value {
    json!({
        "id": entry.id,
        "at": iso_time(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "outcome": entry.outcome.as_str(),
        "details": entry.details,
    })
}

/// Milliseconds of each unit an age may use.
const AGE_UNITS: [(&str, Millis); 5] =
    [("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000)];

/// A point in time as people write it on a command line: an age counted back from `now`
/// (`30m`, `1h`, `7d`, `2w`), a UTC date (`2026-11-01`, its midnight) or a UTC time
/// (`2026-11-01T09:30`, `2026-11-01T09:30:15Z`, with optional milliseconds).
pub fn parse_time(text: &str, now: Millis) -> Result<Millis, String> {
    let text = text.trim();
    for (unit, length) in AGE_UNITS {
        if let Some(number) = text.strip_suffix(unit)
            && !number.is_empty()
            && number.bytes().all(|b| b.is_ascii_digit())
        {
            let count: Millis = number.parse().map_err(|_| "the age is too large".to_owned())?;
            return count
                .checked_mul(length)
                .and_then(|age| now.checked_sub(age))
                .ok_or_else(|| "the age is too large".to_owned());
        }
    }
    let expected = "expected an age such as 1h or 7d, a date such as 2026-11-01, or a UTC time such as 2026-11-01T09:30:00Z";
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((date, time)) => (date, Some(time.strip_suffix('Z').unwrap_or(time))),
        None => (text, None),
    };
    let number = |part: &str, digits: usize, range: std::ops::RangeInclusive<i64>| {
        (part.len() == digits && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<i64>().ok())
            .flatten()
            .filter(|n| range.contains(n))
    };
    let date: Vec<&str> = date.split('-').collect();
    let [year, month, day] = date[..] else { return Err(expected.to_owned()) };
    let (Some(year), Some(month), Some(day)) =
        (number(year, 4, 1970..=9999), number(month, 2, 1..=12), number(day, 2, 1..=31))
    else {
        return Err(expected.to_owned());
    };
    if day > days_in_month(year, month) {
        return Err(format!("{year:04}-{month:02} has no day {day}"));
    }
    let mut millis = days_from_civil(year, month, day) * 86_400_000;
    if let Some(time) = time {
        let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
        let clock: Vec<&str> = clock.split(':').collect();
        let (hour, minute, second) = match clock[..] {
            [hour, minute] => (number(hour, 2, 0..=23), number(minute, 2, 0..=59), Some(0)),
            [hour, minute, second] => {
                (number(hour, 2, 0..=23), number(minute, 2, 0..=59), number(second, 2, 0..=59))
            }
            _ => return Err(expected.to_owned()),
        };
        let fraction = if fraction.is_empty() { Some(0) } else { number(fraction, 3, 0..=999) };
        let (Some(hour), Some(minute), Some(second), Some(fraction)) = (hour, minute, second, fraction)
        else {
            return Err(expected.to_owned());
        };
        millis += ((hour * 60 + minute) * 60 + second) * 1_000 + fraction;
    }
    Ok(millis)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_793_521_600_000; // 2026-11-01T08:26:40Z

    #[test]
    fn ages_count_back_from_now() {
        assert_eq!(parse_time("1h", NOW), Ok(NOW - 3_600_000));
        assert_eq!(parse_time("30m", NOW), Ok(NOW - 1_800_000));
        assert_eq!(parse_time("7d", NOW), Ok(NOW - 7 * 86_400_000));
        assert_eq!(parse_time("2w", NOW), Ok(NOW - 14 * 86_400_000));
        assert_eq!(parse_time("45s", NOW), Ok(NOW - 45_000));
        assert!(parse_time("99999999999999999999d", NOW).is_err());
    }

    #[test]
    fn dates_and_times_are_utc() {
        assert_eq!(parse_time("1970-01-01", NOW), Ok(0));
        assert_eq!(parse_time("2026-11-01", NOW), Ok(1_793_491_200_000));
        assert_eq!(parse_time("2026-11-01T08:26:40Z", NOW), Ok(NOW));
        assert_eq!(parse_time("2026-11-01T08:26:40.250Z", NOW), Ok(NOW + 250));
        assert_eq!(parse_time("2026-11-01 08:26", NOW), Ok(NOW - 40_000));
        assert_eq!(parse_time("2024-02-29", NOW), Ok(1_709_164_800_000));
    }

    #[test]
    fn malformed_times_say_what_is_expected() {
        for text in [
            "",
            "yesterday",
            "1y",
            "h",
            "-1h",
            "2026-13-01",
            "2026-1-01",
            "2026-11-01T25:00",
            "2026-11-01T08",
        ] {
            let error = parse_time(text, NOW).expect_err(text);
            assert!(error.contains("expected"), "{text}: {error}");
        }
        assert_eq!(parse_time("2025-02-29", NOW), Err("2025-02 has no day 29".to_owned()));
    }

    #[test]
    fn iso_time_round_trips_through_parse_time() {
        for millis in [0, 951_782_400_123, NOW, 4_102_444_799_999] {
            assert_eq!(parse_time(&iso_time(millis), NOW), Ok(millis), "{}", iso_time(millis));
        }
        assert_eq!(iso_time(NOW), "2026-11-01T08:26:40.000Z");
    }

    #[test]
    fn filters_become_a_store_query() {
        let query = portico_web::Query::parse(Some(
            "actor=user%3Adefault%2Fjane&action=catalog.*&target=payments&outcome=failed&since=1h&until=",
        ));
        let filters = AuditFilters::from_query(&query);
        assert_eq!(
            filters.to_query(NOW),
            Ok(AuditQuery {
                actor: Some("user:default/jane".to_owned()),
                action: Some(ActionFilter::Prefix("catalog.".to_owned())),
                target: Some("payments".to_owned()),
                outcome: Some(AuditOutcome::Failed),
                since: Some(NOW - 3_600_000),
                ..AuditQuery::default()
            })
        );
        let wrong = AuditFilters { outcome: "ok".to_owned(), ..AuditFilters::default() };
        assert_eq!(
            wrong.to_query(NOW),
            Err("Invalid outcome \"ok\": expected one of succeeded, failed, denied".to_owned())
        );
        let wrong = AuditFilters { since: "soon".to_owned(), ..AuditFilters::default() };
        assert!(wrong.to_query(NOW).unwrap_err().starts_with("Invalid since \"soon\": expected"));
    }
}
