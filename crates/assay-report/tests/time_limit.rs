//! A study that outruns the time limit stops itself with a refusal that names the limit and
//! its projection, instead of running on. Its own test binary: the limit is process-wide.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use assay_core::{budget, Dataset, Interactions};
use assay_metrics::Metric;
use assay_recommend::{Fit, ModelKind, ModelSpec, PopModel, PopParams, Validate};
use assay_report::{study, StudyConfig, StudyError};

/// Popularity that takes 40 ms a fit, which its (default) work estimate does not count: the
/// estimate before the study passes, and only the pace check can stop it.
#[derive(Debug, Clone, PartialEq)]
struct SlowPop;

impl Fit for SlowPop {
    type Model = PopModel;
    fn fit(
        &self,
        train: &Interactions,
        data: &Dataset,
        validate: Option<&Validate<'_>>,
    ) -> assay_recommend::Result<PopModel> {
        std::thread::sleep(Duration::from_millis(40));
        PopParams::default().fit(train, data, validate)
    }
}

impl ModelKind for SlowPop {
    const NAME: &'static str = "slow-pop";
    fn parse(_: &str, _: &str) -> Result<SlowPop, String> {
        Err("built in code only".into())
    }
    fn params_text(&self) -> String {
        String::new()
    }
    fn load(dir: &Path) -> assay_recommend::Result<PopModel> {
        PopParams::load(dir)
    }
}

#[test]
fn a_study_that_outruns_its_time_limit_stops_with_a_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let shop = dir.path().join("shop");
    let mut sim = assay_sim::SimConfig::small_with_bad_data(5);
    sim.n_events_target = 3_000;
    assay_sim::simulate(&sim, &shop).unwrap();
    let data = assay_import::load(
        &shop,
        &assay_import::LoadOptions::new(assay_import::UnknownRefs::Fail),
    )
    .unwrap()
    .dataset;
    let config = StudyConfig::new(ModelSpec::new(SlowPop), Metric::Ndcg, 10, 11);

    budget::set_limit(1.0);
    let (fits, planned) = (AtomicU64::new(0), AtomicU64::new(0));
    let result = study(&data, "shop", &config, &|p| {
        fits.store(p.fits, Ordering::Relaxed);
        planned.store(p.planned, Ordering::Relaxed);
    });
    let Err(StudyError::TooSlow(refused)) = result else {
        panic!("a study of hundreds of 40 ms fits ran under a 1 s limit: {result:?}");
    };
    let (fits, planned) = (
        fits.load(Ordering::Relaxed),
        planned.load(Ordering::Relaxed),
    );
    // Hundreds of fits planned (tens of seconds at 40 ms); it stopped long before the end.
    assert!(planned >= 100, "{planned} fits planned");
    assert!(fits < planned / 2, "{fits} of {planned} fits ran");
    assert_eq!(refused.limit, 1.0);
    assert!(refused.estimate.seconds > 1.0, "{refused:?}");
    let text = refused.to_string();
    for words in [
        "the report on ",
        " model fits in ",
        "over the time limit of 1 s",
        "value a sample of the shop",
    ] {
        assert!(text.contains(words), "`{words}` not in: {text}");
    }

    // With the limit lifted the same study finishes.
    budget::set_limit(f64::INFINITY);
    let mut quick = config.clone();
    quick.user_samples = Some(2);
    quick.item_samples = 0;
    quick.learning_fractions = vec![0.5];
    quick.removal_fractions = vec![0.1];
    assert!(study(&data, "shop", &quick, &|_| {}).is_ok());
}
