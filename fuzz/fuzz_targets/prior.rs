//! The Bernoulli TS prior (`prior_bts.yaml`), read for campaign `all` from disk and, when it is
//! UTF-8, also parsed from memory; both must agree.
#![no_main]

use assay_fuzz::{check_error, scratch, write};
use assay_import::BetaPrior;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = scratch("prior");
    let path = write(&dir, "prior_bts.yaml", data);
    let read = BetaPrior::from_yaml_file(&path, "all");
    match &read {
        Ok(prior) => {
            assert_eq!(
                prior.alpha.len(),
                prior.beta.len(),
                "one alpha and one beta per action"
            );
            assert!(!prior.alpha.is_empty(), "no actions");
            for x in prior.alpha.iter().chain(&prior.beta) {
                assert!(x.is_finite() && *x > 0.0, "a prior parameter of {x}");
            }
        }
        Err(error) => check_error(error),
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let parsed = BetaPrior::parse_yaml(&path, text, "all");
        match (&read, &parsed) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "file and memory disagree"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "different errors"),
            _ => panic!("file and memory disagree: {read:?} vs {parsed:?}"),
        }
    }
});
