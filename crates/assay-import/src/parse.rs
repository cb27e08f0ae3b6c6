//! Cell parsers. Each returns the "expected ..., found ..." half of a message; the caller adds
//! file, line and field, so the hot path allocates only when a cell is bad.

/// Longest cell text quoted back in a message; longer cells are cut so one bad cell cannot
/// flood the terminal.
const QUOTE_LIMIT: usize = 60;

/// `text` in double quotes with escapes, cut at [`QUOTE_LIMIT`] characters.
pub(crate) fn quoted(text: &str) -> String {
    match text.char_indices().nth(QUOTE_LIMIT) {
        Some((cut, _)) => format!("{:?}...", &text[..cut]),
        None => format!("{text:?}"),
    }
}

/// A finite `f64`.
pub(crate) fn finite(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        Ok(_) => Err(format!("expected a finite number, found {}", quoted(text))),
        Err(_) => Err(format!("expected a number, found {}", quoted(text))),
    }
}

/// A finite `f64`, or `NaN` for an empty cell (missing).
pub(crate) fn optional_finite(text: &str) -> Result<f64, String> {
    if text.trim().is_empty() {
        return Ok(f64::NAN);
    }
    finite(text)
}

/// A finite number that stays finite as an `f32` (at most 3.4e38 in magnitude), for columns
/// stored in 32 bits: a larger value would silently become infinite.
pub(crate) fn finite_f32(text: &str) -> Result<f32, String> {
    f32_of(text, finite(text)?)
}

/// As [`finite_f32`], or `NaN` for an empty cell (missing).
pub(crate) fn optional_finite_f32(text: &str) -> Result<f32, String> {
    let value = optional_finite(text)?;
    if value.is_nan() {
        return Ok(f32::NAN);
    }
    f32_of(text, value)
}

fn f32_of(text: &str, value: f64) -> Result<f32, String> {
    // Rounding to the nearest `f32` gives infinity exactly when the value is out of range.
    let narrow = value as f32;
    if !narrow.is_finite() {
        return Err(format!(
            "expected a number within ±3.4e38 (the column is stored as a 32-bit float), found {}",
            quoted(text)
        ));
    }
    Ok(narrow)
}

/// A price: finite and not negative; `NaN` when the cell is empty.
pub(crate) fn price(text: &str) -> Result<f64, String> {
    let value = optional_finite(text)?;
    if value < 0.0 {
        return Err(format!("expected a price >= 0, found {}", quoted(text)));
    }
    Ok(value)
}

/// A propensity in (0, 1]; `NaN` when the cell is empty.
pub(crate) fn propensity(text: &str) -> Result<f64, String> {
    let value = optional_finite(text)?;
    if value.is_nan() || (value > 0.0 && value <= 1.0) {
        return Ok(value);
    }
    Err(format!(
        "expected a propensity in (0, 1], found {}",
        quoted(text)
    ))
}

/// A ranked position (an integer >= 1 that fits in `u16`); `NO_POSITION` (0) when the cell is empty.
///
/// Integral floats ("2.0") are accepted because dataframe tools write integer columns that way
/// once a value is missing.
pub(crate) fn position(text: &str) -> Result<u16, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(assay_core::NO_POSITION);
    }
    let value = match trimmed.parse::<u64>() {
        Ok(value) => Some(value),
        Err(_) => match trimmed.parse::<f64>() {
            Ok(value) if value.fract() == 0.0 && value >= 0.0 && value <= u16::MAX as f64 => {
                Some(value as u64)
            }
            _ => None,
        },
    };
    match value {
        Some(value) if value >= 1 && value <= u16::MAX as u64 => Ok(value as u16),
        _ => Err(format!(
            "expected a position (an integer from 1 to 65535), found {}",
            quoted(text)
        )),
    }
}

