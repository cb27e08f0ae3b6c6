//! The memory budget: the one rule for buffers whose size is a product of data sizes.
//!
//! Most of assay's memory grows with the data itself (events, interactions, the catalog's
//! text). A few steps allocate in proportion to a *product* of sizes: EASE's item x item
//! matrices, per-round action distributions (rounds x actions x positions), one-hot contexts
//! (rounds x categories), a bandit's per-action covariance matrices (actions x dim x dim).
//! Such a product outgrows any machine long before the data does: 100,000 items make a 40 GB
//! EASE matrix from a catalog of a few megabytes. An allocation that large aborts the
//! process, so every such step first asks [`check`] with the bytes it is about to need and
//! returns [`TooLarge`] (what needs the memory, how much, the limit and what to use
//! instead) when the answer is no. A caller that has a scalable path takes it instead and
//! says so.
//!
//! The limit is process-wide: [`DEFAULT_LIMIT`] (8 GiB) unless a front end sets another with
//! [`set_limit`] (the command line's `--memory-limit` and `ASSAY_MEMORY_LIMIT`). It is a fixed
//! number rather than a share of the machine's memory so that the same input gets the same
//! answer (the same model, the same refusal) on every machine; raise it where the memory is
//! there.
//!
//! Sizes are `u128` so that a product of `usize`s cannot overflow on the way to the check.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// The limit unless [`set_limit`] says otherwise: 8 GiB.
pub const DEFAULT_LIMIT: u64 = 8 << 30;

static LIMIT: AtomicU64 = AtomicU64::new(DEFAULT_LIMIT);

/// The current limit in bytes.
pub fn limit() -> u64 {
    LIMIT.load(Ordering::Relaxed)
}

/// Sets the limit for the rest of the process.
pub fn set_limit(bytes: u64) {
    LIMIT.store(bytes, Ordering::Relaxed);
}

/// The bytes of a dense array with dimensions `dims` of `elem`-byte values, saturating
/// (a product beyond `u128` is reported as `u128::MAX`, which no limit allows).
pub fn dense_bytes(dims: &[usize], elem: usize) -> u128 {
    dims.iter()
        .try_fold(elem as u128, |acc, &d| acc.checked_mul(d as u128))
        .unwrap_or(u128::MAX)
}

/// `Ok` when `bytes` fit in the limit; otherwise [`TooLarge`] with `what()` (what needs the
/// memory, e.g. "ease on 100,000 items needs three dense 100,000 x 100,000 matrices") and `instead`
/// (what to do instead, e.g. "use itemknn or als"). `what` is only built on refusal.
pub fn check(bytes: u128, what: impl FnOnce() -> String, instead: &str) -> Result<(), TooLarge> {
    let limit = limit();
    if bytes <= u128::from(limit) {
        return Ok(());
    }
    Err(TooLarge {
        what: what(),
        bytes,
        limit,
        instead: instead.to_owned(),
    })
}

/// Whether `bytes` fit in the limit: for callers that pick a path rather than refuse.
pub fn fits(bytes: u128) -> bool {
    bytes <= u128::from(limit())
}

/// A step refused because it would need more memory than the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge {
    /// What needs the memory.
    pub what: String,
    /// How many bytes it needs.
    pub bytes: u128,
    /// The limit in bytes when it was refused.
    pub limit: u64,
    /// What to use or do instead.
    pub instead: String,
}

impl TooLarge {
    /// What needs how much, and the limit, without the way out: "ease on ... needs three
    /// dense 100,000 x 100,000 matrices: 111.8 GiB, over the memory limit of 8.0 GiB".
    pub fn need(&self) -> String {
        format!(
            "{}: {}, over the memory limit of {}",
            self.what,
            format_bytes(self.bytes),
            format_bytes(u128::from(self.limit))
        )
    }
}

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.need(), self.instead)
    }
}

impl std::error::Error for TooLarge {}

/// A size in binary units with one decimal: "512 B", "64.0 MiB", "37.3 GiB".
pub fn format_bytes(bytes: u128) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value >= 1024.0 {
        return "more than 1024 EiB".to_owned();
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A count with thousands separators: 1234567 -> "1,234,567", for sizes in messages.
pub fn format_count(n: impl Into<u128>) -> String {
    let digits = n.into().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Reads a size: a whole number of bytes, or a number with a unit, `KB MB GB TB` (powers of
/// 1000) or `KiB MiB GiB TiB` (powers of 1024; `K M G T` alone mean the same), case-blind,
/// e.g. `16GiB`, `500MB`, `1.5G`. The error says what was expected.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        _ => return Err(size_error(text)),
    };
    let value: f64 = number.parse().map_err(|_| size_error(text))?;
    let bytes = value * factor as f64;
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(size_error(text));
    }
    Ok(bytes as u64)
}

fn size_error(text: &str) -> String {
    format!("expected a size such as 16GiB, 500MB or a number of bytes, found `{text}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_bytes_multiply_and_saturate() {
        assert_eq!(dense_bytes(&[100_000, 100_000], 4), 40_000_000_000);
        assert_eq!(dense_bytes(&[], 8), 8);
        assert_eq!(
            dense_bytes(&[usize::MAX, usize::MAX, usize::MAX], 8),
            u128::MAX
        );
    }

    #[test]
    fn sizes_print_in_binary_units() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(64 << 20), "64.0 MiB");
        // 100,000 x 100,000 f32: 4e10 bytes.
        assert_eq!(format_bytes(40_000_000_000), "37.3 GiB");
        assert_eq!(format_bytes(u128::MAX), "more than 1024 EiB");
        assert_eq!(format_count(1_234_567u64), "1,234,567");
        assert_eq!(format_count(999u64), "999");
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("16GiB"), Ok(16 << 30));
        assert_eq!(parse_size("16g"), Ok(16 << 30));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("1.5 KiB"), Ok(1536));
        assert_eq!(parse_size("4096"), Ok(4096));
        for bad in ["", "lots", "-1GiB", "0", "1e99GB", "12 parsecs", "inf"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_check_names_the_need_the_limit_and_the_way_out() {
        let limit = limit();
        assert!(check(u128::from(limit), || unreachable!(), "").is_ok());
        let refused = check(
            u128::from(limit) + 1,
            || "a grid".into(),
            "use fewer values",
        )
        .unwrap_err();
        assert_eq!(refused.limit, limit);
        assert_eq!(refused.bytes, u128::from(limit) + 1);
        let text = refused.to_string();
        assert!(text.starts_with("a grid: "), "{text}");
        assert!(text.ends_with("; use fewer values"), "{text}");
        assert!(!fits(u128::MAX));
    }
}
