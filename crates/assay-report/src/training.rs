//! The page of one fine-tuning run: its training loss, its validation metrics per epoch and,
//! when the run valued its data, what each source of training pairs is worth.

use std::fmt::Write;

use assay_core::TrainingCurves;

use crate::html::{escape, svg_or_note, STYLE};
use crate::plots::{self, Bar, LegendAt, Line};

/// What each source of training data is worth, and the learning curve.
#[derive(Debug, Clone, Default)]
pub struct SourceWorth {
    /// The metric the values are changes of.
    pub metric: String,
    /// (source, exact Shapley value).
    pub values: Vec<(String, f64)>,
    /// (training pairs, metric) from none to all.
    pub curve: Vec<(f64, f64)>,
}

/// Steps averaged into one point of the smoothed loss line.
const SMOOTHING: usize = 20;

/// One self-contained HTML page: `facts` as a table, then the charts of `curves` and `worth`.
pub fn render_training(
    title: &str,
    facts: &[(String, String)],
    curves: Option<&TrainingCurves>,
    worth: Option<&SourceWorth>,
) -> String {
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n",
        t = escape(title)
    );
    if !facts.is_empty() {
        page.push_str("<table>\n");
        for (name, value) in facts {
            let _ = writeln!(
                page,
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(name),
                escape(value)
            );
        }
        page.push_str("</table>\n");
    }
    if let Some(curves) = curves {
        curves_section(&mut page, curves);
    }
    if let Some(worth) = worth {
        worth_section(&mut page, worth);
    }
    page.push_str("</body>\n</html>\n");
    page
}

fn curves_section(page: &mut String, curves: &TrainingCurves) {
    page.push_str("<h2>Training curves</h2>\n");
    if curves.steps.is_empty() {
        page.push_str("<p>No optimiser step was taken.</p>\n");
    } else {
        let raw: Vec<(f64, f64)> = curves
            .steps
            .iter()
            .map(|s| (s.step as f64, s.loss))
            .collect();
        // A running mean over the last steps shows the trend through batch-to-batch noise.
        let smoothed: Vec<(f64, f64)> = (0..raw.len())
            .map(|i| {
                let from = (i + 1).saturating_sub(SMOOTHING);
                let window = &raw[from..=i];
                (
                    raw[i].0,
                    window.iter().map(|p| p.1).sum::<f64>() / window.len() as f64,
                )
            })
            .collect();
        let lines = [
            Line {
                name: "loss per step".into(),
                points: raw,
                dashed: true,
                color: 6,
            },
            Line {
                name: format!("mean of the last {SMOOTHING} steps"),
                points: smoothed,
                dashed: false,
                color: 0,
            },
        ];
        svg_or_note(
            page,
            plots::lines(
                "Training loss",
                "optimiser step",
                "loss",
                &lines,
                false,
                LegendAt::UpperRight,
            ),
            "The contrastive loss of every optimiser step, and its running mean.",
        );
    }
    if curves.epochs.is_empty() {
        return;
    }
    let lines: Vec<Line> = curves
        .metrics
        .iter()
        .enumerate()
        .map(|(m, name)| Line {
            name: name.clone(),
            points: curves
                .epochs
                .iter()
                .map(|e| (e.epoch as f64, e.values[m]))
                .filter(|p| p.1.is_finite())
                .collect(),
            dashed: false,
            color: m,
        })
        .collect();
    svg_or_note(
        page,
        plots::lines(
            "Validation after each epoch",
            "epoch (0 = before training)",
            "metric",
            &lines,
            false,
            LegendAt::LowerRight,
        ),
        "Validation metrics on the held-out queries; the folder keeps the epoch with the best first metric.",
    );
    let mut table = String::from("<table>\n<tr><th>epoch</th><th>steps</th>");
    for m in &curves.metrics {
        let _ = write!(table, "<th>{}</th>", escape(m));
    }
    table.push_str("</tr>\n");
    for e in &curves.epochs {
        let _ = write!(
            table,
            "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td>",
            e.epoch, e.step
        );
        for v in &e.values {
            let _ = write!(table, "<td class=\"n\">{v:.4}</td>");
        }
        table.push_str("</tr>\n");
    }
    table.push_str("</table>\n");
    page.push_str(&table);
}

fn worth_section(page: &mut String, worth: &SourceWorth) {
    let _ = writeln!(
        page,
        "<h2>What the training data is worth</h2>\n<p>Exact Shapley values: each source's average gain in {} over every order in which the sources could have been added.</p>",
        escape(&worth.metric)
    );
    let bars: Vec<Bar> = worth
        .values
        .iter()
        .map(|(name, value)| Bar {
            name: name.clone(),
            value: *value,
            half_width: f64::NAN,
        })
        .collect();
    svg_or_note(
        page,
        plots::bars("Value of each source", &worth.metric, &bars),
        "Exact values: no sampling error. A negative value means the source made the encoder worse.",
    );
    if worth.curve.len() > 1 {
        let line = Line {
            name: worth.metric.clone(),
            points: worth.curve.clone(),
            dashed: false,
            color: 0,
        };
        svg_or_note(
            page,
            plots::lines(
                "Learning curve",
                "training pairs",
                &worth.metric,
                &[line],
                false,
                LegendAt::LowerRight,
            ),
            "The metric after fine-tuning on growing shares of all the training pairs.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_core::{EpochPoint, StepPoint};

    #[test]
    fn draws_the_loss_the_epochs_and_the_values_and_escapes_names() {
        let curves = TrainingCurves {
            metrics: vec!["ndcg@10".into(), "mrr<10>".into()],
            steps: (1..=30)
                .map(|step| StepPoint {
                    epoch: 1,
                    step,
                    lr: 1e-5,
                    loss: 3.0 / step as f64,
                })
                .collect(),
            epochs: vec![
                EpochPoint {
                    epoch: 0,
                    step: 0,
                    values: vec![0.5, 0.4],
                },
                EpochPoint {
                    epoch: 1,
                    step: 30,
                    values: vec![0.6, 0.5],
                },
            ],
        };
        let worth = SourceWorth {
            metric: "nDCG@10".into(),
            values: vec![("judgments".into(), 0.05), ("clicks".into(), -0.01)],
            curve: vec![(0.0, 0.5), (100.0, 0.55)],
        };
        let facts = [("freeze".to_owned(), "a & b".to_owned())];
        let html = render_training("Fine-tuning", &facts, Some(&curves), Some(&worth));
        assert_eq!(html.matches("<svg").count(), 4);
        assert!(html.contains("a &amp; b") && html.contains("mrr&lt;10&gt;"));
        assert!(html.contains("<td class=\"n\">0.6000</td>"));
        let bare = render_training("Fine-tuning", &[], None, None);
        assert_eq!(bare.matches("<svg").count(), 0);
    }
}
