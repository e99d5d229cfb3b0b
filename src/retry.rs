//! Retry timing, pure: exponential backoff with jitter, and the server's own `Retry-After`
//! (seconds or HTTP date) and `retry-after-ms` hints.

use crate::http::Response;
use crate::text::{parse_i64, split_at_byte};
use alloc::vec::Vec;

/// How a client retries GET requests that failed in a retryable way.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt: at most `max_retries + 1` requests.
    pub max_retries: u32,
    /// Backoff before the first retry, before jitter, in ms.
    pub initial_delay_ms: f64,
    /// Ceiling of any one delay (computed or asked for by the server), in ms.
    pub max_delay_ms: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            initial_delay_ms: 250.0,
            max_delay_ms: 30_000.0,
        }
    }
}

impl RetryPolicy {
    /// No retries at all (`retry: false`).
    pub const DISABLED: RetryPolicy = RetryPolicy {
        max_retries: 0,
        initial_delay_ms: 0.0,
        max_delay_ms: 0.0,
    };

    /// The delay before retry number `retry` (1 for the first retry): the server's hint when it
    /// gave a usable one, capped by `max_delay_ms`; otherwise [`backoff_ms`].
    pub fn delay_ms(&self, retry: u32, random: f64, server_hint_ms: Option<f64>) -> f64 {
        match server_hint_ms {
            Some(hint) => hint.min(self.max_delay_ms),
            None => backoff_ms(self.initial_delay_ms, self.max_delay_ms, retry, random),
        }
    }
}

/// Exponential backoff with "equal jitter": between half and all of
/// `min(max_ms, initial_ms · 2^(n−1))` for step `n` (1-based), `random` in `[0, 1)` choosing where.
pub fn backoff_ms(initial_ms: f64, max_ms: f64, n: u32, random: f64) -> f64 {
    // 2^(n−1) exactly, without `f64::powi` (std-only).
    let factor = (1u64 << n.saturating_sub(1).min(60)) as f64;
    let ceiling = (initial_ms * factor).min(max_ms).max(0.0);
    let random = if random.is_finite() {
        random.clamp(0.0, 1.0)
    } else {
        0.0
    };
    ceiling * (0.5 + 0.5 * random)
}

/// The server's requested delay in ms, from `retry-after-ms` (preferred, as the official Gr4vy
/// SDK does) or `Retry-After` (delay-seconds or an HTTP date, relative to `now_epoch_ms`).
/// A missing, invalid or past value gives `None`.
pub fn server_hint_ms(response: &Response, now_epoch_ms: f64) -> Option<f64> {
    if let Some(ms) = response.header("retry-after-ms").and_then(parse_delay) {
        return Some(ms);
    }
    let value = response.header("retry-after")?;
    if let Some(seconds) = parse_delay(value) {
        return Some(seconds * 1000.0);
    }
    let at = parse_http_date(value)?;
    (at > now_epoch_ms).then_some(at - now_epoch_ms)
}

