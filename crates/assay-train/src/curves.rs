//! `curves.csv`: the loss and learning rate of every step and the validation metrics of every
//! epoch, in one table that a report can draw.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::{io_error, Result, TrainError};

/// A `curves.csv` being written. Columns: `kind` (`step` or `epoch`), `epoch` (from 1; 0 is the
/// evaluation before training), `step` (optimiser steps so far), `lr`, `loss` (both empty on
/// epoch rows), then one column per validation metric (empty on step rows). Rows are flushed
/// at every epoch, so a run that is stopped keeps its curves.
#[derive(Debug)]
pub struct Curves {
    out: BufWriter<File>,
    path: PathBuf,
    metrics: Vec<String>,
}

impl Curves {
    /// Creates (or truncates) `path` and writes the header.
    pub fn create(path: &Path, metrics: &[&str]) -> Result<Curves> {
        for m in metrics {
            if m.contains([',', '"', '\n']) || m.is_empty() {
                return Err(TrainError::InvalidConfig(format!(
                    "metric name {m:?} cannot be a CSV column"
                )));
            }
        }
        let file = File::create(path).map_err(io_error(path))?;
        let mut curves = Curves {
            out: BufWriter::new(file),
            path: path.to_owned(),
            metrics: metrics.iter().map(|m| (*m).to_owned()).collect(),
        };
        let mut header = String::from("kind,epoch,step,lr,loss");
        for m in metrics {
            header.push(',');
            header.push_str(m);
        }
        curves.line(&header)?;
        Ok(curves)
    }

    fn line(&mut self, text: &str) -> Result<()> {
        writeln!(self.out, "{text}").map_err(io_error(&self.path))
    }

    /// One optimiser step.
    pub fn step(&mut self, epoch: usize, step: usize, lr: f64, loss: f64) -> Result<()> {
        let blanks = ",".repeat(self.metrics.len());
        self.line(&format!("step,{epoch},{step},{lr:e},{loss}{blanks}"))
    }

    /// The validation metrics after `epoch`, in the order given to [`Curves::create`].
    pub fn epoch(&mut self, epoch: usize, step: usize, values: &[f64]) -> Result<()> {
        if values.len() != self.metrics.len() {
            return Err(TrainError::InvalidConfig(format!(
                "{} metric values for {} metric columns",
                values.len(),
                self.metrics.len()
            )));
        }
        let mut row = format!("epoch,{epoch},{step},,");
        for v in values {
            row.push(',');
            row.push_str(&v.to_string());
        }
        self.line(&row)?;
        self.out.flush().map_err(io_error(&self.path))
    }

    /// Flushes what is buffered.
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(io_error(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_steps_and_epochs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.csv");
        let mut c = Curves::create(&path, &["ndcg@10", "mrr@10"]).unwrap();
        c.epoch(0, 0, &[0.25, 0.5]).unwrap();
        c.step(1, 1, 2e-5, 1.5).unwrap();
        c.epoch(1, 1, &[0.3, 0.625]).unwrap();
        assert!(c.epoch(2, 1, &[0.1]).is_err());
        drop(c);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "kind,epoch,step,lr,loss,ndcg@10,mrr@10\n\
             epoch,0,0,,,0.25,0.5\n\
             step,1,1,2e-5,1.5,,\n\
             epoch,1,1,,,0.3,0.625\n"
        );
        assert!(Curves::create(&path, &["a,b"]).is_err());
    }
}
