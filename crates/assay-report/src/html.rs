//! The HTML page: one string, styles inline, charts as inline SVG, no script, no external
//! resource. Every piece of text that comes from data goes through [`escape`].

use std::fmt::Write;

use crate::advice::{num, percent, signed, summarize, Action};
use crate::model::{LearningCurve, ValueReport, ValueRow, ValueTable, Z95};
use crate::plots::{self, Bar, LegendAt, Line};

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The stylesheet of assay's pages.
pub const STYLE: &str = "body{font-family:sans-serif;max-width:900px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}\
.sub{color:#666;margin-top:0}table{border-collapse:collapse;margin:.8em 0;font-size:.92em}\
th,td{padding:.25em .7em;border-bottom:1px solid #e3e3e3;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f4f4f4}\
.act{font-weight:bold;white-space:nowrap}.drop{color:#b00}.fix{color:#c60}.buy-more{color:#070}\
.keep{color:#1f5fa8}.unclear{color:#777}figure{margin:1em 0}figcaption{color:#555;font-size:.9em}\
.pair{display:flex;gap:2em;flex-wrap:wrap}footer{margin-top:3em;color:#555;font-size:.9em;border-top:1px solid #ccc}";

/// Renders the report as one self-contained HTML page.
pub fn render_html(report: &ValueReport) -> String {
    let mut page = String::new();
    let metric = escape(&report.utility);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&report.title)
    );
    let d = &report.dataset;
    let _ = write!(
        page,
        "<h1>{}</h1>\n<p class=\"sub\">{}: {} users, {} items, {} events; {} training, {} validation and {} test rows. \
         Every value is the change in <b>{metric}</b> of a <b>{}</b> recommender that the data brings.</p>\n",
        escape(&report.title),
        escape(&d.name),
        d.users,
        d.items,
        d.events,
        d.train_rows,
        d.valid_rows,
        d.test_rows,
        escape(&report.model)
    );
    summary_section(&mut page, report);
    for table in &report.groups {
        group_section(&mut page, report, table);
    }
    for table in &report.points {
        points_section(&mut page, report, table);
    }
    removal_section(&mut page, report);
    learning_section(&mut page, report);
    footer(&mut page, report);
    page.push_str("</body>\n</html>\n");
    page
}

fn summary_section(page: &mut String, report: &ValueReport) {
    let summary = summarize(report);
    page.push_str("<h2>Summary: what to keep, fix, buy or drop</h2>\n<ul>\n");
    for line in &summary.headlines {
        let _ = writeln!(page, "<li>{}</li>", escape(line));
    }
    page.push_str("</ul>\n");
    if summary.advice.is_empty() {
        return;
    }
    page.push_str("<table>\n<tr><th>action</th><th>data</th><th>why</th></tr>\n");
    for advice in &summary.advice {
        let class = match advice.action {
            Action::Drop => "drop",
            Action::Fix => "fix",
            Action::BuyMore => "buy-more",
            Action::Keep => "keep",
            Action::Unclear => "unclear",
        };
        let _ = writeln!(
            page,
            "<tr><td class=\"act {class}\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(advice.action.label()),
            escape(&advice.name),
            escape(&advice.reason)
        );
    }
    page.push_str("</table>\n<p class=\"sub\">Drop: the 95% interval of the value is below zero. Fix: negative, but the interval reaches zero. \
        Buy more: clearly positive, and the source's learning curve predicts at least a 0.5% gain from 10% more of it. \
        Keep: clearly positive. Unclear: the interval contains zero.</p>\n");
}

/// Appends a figure: the chart, or a note saying why it could not be drawn, and its caption.
pub fn svg_or_note(page: &mut String, svg: Result<String, plots::PlotError>, caption: &str) {
    page.push_str("<figure>\n");
    match svg {
        Ok(svg) => page.push_str(&svg),
        Err(e) => {
            let _ = write!(
                page,
                "<p>(the chart could not be drawn: {})</p>",
                escape(&e.to_string())
            );
        }
    }
    let _ = writeln!(
        page,
        "\n<figcaption>{}</figcaption>\n</figure>",
        escape(caption)
    );
}

fn half_width(row: &ValueRow) -> f64 {
    Z95 * row.std_error
}

fn group_section(page: &mut String, report: &ValueReport, table: &ValueTable) {
    let _ = writeln!(page, "<h2>{}</h2>", escape(&table.title));
    let bars: Vec<Bar> = table
        .rows
        .iter()
        .map(|r| Bar {
            name: r.name.clone(),
            value: r.value,
            half_width: half_width(r),
        })
        .collect();
    svg_or_note(
        page,
        plots::bars(
            &format!("Value of each {} ({})", table.kind, table.method),
            &format!("change in {} (95% interval)", report.utility),
            &bars,
        ),
        &format!(
            "{}; error bars: 95% intervals from {}.",
            table.method, table.uncertainty
        ),
    );
    value_table(page, report, &table.rows, true, false);
}

