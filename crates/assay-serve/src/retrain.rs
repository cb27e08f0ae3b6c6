//! Continuous learning: a background thread that fits a new model version when enough new
//! events have arrived or enough time has passed since the last fit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::engine::Engine;

/// When to fit a new version. A version is fitted only when there is something new.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetrainPolicy {
    /// Fit once this many events arrived since the active version's data was taken.
    pub every_events: Option<u64>,
    /// Fit when this long has passed since the last fit and at least one event arrived.
    pub every: Option<Duration>,
}

impl RetrainPolicy {
    /// Whether neither trigger is set.
    pub fn is_off(&self) -> bool {
        self.every_events.is_none() && self.every.is_none()
    }

    fn due(&self, new_events: u64, since_fit: Duration) -> bool {
        if new_events == 0 {
            return false;
        }
        self.every_events.is_some_and(|n| new_events >= n)
            || self.every.is_some_and(|every| since_fit >= every)
    }
}

/// The background fitter; stops (after a fit in progress) when dropped or stopped.
pub struct Retrainer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    last_error: Arc<Mutex<Option<String>>>,
}

/// How often the thread looks at the counters.
const TICK: Duration = Duration::from_millis(100);

impl Retrainer {
    /// Starts the thread.
    pub fn start(engine: Arc<Engine>, policy: RetrainPolicy) -> std::io::Result<Retrainer> {
        let stop = Arc::new(AtomicBool::new(false));
        let last_error = Arc::new(Mutex::new(None));
        let (stop_flag, error_slot) = (stop.clone(), last_error.clone());
        let thread = std::thread::Builder::new()
            .name("retrain".into())
            .spawn(move || {
                let mut last_fit = Instant::now();
                while !stop_flag.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    if !policy.due(engine.events_since_fit(), last_fit.elapsed()) {
                        continue;
                    }
                    last_fit = Instant::now();
                    let outcome = engine.fit_version().err().map(|e| e.to_string());
                    // The fit's working copies are free now; keep the footprint flat.
                    assay_recommend::HugePageAlloc::give_back_freed_memory();
                    *error_slot.lock().unwrap_or_else(|p| p.into_inner()) = outcome;
                }
            })?;
        Ok(Retrainer {
            stop,
            thread: Some(thread),
            last_error,
        })
    }

    /// The error of the last fit, when it failed.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stops the thread and waits for it.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Retrainer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fit_is_due_on_either_trigger_and_never_without_new_events() {
        let both = RetrainPolicy {
            every_events: Some(100),
            every: Some(Duration::from_secs(60)),
        };
        assert!(!both.due(0, Duration::from_secs(3600)));
        assert!(!both.due(99, Duration::from_secs(59)));
        assert!(both.due(100, Duration::ZERO));
        assert!(both.due(1, Duration::from_secs(60)));
        assert!(!RetrainPolicy::default().due(1_000_000, Duration::from_secs(3600)));
        assert!(RetrainPolicy::default().is_off());
    }
}
