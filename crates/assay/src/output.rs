//! Rendering results: aligned text tables for people, JSON for machines.

use std::io::{self, Write};

use serde::Serialize;

/// A text table with a header row; numbers are right-aligned.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; it must have one cell per column.
    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.header.len());
        self.rows.push(cells);
    }

    /// Writes the table with two spaces between columns.
    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|c| {
                let cells = self.rows.iter().map(|r| r[c].chars().count());
                cells
                    .chain([self.header[c].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |out: &mut dyn Write, cells: &[String]| -> io::Result<()> {
            let mut text = String::new();
            for (c, cell) in cells.iter().enumerate() {
                let pad = widths[c] - cell.chars().count();
                if c > 0 {
                    text.push_str("  ");
                }
                if looks_numeric(cell) {
                    text.extend(std::iter::repeat_n(' ', pad));
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    if c + 1 < cells.len() {
                        text.extend(std::iter::repeat_n(' ', pad));
                    }
                }
            }
            writeln!(out, "{}", text.trim_end())
        };
        line(out, &self.header)?;
        let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
        line(out, &rule)?;
        for row in &self.rows {
            line(out, row)?;
        }
        Ok(())
    }

    /// Writes the table to standard output.
    pub fn print(&self) -> io::Result<()> {
        self.write(&mut io::stdout().lock())
    }
}

fn looks_numeric(cell: &str) -> bool {
    !cell.is_empty()
        && cell
            .chars()
            .all(|c| c.is_ascii_digit() || ".,-+e%".contains(c))
}

/// A confidence interval as `[lo, hi]` with `digits` decimals, when both ends are known.
pub fn interval(lo: Option<f64>, hi: Option<f64>, digits: usize) -> Option<String> {
    Some(format!("[{:.digits$}, {:.digits$}]", lo?, hi?))
}

/// The confidence level of intervals at significance `alpha`, as a percentage: 0.05 gives
/// "95%", 0.025 gives "97.5%".
pub fn confidence_level(alpha: f64) -> String {
    let percent = format!("{:.2}", (1.0 - alpha) * 100.0);
    let trimmed = percent.trim_end_matches('0').trim_end_matches('.');
    format!("{trimmed}%")
}

/// Prints `value` as pretty JSON on standard output.
pub fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// A count with thousands separators: 1234567 -> "1,234,567".
pub fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A rate as a percentage with enough digits for small click-through rates.
pub fn percent(rate: Option<f64>) -> String {
    match rate {
        Some(r) if r < 0.01 => format!("{:.3}%", r * 100.0),
        Some(r) => format!("{:.2}%", r * 100.0),
        None => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_text_left_and_numbers_right() {
        let mut table = Table::new(&["source", "events"]);
        table.row(vec!["app".into(), "1,234".into()]);
        table.row(vec!["partner-feed".into(), "5".into()]);
        let mut out = Vec::new();
        table.write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "source        events\n------------  ------\napp            1,234\npartner-feed       5\n"
        );
    }

    #[test]
    fn counts_and_percentages() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(percent(Some(0.0038)), "0.380%");
        assert_eq!(percent(Some(0.25)), "25.00%");
        assert_eq!(percent(None), "-");
        assert_eq!(
            interval(Some(0.1), Some(0.25), 3).as_deref(),
            Some("[0.100, 0.250]")
        );
        assert_eq!(interval(None, Some(0.25), 3), None);
        assert_eq!(confidence_level(0.05), "95%");
        assert_eq!(confidence_level(0.1), "90%");
        assert_eq!(confidence_level(0.025), "97.5%");
        assert_eq!(confidence_level(0.001), "99.9%");
    }
}
