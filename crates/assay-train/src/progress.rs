//! A progress bar with the running loss and the time left, drawn only on a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over the optimiser steps of a run, on stderr. It is hidden when stderr is not a
/// terminal (a pipe, a log file, a test), so logs hold no control characters.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for `total` steps, labelled `what`.
    pub fn new(total: u64, what: &str) -> Progress {
        let bar = if std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        let style = ProgressStyle::with_template(
            "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} steps {msg} (ETA {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(what.to_owned());
        Progress { bar }
    }

    /// Whether anything is drawn.
    pub fn is_hidden(&self) -> bool {
        self.bar.is_hidden()
    }

    /// Moves to `step` and shows the (smoothed) loss and learning rate.
    pub fn update(&self, step: u64, loss: f64, lr: f64) {
        self.bar.set_position(step);
        self.bar.set_message(format!("loss {loss:.4} lr {lr:.2e}"));
    }

    /// Changes the expected number of steps (a run cut short by a time limit).
    pub fn set_total(&self, total: u64) {
        self.bar.set_length(total);
    }

    /// Prints a line above the bar; nothing when the bar is hidden.
    pub fn println(&self, line: &str) {
        self.bar.println(line);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
