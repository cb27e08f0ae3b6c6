//! Training pages. [`render_training`]: one fine-tuning run, its training loss, its
//! validation metrics per epoch and, when the run valued its data, what each source of
//! training pairs is worth. [`render_training_runs`]: several models' fits on one page, each
//! with its loss and validation metric per epoch, the best epoch and where training stopped.

use std::fmt::Write;

use assay_core::TrainingCurves;
use assay_recommend::StopReason;

use crate::html::{escape, svg_or_note, STYLE};
use crate::plots::{self, Bar, LegendAt, Line, Mark};

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

/// The head of a page and `facts` as a table.
fn head(title: &str, facts: &[(String, String)]) -> String {
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
    page
}

/// One self-contained HTML page: `facts` as a table, then the charts of `curves` and `worth`.
pub fn render_training(
    title: &str,
    facts: &[(String, String)],
    curves: Option<&TrainingCurves>,
    worth: Option<&SourceWorth>,
) -> String {
    let mut page = head(title, facts);
    if let Some(curves) = curves {
        curves_section(&mut page, curves);
    }
    if let Some(worth) = worth {
        worth_section(&mut page, worth);
    }
    page.push_str("</body>\n</html>\n");
    page
}

/// One model's fit, as [`render_training_runs`] draws it.
#[derive(Debug, Clone)]
pub struct TrainingRun {
    /// The section's heading, e.g. the model and its seed.
    pub name: String,
    /// The fit's curves (step rows: the loss of each optimiser step; epoch rows: validation).
    pub curves: TrainingCurves,
    /// The metric early stopping watched: an index into the curves' metrics.
    pub watched: usize,
    /// The epoch whose weights were kept, when validated; marked on both charts.
    pub best_epoch: Option<usize>,
    /// Why training ended; early stopping and the time limit are marked at the last epoch.
    pub stop: Option<StopReason>,
    /// Where the curves are stored, shown under the heading (e.g. `gru4rec/curves.csv`).
    pub source: Option<String>,
}

/// The last epoch a run reached: its last validated epoch, or the last epoch with a step.
fn last_epoch(curves: &TrainingCurves) -> usize {
    let validated = curves.epochs.iter().map(|e| e.epoch).max().unwrap_or(0);
    let stepped = curves.steps.iter().map(|s| s.epoch).max().unwrap_or(0);
    validated.max(stepped)
}

/// Mean loss of each epoch's steps: (epoch, steps, mean), in epoch order.
fn epoch_losses(curves: &TrainingCurves) -> Vec<(usize, usize, f64)> {
    let mut out: Vec<(usize, usize, f64)> = Vec::new();
    for s in &curves.steps {
        match out.last_mut() {
            Some((epoch, n, sum)) if *epoch == s.epoch => {
                *n += 1;
                *sum += s.loss;
            }
            _ => out.push((s.epoch, 1, s.loss)),
        }
    }
    out.into_iter()
        .map(|(epoch, n, sum)| (epoch, n, sum / n as f64))
        .collect()
}

/// What a run's charts mark: the best epoch, and the epoch where early stopping or the time
/// limit ended training.
fn marks(run: &TrainingRun) -> Vec<Mark> {
    let mut marks = Vec::new();
    if let Some(best) = run.best_epoch {
        marks.push(Mark {
            name: format!("best epoch ({best})"),
            x: best as f64,
            color: 2,
        });
    }
    let last = last_epoch(&run.curves);
    let stopped = match run.stop {
        Some(StopReason::Patience) => Some("early stopping fired"),
        Some(StopReason::TimeLimit) => Some("time limit reached"),
        _ => None,
    };
    if let Some(what) = stopped {
        marks.push(Mark {
            name: format!("{what} ({last})"),
            x: last as f64,
            color: 3,
        });
    }
    marks
}

/// One sentence on how a run ended: epochs run, the best epoch and its score, why it stopped.
fn run_summary(run: &TrainingRun) -> String {
    let curves = &run.curves;
    let last = last_epoch(curves);
    let mut text = format!("{last} epoch{} ran", if last == 1 { "" } else { "s" });
    if let Some(best) = run.best_epoch {
        let score = curves
            .epochs
            .iter()
            .find(|e| e.epoch == best)
            .and_then(|e| e.values.get(run.watched).copied());
        match (score, curves.metrics.get(run.watched)) {
            (Some(v), Some(metric)) if v.is_finite() => {
                let _ = write!(
                    text,
                    "; best epoch {best} (validation {metric} {v:.4}), whose weights were kept"
                );
            }
            _ => {
                let _ = write!(text, "; best epoch {best}, whose weights were kept");
            }
        }
    }
    match run.stop {
        Some(StopReason::Patience) => {
            let since = run.best_epoch.map_or(String::new(), |b| {
                format!(
                    " after {} epochs without improvement",
                    last.saturating_sub(b)
                )
            });
            let _ = write!(text, "; early stopping fired at epoch {last}{since}");
        }
        Some(StopReason::TimeLimit) => {
            let _ = write!(text, "; the time limit ended training at epoch {last}");
        }
        Some(StopReason::MaxEpochs) => text.push_str("; every allowed epoch ran"),
        None => {}
    }
    text.push('.');
    text
}