/// A non-negative decimal number (`"2"`, `"1.5"`), as sent in delay headers. Parsed by hand
/// (a delay needs no more precision than this) so no float parser is linked into the wasm.
fn parse_delay(value: &str) -> Option<f64> {
    let value = value.trim();
    if value.is_empty() || value.len() > 20 || !value.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let (whole, fraction) = match split_at_byte(value, b'.') {
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (value, ""),
    };
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut number = 0.0;
    for b in whole.bytes() {
        number = number * 10.0 + f64::from(b - b'0');
    }
    let mut scale = 0.1;
    for b in fraction.bytes() {
        number += f64::from(b - b'0') * scale;
        scale /= 10.0;
    }
    Some(number)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parses an HTTP date (RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime
/// forms) to ms since the Unix epoch. Anything else gives `None`.
pub fn parse_http_date(value: &str) -> Option<f64> {
    let words: Vec<&str> = value.split_ascii_whitespace().collect();
    let (day, month, year, time) = match words.as_slice() {
        // Sun, 06 Nov 1994 08:49:37 GMT
        [_, day, month, year, time, "GMT"] => (*day, *month, parse_i64(year)?, *time),
        // Sunday, 06-Nov-94 08:49:37 GMT
        [_, date, time, "GMT"] => {
            let (day, rest) = split_at_byte(date, b'-')?;
            let (month, year) = split_at_byte(rest, b'-')?;
            if year.len() != 2 || year.bytes().any(|b| b == b'-') {
                return None;
            }
            let year = parse_i64(year)?;
            // RFC 9110: a two-digit year more than 50 years ahead is in the past century.
            (
                day,
                month,
                if year < 70 { 2000 + year } else { 1900 + year },
                *time,
            )
        }
        // Sun Nov  6 08:49:37 1994
        [_, month, day, time, year] => (*day, *month, parse_i64(year)?, *time),
        _ => return None,
    };
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    if day.is_empty() || day.len() > 2 || !day.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let day = parse_i64(day)?;
    let (hour, rest) = split_at_byte(time, b':')?;
    let (minute, second) = split_at_byte(rest, b':')?;
    let field = |text: &str, max: i64| -> Option<i64> {
        if text.len() != 2 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        parse_i64(text).filter(|v| *v <= max)
    };
    let (hour, minute, second) = (field(hour, 23)?, field(minute, 59)?, field(second, 60)?);
    if !(1..=31).contains(&day) || !(1000..=9999).contains(&year) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(seconds as f64 * 1000.0)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn with(headers: &[(&str, &str)]) -> Response {
        Response {
            status: 503,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            ..Response::default()
        }
    }

    const NOV_6_1994: f64 = 784_111_777_000.0;

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(NOV_6_1994)
        );
        assert_eq!(
            parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(NOV_6_1994)
        );
        assert_eq!(
            parse_http_date("Sun Nov  6 08:49:37 1994"),
            Some(NOV_6_1994)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0.0));
        assert_eq!(
            parse_http_date("Sat, 21 Nov 2026 09:00:00 GMT"),
            Some(1_795_251_600_000.0)
        );
        for bad in [
            "",
            "tomorrow",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn hints() {
        let now = NOV_6_1994 - 5000.0;
        assert_eq!(
            server_hint_ms(&with(&[("retry-after", "2")]), now),
            Some(2000.0)
        );
        assert_eq!(
            server_hint_ms(&with(&[("retry-after", "0")]), now),
            Some(0.0)
        );
        assert_eq!(
            server_hint_ms(&with(&[("retry-after", "1.5")]), now),
            Some(1500.0)
        );
        assert_eq!(
            server_hint_ms(
                &with(&[("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")]),
                now
            ),
            Some(5000.0)
        );
        // A date in the past, or garbage, is ignored.
        assert_eq!(
            server_hint_ms(
                &with(&[("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")]),
                NOV_6_1994 + 1.0
            ),
            None
        );
        assert_eq!(
            server_hint_ms(&with(&[("retry-after-ms", "0.25")]), now),
            Some(0.25)
        );
        for bad in ["-1", "soon", "1e3", ".5", "1.2.3", "", "1.", "1.-2"] {
            assert_eq!(
                server_hint_ms(&with(&[("retry-after", bad)]), now),
                None,
                "{bad:?}"
            );
        }
        // retry-after-ms wins over Retry-After.
        assert_eq!(
            server_hint_ms(
                &with(&[("retry-after", "9"), ("retry-after-ms", "150")]),
                now
            ),
            Some(150.0)
        );
        // An invalid retry-after-ms falls back to Retry-After.
        assert_eq!(
            server_hint_ms(&with(&[("retry-after", "3"), ("retry-after-ms", "x")]), now),
            Some(3000.0)
        );
        assert_eq!(server_hint_ms(&with(&[]), now), None);
    }

    #[test]
    fn delays() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay_ms(1, 0.0, None), 125.0);
        assert_eq!(policy.delay_ms(1, 1.0, None), 250.0);
        assert_eq!(policy.delay_ms(3, 1.0, None), 1000.0);
        assert_eq!(policy.delay_ms(30, 1.0, None), 30_000.0);
        assert_eq!(policy.delay_ms(1, 0.3, Some(4000.0)), 4000.0);
        assert_eq!(policy.delay_ms(1, 0.3, Some(90_000.0)), 30_000.0);
    }

    proptest! {
        #[test]
        fn backoff_stays_in_its_band(initial in 0.0f64..10_000.0, max in 0.0f64..100_000.0, n in 1u32..100, r in 0.0f64..1.0) {
            let d = backoff_ms(initial, max, n, r);
            let ceiling = (initial * 2f64.powi((n - 1).min(60) as i32)).min(max);
            prop_assert!(d >= ceiling / 2.0 - 1e-9 && d <= ceiling + 1e-9);
        }

        #[test]
        fn hints_never_panic_and_are_never_negative(value in any::<String>(), now in 0.0f64..4e12) {
            if let Some(ms) = server_hint_ms(&with(&[("retry-after", &value)]), now) {
                prop_assert!(ms >= 0.0 && ms.is_finite());
            }
            if let Some(ms) = server_hint_ms(&with(&[("retry-after-ms", &value)]), now) {
                prop_assert!(ms >= 0.0 && ms.is_finite());
            }
        }

        #[test]
        fn imf_dates_round_trip(days in 0i64..2_900_000, secs in 0i64..86_400) {
            // Format a date with the inverse algorithm and parse it back.
            let z = days + 719_468;
            let era = z.div_euclid(146_097);
            let doe = z - era * 146_097;
            let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            let mp = (5 * doy + 2) / 153;
            let d = doy - (153 * mp + 2) / 5 + 1;
            let m = if mp < 10 { mp + 3 } else { mp - 9 };
            let y = yoe + era * 400 + i64::from(m <= 2);
            prop_assume!((1000..=9999).contains(&y));
            let text = format!(
                "Mon, {:02} {} {} {:02}:{:02}:{:02} GMT",
                d, MONTHS[(m - 1) as usize], y, secs / 3600, secs / 60 % 60, secs % 60
            );
            prop_assert_eq!(parse_http_date(&text), Some(((days * 86_400 + secs) * 1000) as f64));
        }
    }
}
