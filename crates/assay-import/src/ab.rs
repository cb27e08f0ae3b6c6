//! An A/B test file: one row per unit with its variant, metric, and optionally a pre-period
//! metric and a day.

use std::path::Path;

use crate::ImportError;

/// The columns of an A/B test file, checked: two arms, each with at least two units; every
/// number finite.
#[derive(Debug, Clone, PartialEq)]
pub struct AbTable {
    /// The control arm (first seen) and the treatment arm.
    pub arm_names: [String; 2],
    /// Arm of each unit: 0 control, 1 treatment.
    pub arm: Vec<u8>,
    /// The metric of each unit.
    pub metric: Vec<f64>,
    /// The pre-period metric of each unit, when the file has the column.
    pub pre_metric: Option<Vec<f64>>,
    /// The day of each unit (an integer, or days since 1970-01-01 for dates), when given.
    pub day: Option<Vec<i64>>,
}

/// Reads an A/B CSV: a header naming `variant` and `metric` and optionally `pre_metric` and
/// `day` (in any order), then one row per unit.
///
/// Exactly two variants; the first one seen is control. `day` is an integer or a `YYYY-MM-DD`
/// date. Errors name the file, the line and the field.
pub fn read_ab_csv(path: &Path) -> Result<AbTable, ImportError> {
    read_ab(path, crate::capped::open(path)?)
}

/// Parses the text of an A/B CSV; `path` only labels errors. See [`read_ab_csv`].
pub fn parse_ab_csv(path: &Path, text: &str) -> Result<AbTable, ImportError> {
    read_ab(path, text.as_bytes())
}

/// Reads an A/B CSV from `input`, one row at a time.
fn read_ab(path: &Path, input: impl std::io::Read) -> Result<AbTable, ImportError> {
    let bad =
        |line: u64, field: &str, message: String| ImportError::field(path, line, field, message);
    let (mut reader, headers) = crate::table::trimmed_csv(path, input)?;
    let mut columns: [Option<usize>; 4] = [None; 4];
    const NAMES: [&str; 4] = ["variant", "metric", "pre_metric", "day"];
    for (j, name) in headers.iter().enumerate() {
        let Some(k) = NAMES.iter().position(|n| *n == name) else {
            return Err(bad(
                1,
                name,
                "unknown column; expected `variant,metric` and optionally `pre_metric` and `day`"
                    .into(),
            ));
        };
        if columns[k].is_some() {
            return Err(bad(1, name, "the column appears twice".into()));
        }
        columns[k] = Some(j);
    }
    let (Some(variant_col), Some(metric_col)) = (columns[0], columns[1]) else {
        return Err(bad(
            1,
            "header",
            format!(
                "expected columns `variant` and `metric`, found `{}`",
                headers.iter().collect::<Vec<_>>().join(",")
            ),
        ));
    };
    let (pre_col, day_col) = (columns[2], columns[3]);
    let mut names: Vec<String> = Vec::new();
    let mut arm = Vec::new();
    let mut metric = Vec::new();
    let mut pre = Vec::new();
    let mut day = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| crate::table::row_error(path, 0, "row", e))?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |k: usize| record.get(k).unwrap_or("");
        let variant = field(variant_col);
        if variant.is_empty() {
            return Err(bad(line, "variant", "empty variant name".into()));
        }
        let k = match names.iter().position(|n| n == variant) {
            Some(k) => k,
            None if names.len() < 2 => {
                names.push(variant.to_owned());
                names.len() - 1
            }
            None => {
                return Err(bad(
                    line,
                    "variant",
                    format!(
                        "a third variant `{variant}`; expected two arms (`{}` and `{}`)",
                        names[0], names[1]
                    ),
                ))
            }
        };
        arm.push(k as u8);
        metric.push(parse_number(path, line, "metric", field(metric_col))?);
        if let Some(c) = pre_col {
            pre.push(parse_number(path, line, "pre_metric", field(c))?);
        }
        if let Some(c) = day_col {
            day.push(parse_day(path, line, field(c))?);
        }
    }
    if names.len() < 2 {
        return Err(bad(
            0,
            "variant",
            format!(
                "expected two variants, found {}",
                if names.is_empty() {
                    "no data rows".to_owned()
                } else {
                    format!("only `{}`", names[0])
                }
            ),
        ));
    }
    for (k, name) in names.iter().enumerate() {
        let count = arm.iter().filter(|&&a| usize::from(a) == k).count();
        if count < 2 {
            return Err(bad(
                0,
                "variant",
                format!("variant `{name}` has {count} row; expected at least two units per arm"),
            ));
        }
    }
    Ok(AbTable {
        arm_names: [names[0].clone(), names[1].clone()],
        arm,
        metric,
        pre_metric: pre_col.map(|_| pre),
        day: day_col.map(|_| day),
    })
}

fn parse_number(path: &Path, line: u64, field: &str, text: &str) -> Result<f64, ImportError> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(ImportError::field(
            path,
            line,
            field,
            format!("expected a finite number, found `{text}`"),
        )),
    }
}

fn parse_day(path: &Path, line: u64, text: &str) -> Result<i64, ImportError> {
    if let Ok(d) = text.parse::<i64>() {
        return Ok(d);
    }
    let parts: Vec<&str> = text.split('-').collect();
    if let [y, m, d] = parts.as_slice() {
        if let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i64>(), m.parse::<u32>(), d.parse::<u32>()) {
            if parts[0].len() == 4 && (1..=12).contains(&m) && (1..=31).contains(&d) {
                return Ok(assay_core::time::days_from_civil(y, m, d));
            }
        }
    }
    Err(ImportError::field(
        path,
        line,
        "day",
        format!("expected a day number or a YYYY-MM-DD date, found `{text}`"),
    ))
}
