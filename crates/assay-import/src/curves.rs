//! Reads a trainer's `curves.csv` back for a report.

use std::path::Path;

use assay_core::{EpochPoint, StepPoint, TrainingCurves};

use crate::table::{Table, TableFormat};
use crate::ImportError;

/// The columns before the metrics.
const FIXED: [&str; 5] = ["kind", "epoch", "step", "lr", "loss"];

/// Reads `curves.csv` (columns `kind, epoch, step, lr, loss`, then one per validation metric;
/// `kind` is `step` or `epoch`), naming the line and column of anything else.
pub fn read_training_curves(path: &Path) -> Result<TrainingCurves, ImportError> {
    let mut table = Table::open(path, TableFormat::Delimited(b','))?;
    const WHY: &str = "(a curves file starts with kind, epoch, step, lr, loss)";
    let mut fixed = [0usize; 5];
    for (slot, name) in fixed.iter_mut().zip(FIXED) {
        *slot = table.require(name, WHY)?;
    }
    let [kind, epoch, step, lr, loss] = fixed;
    let metrics: Vec<String> = table
        .header()
        .iter()
        .filter(|h| !FIXED.contains(&h.as_str()))
        .cloned()
        .collect();
    let metric_columns: Vec<usize> = metrics
        .iter()
        .map(|m| table.require(m, WHY))
        .collect::<Result<_, _>>()?;
    let mut curves = TrainingCurves {
        metrics,
        ..TrainingCurves::default()
    };
    let count = |table: &Table, column: usize| -> Result<usize, ImportError> {
        table
            .get(column)
            .trim()
            .parse()
            .map_err(|_| table.error(column, "expected a whole number"))
    };
    let number = |table: &Table, column: usize| -> Result<f64, ImportError> {
        match table.get(column).trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(table.error(column, "expected a finite number")),
        }
    };
    while table.next_row()? {
        match table.get(kind).trim() {
            "step" => curves.steps.push(StepPoint {
                epoch: count(&table, epoch)?,
                step: count(&table, step)?,
                lr: number(&table, lr)?,
                loss: number(&table, loss)?,
            }),
            "epoch" => {
                let values = metric_columns
                    .iter()
                    // A metric can be undefined (no validation queries): NaN, drawn as a gap.
                    .map(|&c| match table.get(c).trim() {
                        "NaN" | "" => Ok(f64::NAN),
                        _ => number(&table, c),
                    })
                    .collect::<Result<_, _>>()?;
                curves.epochs.push(EpochPoint {
                    epoch: count(&table, epoch)?,
                    step: count(&table, step)?,
                    values,
                });
            }
            other => {
                return Err(table.error(kind, format!("expected step or epoch, found '{other}'")))
            }
        }
    }
    Ok(curves)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_steps_and_epochs_and_names_bad_cells() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.csv");
        std::fs::write(
            &path,
            "kind,epoch,step,lr,loss,ndcg@10\nepoch,0,0,,,0.5\nstep,1,1,1e-5,2.5,\nepoch,1,1,,,0.625\n",
        )
        .unwrap();
        let curves = read_training_curves(&path).unwrap();
        assert_eq!(curves.metrics, vec!["ndcg@10".to_owned()]);
        assert_eq!(
            curves.steps,
            vec![StepPoint {
                epoch: 1,
                step: 1,
                lr: 1e-5,
                loss: 2.5
            }]
        );
        assert_eq!(curves.epochs.len(), 2);
        assert_eq!(curves.epochs[1].values, vec![0.625]);

        std::fs::write(&path, "kind,epoch,step,lr,loss\nstep,1,x,1e-5,2.5\n").unwrap();
        let e = read_training_curves(&path).unwrap_err().to_string();
        assert!(e.contains("curves.csv:2") && e.contains("step"), "{e}");
    }
}
