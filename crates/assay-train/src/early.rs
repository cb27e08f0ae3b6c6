//! Early stopping on a validation metric where larger is better.

/// What one validation result means for the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// The best value so far: keep these weights.
    Improved,
    /// Not better than the best; training may go on for `remaining` more evaluations without
    /// improvement.
    NoImprovement {
        /// Evaluations without improvement still allowed.
        remaining: usize,
    },
    /// `patience` evaluations in a row without improvement: stop.
    Stop,
}

/// Stops training after `patience` evaluations in a row that do not beat the best value by more
/// than `min_delta`. A non-finite value never counts as an improvement.
#[derive(Debug, Clone)]
pub struct EarlyStopping {
    patience: usize,
    min_delta: f64,
    best: Option<(usize, f64)>,
    bad: usize,
}

impl EarlyStopping {
    /// A new tracker. `patience` 0 stops at the first evaluation that does not improve.
    pub fn new(patience: usize, min_delta: f64) -> EarlyStopping {
        EarlyStopping {
            patience,
            min_delta: min_delta.max(0.0),
            best: None,
            bad: 0,
        }
    }

    /// Records the metric of evaluation `at` (an epoch or step number).
    pub fn observe(&mut self, at: usize, value: f64) -> Verdict {
        let improved = value.is_finite()
            && match self.best {
                None => true,
                Some((_, best)) => value > best + self.min_delta,
            };
        if improved {
            self.best = Some((at, value));
            self.bad = 0;
            return Verdict::Improved;
        }
        self.bad += 1;
        if self.bad > self.patience {
            Verdict::Stop
        } else {
            Verdict::NoImprovement {
                remaining: self.patience - self.bad,
            }
        }
    }

    /// The best evaluation so far: (at, value).
    pub fn best(&self) -> Option<(usize, f64)> {
        self.best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patience_counts_evaluations_without_improvement() {
        let mut e = EarlyStopping::new(2, 0.01);
        assert_eq!(e.observe(0, 0.50), Verdict::Improved);
        // 0.505 is not better by more than 0.01.
        assert_eq!(e.observe(1, 0.505), Verdict::NoImprovement { remaining: 1 });
        // An improvement resets the count.
        assert_eq!(e.observe(2, 0.52), Verdict::Improved);
        assert_eq!(e.observe(3, 0.40), Verdict::NoImprovement { remaining: 1 });
        assert_eq!(
            e.observe(4, f64::NAN),
            Verdict::NoImprovement { remaining: 0 }
        );
        assert_eq!(e.observe(5, 0.51), Verdict::Stop);
        assert_eq!(e.best(), Some((2, 0.52)));
    }

    #[test]
    fn zero_patience_stops_at_the_first_miss() {
        let mut e = EarlyStopping::new(0, 0.0);
        assert_eq!(e.observe(0, f64::NAN), Verdict::Stop);
        assert_eq!(e.best(), None);
        assert_eq!(e.observe(1, 0.1), Verdict::Improved);
        assert_eq!(e.observe(2, 0.1), Verdict::Stop);
    }
}