/// A table of values, best first (or worst first with `worst_first`).
fn value_table(
    page: &mut String,
    report: &ValueReport,
    rows: &[ValueRow],
    share: bool,
    worst_first: bool,
) {
    page.push_str(
        "<table>\n<tr><th>player</th><th>value</th><th>std error</th><th>95% interval</th>",
    );
    if share {
        page.push_str("<th>share of total</th>");
    }
    page.push_str("<th>training rows</th></tr>\n");
    let mut order: Vec<&ValueRow> = rows.iter().collect();
    order.sort_by(|a, b| b.value.total_cmp(&a.value));
    if worst_first {
        order.reverse();
    }
    for r in order {
        let interval = r.interval().map_or("n/a".to_owned(), |(lo, hi)| {
            format!("{} to {}", num(lo), num(hi))
        });
        let _ = write!(
            page,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
            escape(&r.name),
            signed(r.value),
            num(r.std_error),
            interval
        );
        if share {
            let _ = write!(
                page,
                "<td class=\"n\">{}</td>",
                percent(r.value / report.baseline.valid)
            );
        }
        let _ = writeln!(page, "<td class=\"n\">{}</td></tr>", r.rows);
    }
    page.push_str("</table>\n");
}

fn points_section(page: &mut String, report: &ValueReport, table: &ValueTable) {
    let _ = writeln!(page, "<h2>{}</h2>", escape(&table.title));
    let values: Vec<f64> = table.rows.iter().map(|r| r.value).collect();
    let bins = ((values.len() as f64).sqrt().ceil() as usize).clamp(5, 40);
    svg_or_note(
        page,
        plots::histogram(
            &format!("Distribution of {} values", table.kind),
            &format!("value: change in {}", report.utility),
            &values,
            bins,
        ),
        &format!(
            "{} {}; {}; standard errors from {}. Red bars: values below zero.",
            table.rows.len(),
            crate::advice::plural(&table.kind),
            table.method,
            table.uncertainty
        ),
    );
    let mut order: Vec<ValueRow> = table.rows.clone();
    order.sort_by(|a, b| b.value.total_cmp(&a.value));
    let n = order.len().min(10);
    page.push_str("<div class=\"pair\">\n<div>\n");
    let _ = writeln!(page, "<h3>Top {n}</h3>");
    value_table(page, report, &order[..n], false, false);
    page.push_str("</div>\n<div>\n");
    let _ = writeln!(page, "<h3>Bottom {n} (worst first)</h3>");
    value_table(page, report, &order[order.len() - n..], false, true);
    page.push_str("</div>\n</div>\n");
}

fn removal_section(page: &mut String, report: &ValueReport) {
    let Some(removal) = &report.removal else {
        return;
    };
    page.push_str("<h2>Removal curves</h2>\n");
    let points = |ys: &[f64]| -> Vec<(f64, f64)> {
        removal
            .fractions
            .iter()
            .copied()
            .zip(ys.iter().copied())
            .collect()
    };
    let lines = [
        Line {
            name: format!("highest-valued {}s first", removal.kind),
            points: points(&removal.high_first),
            dashed: false,
            color: 3,
        },
        Line {
            name: format!("random order (mean of {})", removal.random_draws),
            points: points(&removal.random),
            dashed: false,
            color: 6,
        },
        Line {
            name: format!("lowest-valued {}s first", removal.kind),
            points: points(&removal.low_first),
            dashed: false,
            color: 2,
        },
    ];
    svg_or_note(
        page,
        plots::lines(
            &format!("Test {} as {}s are removed", report.utility, removal.kind),
            &format!("share of {}s removed", removal.kind),
            &format!("test {}", report.utility),
            &lines,
            true,
            // Removal pulls every line down to the right: the lower left stays empty.
            LegendAt::LowerLeft,
        ),
        &format!(
            "The model is refitted without the removed {kind}s' data and scored on the test split{for_whom}. \
             If the values are right, removing high-valued {kind}s hurts most and removing low-valued ones hurts least (or helps).",
            kind = removal.kind,
            for_whom = if removal.audience.is_empty() {
                String::new()
            } else {
                format!(", for {}", removal.audience)
            }
        ),
    );
}

fn curve_lines(curve: &LearningCurve, color: usize, label: &str) -> Vec<Line> {
    let mut lines = vec![Line {
        name: label.to_owned(),
        points: curve
            .fractions
            .iter()
            .copied()
            .zip(curve.scores.iter().copied())
            .collect(),
        dashed: false,
        color,
    }];
    if let Some(fit) = curve.fit {
        let lo = curve.fractions.first().copied().unwrap_or(0.05).min(0.05);
        let points: Vec<(f64, f64)> = (0..=40)
            .map(|i| {
                let x = lo + (1.1 - lo) * i as f64 / 40.0;
                (x, fit.at(x))
            })
            .collect();
        lines.push(Line {
            name: format!("fit {} + {:.4}·x^{:.2}", num(fit.offset), fit.a, fit.b),
            points,
            dashed: true,
            color,
        });
    }
    lines
}