/// Unix seconds, from RFC 3339 (`2019-11-24T00:00:34Z`, `2019-11-24 00:00:34.7628+00:00`; a missing
/// offset means UTC) or a number of unix seconds (integer or float, floored). The fraction of a
/// second is dropped. `NO_TIME` when the cell is empty.
pub(crate) fn timestamp(text: &str) -> Result<i64, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(assay_core::NO_TIME);
    }
    let parsed = if let Ok(seconds) = trimmed.parse::<i64>() {
        Some(seconds)
    } else if let Ok(seconds) = trimmed.parse::<f64>() {
        // The bounds keep the cast exact and away from the NO_TIME sentinel.
        if seconds.is_finite() && seconds.abs() < 9.0e18 {
            Some(seconds.floor() as i64)
        } else {
            None
        }
    } else {
        rfc3339(trimmed.as_bytes())
    };
    match parsed {
        Some(seconds) if seconds != assay_core::NO_TIME => Ok(seconds),
        _ => Err(format!(
            "expected a timestamp (RFC 3339 or unix seconds), found {}",
            quoted(text)
        )),
    }
}

/// Parses `YYYY-MM-DD[T ]HH:MM:SS[.fff][Z|±HH:MM]` into unix seconds.
fn rfc3339(bytes: &[u8]) -> Option<i64> {
    fn digits(bytes: &[u8], at: usize, len: usize) -> Option<i64> {
        let slice = bytes.get(at..at + len)?;
        let mut value = 0i64;
        for &b in slice {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + i64::from(b - b'0');
        }
        Some(value)
    }
    let year = digits(bytes, 0, 4)?;
    if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    let month = digits(bytes, 5, 2)?;
    let day = digits(bytes, 8, 2)?;
    if !matches!(bytes.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let hour = digits(bytes, 11, 2)?;
    if bytes.get(13) != Some(&b':') || bytes.get(16) != Some(&b':') {
        return None;
    }
    let minute = digits(bytes, 14, 2)?;
    let second = digits(bytes, 17, 2)?;
    let mut at = 19;
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        if at == start {
            return None;
        }
    }
    let offset = match bytes.get(at) {
        None => 0,
        Some(b'Z' | b'z') if at + 1 == bytes.len() => 0,
        Some(&sign @ (b'+' | b'-')) if at + 6 == bytes.len() && bytes[at + 3] == b':' => {
            let hours = digits(bytes, at + 1, 2)?;
            let minutes = digits(bytes, at + 4, 2)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 3600 + minutes * 60;
            if sign == b'+' {
                offset
            } else {
                -offset
            }
        }
        _ => return None,
    };
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(timestamp("1574553634"), Ok(1_574_553_634));
        assert_eq!(timestamp("881250949.9"), Ok(881_250_949));
        assert_eq!(timestamp("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(
            timestamp("2019-11-24 00:00:34.762830+00:00"),
            Ok(1_574_553_634)
        );
        assert_eq!(timestamp("2019-11-24T09:00:34+09:00"), Ok(1_574_553_634));
        assert_eq!(timestamp("2019-11-23T23:00:34-01:00"), Ok(1_574_553_634));
        assert_eq!(timestamp("2019-11-24T00:00:34"), Ok(1_574_553_634));
        assert_eq!(timestamp("2000-02-29T00:00:00Z"), Ok(951_782_400));
        assert_eq!(timestamp(""), Ok(assay_core::NO_TIME));
        for bad in [
            "yesterday",
            "2019-02-29T00:00:00Z",
            "2019-11-24T24:00:00Z",
            "2019-11-24",
            "2019-11-24T00:00:00.Z",
            "2019-11-24T00:00:00+0900",
            "NaN",
            "inf",
            "1e300",
        ] {
            assert!(timestamp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(finite(" 2.5 "), Ok(2.5));
        assert!(finite("NaN").is_err());
        assert!(optional_finite("").is_ok_and(f64::is_nan));
        assert_eq!(position("3"), Ok(3));
        assert_eq!(position("2.0"), Ok(2));
        assert!(position("0").is_err());
        assert!(position("70000").is_err());
        assert!(position("1.5").is_err());
        assert_eq!(propensity("1"), Ok(1.0));
        assert!(propensity("0").is_err());
        assert!(price("-1").is_err());
        assert_eq!(quoted(&"x".repeat(100)).len(), 65);
        assert_eq!(finite_f32("-3.4e38"), Ok(-3.4e38));
        assert_eq!(finite_f32(&f32::MAX.to_string()), Ok(f32::MAX));
        assert!(finite_f32("3.5e38").is_err());
        assert!(optional_finite_f32("").is_ok_and(f32::is_nan));
        assert!(optional_finite_f32("-1e39").unwrap_err().contains("32-bit"));
    }
}