/// One self-contained HTML page of several fits: `facts` as a table, then per run its loss per
/// epoch and its validation metrics per epoch, each chart marking the best epoch and where
/// early stopping (or the time limit) ended training, and a table of the epochs.
pub fn render_training_runs(
    title: &str,
    facts: &[(String, String)],
    runs: &[TrainingRun],
) -> String {
    let mut page = head(title, facts);
    if runs.is_empty() {
        page.push_str("<p>No model here trains in epochs, so there are no curves.</p>\n");
    }
    for run in runs {
        run_section(&mut page, run);
    }
    page.push_str("</body>\n</html>\n");
    page
}

fn run_section(page: &mut String, run: &TrainingRun) {
    let curves = &run.curves;
    let _ = writeln!(page, "<h2>{}</h2>", escape(&run.name));
    let _ = writeln!(page, "<p>{}</p>", escape(&run_summary(run)));
    if let Some(source) = &run.source {
        let _ = writeln!(page, "<p class=\"sub\">Curves: {}</p>", escape(source));
    }
    let marks = marks(run);
    let losses = epoch_losses(curves);
    if losses.is_empty() {
        page.push_str("<p>This model does not record a training loss.</p>\n");
    } else {
        let mut lines = Vec::new();
        // Steps of epoch e sit between e - 1 and e, the last one on e.
        if curves.steps.len() > losses.len() {
            let mut k = 0usize;
            let mut points = Vec::with_capacity(curves.steps.len());
            for &(epoch, n, _) in &losses {
                for j in 1..=n {
                    let step = &curves.steps[k];
                    points.push((epoch as f64 - 1.0 + j as f64 / n as f64, step.loss));
                    k += 1;
                }
            }
            lines.push(Line {
                name: "loss per step".into(),
                points,
                dashed: true,
                color: 6,
            });
        }
        lines.push(Line {
            name: "mean loss of the epoch".into(),
            points: losses.iter().map(|&(e, _, l)| (e as f64, l)).collect(),
            dashed: false,
            color: 0,
        });
        svg_or_note(
            page,
            plots::marked_lines(
                &format!("{}: training loss", run.name),
                "epoch",
                "loss",
                &lines,
                &marks,
                false,
                LegendAt::UpperRight,
            ),
            "The mean training loss of each epoch's optimiser steps (and each step's, dashed).",
        );
    }
    let validated: Vec<Line> = curves
        .metrics
        .iter()
        .enumerate()
        .map(|(m, name)| Line {
            name: format!("validation {name}"),
            points: curves
                .epochs
                .iter()
                .filter_map(|e| Some((e.epoch as f64, *e.values.get(m)?)))
                .filter(|p| p.1.is_finite())
                .collect(),
            dashed: false,
            color: [1, 4, 5, 6][m % 4],
        })
        .filter(|l| !l.points.is_empty())
        .collect();
    if validated.is_empty() {
        page.push_str("<p>This fit was not validated.</p>\n");
    } else {
        let caption = match curves.metrics.get(run.watched) {
            Some(m) => {
                format!("The validation metrics after each epoch; early stopping watches {m}.")
            }
            None => "The validation metrics after each epoch.".to_owned(),
        };
        svg_or_note(
            page,
            plots::marked_lines(
                &format!("{}: validation after each epoch", run.name),
                "epoch",
                "metric",
                &validated,
                &marks,
                false,
                LegendAt::LowerRight,
            ),
            &caption,
        );
    }
    let mut table = String::from("<table>\n<tr><th>epoch</th><th>steps</th><th>mean loss</th>");
    for m in &curves.metrics {
        let _ = write!(table, "<th>validation {}</th>", escape(m));
    }
    table.push_str("<th></th></tr>\n");
    let mut epochs: Vec<usize> = curves
        .epochs
        .iter()
        .map(|e| e.epoch)
        .chain(losses.iter().map(|l| l.0))
        .collect();
    epochs.sort_unstable();
    epochs.dedup();
    let last = last_epoch(curves);
    for epoch in epochs {
        let row = curves.epochs.iter().find(|e| e.epoch == epoch);
        let steps = row.map(|e| e.step).or_else(|| {
            curves
                .steps
                .iter()
                .filter(|s| s.epoch <= epoch)
                .map(|s| s.step)
                .max()
        });
        let _ = write!(
            table,
            "<tr><td class=\"n\">{epoch}</td><td class=\"n\">{}</td>",
            steps.map_or(String::new(), |s| s.to_string())
        );
        match losses.iter().find(|l| l.0 == epoch) {
            Some(&(_, _, loss)) => {
                let _ = write!(table, "<td class=\"n\">{loss:.4}</td>");
            }
            None => table.push_str("<td></td>"),
        }
        for m in 0..curves.metrics.len() {
            match row
                .and_then(|e| e.values.get(m).copied())
                .filter(|v| v.is_finite())
            {
                Some(v) => {
                    let _ = write!(table, "<td class=\"n\">{v:.4}</td>");
                }
                None => table.push_str("<td></td>"),
            }
        }
        let mut note = Vec::new();
        if run.best_epoch == Some(epoch) {
            note.push("best: kept");
        }
        if epoch == last {
            match run.stop {
                Some(StopReason::Patience) => note.push("early stopping fired"),
                Some(StopReason::TimeLimit) => note.push("time limit reached"),
                _ => {}
            }
        }
        let _ = writeln!(table, "<td>{}</td></tr>", note.join("; "));
    }
    table.push_str("</table>\n");
    page.push_str(&table);
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

    /// A fit of four epochs of two steps each, validated after each, best at epoch 2.
    fn four_epochs(stop: StopReason) -> TrainingRun {
        TrainingRun {
            name: "gru4rec <seed 1>".into(),
            curves: TrainingCurves {
                metrics: vec!["ndcg@10".into()],
                steps: (1..=8usize)
                    .map(|step| StepPoint {
                        epoch: step.div_ceil(2),
                        step,
                        lr: 1e-3,
                        loss: 10.0 - step as f64,
                    })
                    .collect(),
                epochs: [0.1, 0.3, 0.2, 0.25]
                    .iter()
                    .enumerate()
                    .map(|(e, &v)| EpochPoint {
                        epoch: e + 1,
                        step: 2 * (e + 1),
                        values: vec![v],
                    })
                    .collect(),
            },
            watched: 0,
            best_epoch: Some(2),
            stop: Some(stop),
            source: Some("gru4rec/curves.csv".into()),
        }
    }

    #[test]
    fn a_page_of_runs_draws_loss_and_validation_and_marks_the_best_epoch_and_the_stop() {
        let validated_only = TrainingRun {
            name: "als".into(),
            curves: TrainingCurves {
                metrics: vec!["ndcg@10".into()],
                steps: Vec::new(),
                epochs: vec![EpochPoint {
                    epoch: 1,
                    step: 0,
                    values: vec![0.2],
                }],
            },
            watched: 0,
            best_epoch: Some(1),
            stop: Some(StopReason::MaxEpochs),
            source: None,
        };
        let html = render_training_runs(
            "Training",
            &[],
            &[four_epochs(StopReason::Patience), validated_only],
        );
        // Loss and validation of the first run, validation alone of the second.
        assert_eq!(html.matches("<svg").count(), 3);
        assert_eq!(html.matches("</svg>").count(), 3);
        assert!(!html.contains("<script"));
        assert!(html.contains("<h2>gru4rec &lt;seed 1&gt;</h2>"), "{html}");
        assert!(html.contains(
            "4 epochs ran; best epoch 2 (validation ndcg@10 0.3000), whose weights were kept; \
             early stopping fired at epoch 4 after 2 epochs without improvement."
        ));
        // Both marks are in both charts' legends.
        assert_eq!(html.matches("best epoch (2)").count(), 2);
        assert_eq!(html.matches("early stopping fired (4)").count(), 2);
        // Epoch 3's steps lost 10 - 5 and 10 - 6: mean 4.5.
        assert!(html.contains(
            "<tr><td class=\"n\">3</td><td class=\"n\">6</td><td class=\"n\">4.5000</td><td class=\"n\">0.2000</td><td></td></tr>"
        ), "{html}");
        assert!(html.contains("<td class=\"n\">0.3000</td><td>best: kept</td>"));
        assert!(html.contains("early stopping fired</td></tr>"));
        assert!(html.contains("This model does not record a training loss."));
        let timed = render_training_runs("t", &[], &[four_epochs(StopReason::TimeLimit)]);
        assert!(
            timed.contains("time limit reached (4)") && !timed.contains("early stopping fired")
        );
        let empty = render_training_runs("t", &[], &[]);
        assert!(empty.contains("no curves") && !empty.contains("<svg"));
    }
}