fn learning_section(page: &mut String, report: &ValueReport) {
    let Some(learning) = &report.learning else {
        return;
    };
    page.push_str("<h2>Learning curves</h2>\n");
    let overall = &learning.overall;
    let gain = overall
        .gain_of_10_percent()
        .map_or("unknown (no fit)".to_owned(), signed);
    svg_or_note(
        page,
        plots::lines(
            &format!("Test {} against the share of training data", report.utility),
            "share of training rows used",
            &format!("test {}", report.utility),
            &curve_lines(overall, 0, "measured"),
            true,
            LegendAt::UpperLeft,
        ),
        &format!(
            "A random share of all training rows (the same nested order for every point); dashed: the fitted power law, \
             extended to 110%. Predicted gain of 10% more data: {gain}."
        ),
    );
    if learning.per_source.is_empty() {
        return;
    }
    let mut lines = Vec::new();
    for (i, curve) in learning.per_source.iter().enumerate() {
        lines.extend(curve_lines(curve, i + 1, &curve.name));
    }
    let gains: Vec<String> = learning
        .per_source
        .iter()
        .map(|c| {
            format!(
                "{}: {}",
                c.name,
                c.gain_of_10_percent().map_or("no fit".to_owned(), signed)
            )
        })
        .collect();
    svg_or_note(
        page,
        plots::lines(
            &format!("Test {} against the share of one source", report.utility),
            "share of the source's rows used (other sources kept whole)",
            &format!("test {}", report.utility),
            &lines,
            true,
            LegendAt::UpperLeft,
        ),
        &format!(
            "Each line keeps every other source whole and uses a random share of one source's rows; \
             dashed: fitted power law above the other sources alone. Predicted gain of 10% more of each source: {}.",
            gains.join("; ")
        ),
    );
}

fn footer(page: &mut String, report: &ValueReport) {
    let p = &report.provenance;
    page.push_str("<footer>\n<h2>Methods and reproducibility</h2>\n<ul>\n");
    let mut items = vec![
        format!("Utility: {} of the {} recommender, refitted on each subset of the training data and scored on the validation split.", report.utility, report.model),
        format!("Split: {}; seed {}.", p.split, p.seed),
    ];
    for table in report.groups.iter().chain(&report.points) {
        items.push(format!(
            "{}: {}; uncertainty from {}.",
            table.title, table.method, table.uncertainty
        ));
    }
    items.push(format!(
        "{} model fits in {:.1} s; assay {}.",
        p.utility_evals, p.seconds, p.version
    ));
    items.extend(p.notes.iter().cloned());
    for item in items {
        let _ = writeln!(page, "<li>{}</li>", escape(&item));
    }
    page.push_str("</ul>\n</footer>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escape_by_hand() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("plain 中文"), "plain 中文");
    }

    #[test]
    fn page_of_a_hand_made_report_is_well_formed() {
        let mut report = crate::model::fixture::report();
        report.groups[0].rows[1].name = "source=<img src=x onerror=alert(1)>".into();
        report.title = "Shop & \"friends\"".into();
        let html = render_html(&report);
        // Charts: one group kind, one point kind, removal, overall and per-source learning.
        assert_eq!(html.matches("<svg").count(), 5);
        assert_eq!(html.matches("</svg>").count(), 5);
        assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
        assert!(
            !html.contains("<img") && !html.contains("<script"),
            "markup from data got through"
        );
        assert!(html.contains("source=&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("<title>Shop &amp; &quot;friends&quot;</title>"));
        // No external resource: the only URLs are the SVG namespace.
        assert_eq!(
            html.matches("http").count(),
            html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
        );
        assert!(!html.contains("https://") && !html.contains("<link"));
        // Numbers: the web source's value, its interval (0.04 ± 0.0098), the overall gain.
        assert!(
            html.contains("+0.0400") && html.contains("0.0302 to 0.0498"),
            "{html}"
        );
        assert!(html.contains("Predicted gain of 10% more data: +0.0039"));
        // Every opened table and list is closed.
        for tag in ["table", "ul", "figure", "footer", "div"] {
            assert_eq!(
                html.matches(&format!("<{tag}")).count(),
                html.matches(&format!("</{tag}>")).count(),
                "{tag}"
            );
        }
    }

    proptest! {
        #[test]
        fn escaped_text_has_no_markup(text in ".*") {
            let out = escape(&text);
            prop_assert!(!out.contains('<') && !out.contains('>') && !out.contains('"') && !out.contains('\''));
            // Every '&' starts one of the five entities.
            for (i, _) in out.match_indices('&') {
                let rest = &out[i..];
                prop_assert!(["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].iter().any(|e| rest.starts_with(e)));
            }
            // Unescaping gives the text back.
            let back = out.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"")
                .replace("&#39;", "'").replace("&amp;", "&");
            prop_assert_eq!(back, text);
        }
    }
}
