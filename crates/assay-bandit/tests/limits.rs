//! Dense buffers sized by the data are checked against the memory budget before they are
//! allocated: one-hot contexts, per-round action distributions, online runs.
//!
//! Every test here relies on the default memory limit (8 GiB); none changes it.

use assay_bandit::sim::{check_online_run, SyntheticBandit};
use assay_bandit::{ActionDist, BanditError, LoggedFeedback, PolicyName};
use assay_core::{Dataset, EventKind, NO_QUERY, NO_SESSION};
use assay_import::ImportError;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[test]
fn one_hot_contexts_over_the_budget_are_refused_naming_the_widest_attribute() {
    // 100,000 impressions by users whose `zip` is unique: 100,000 one-hot columns.
    let mut data = Dataset::default();
    for i in 0..3 {
        data.items.intern(&format!("i{i}"));
    }
    data.users.attributes.names = vec!["segment".into(), "zip".into()];
    data.users.attributes.values = vec![Vec::new(), Vec::new()];
    for u in 0..100_000u32 {
        let user = data.users.intern(&format!("u{u}"));
        let values = &mut data.users.attributes.values;
        values[0][user as usize] = if u % 2 == 0 { "a" } else { "b" }.into();
        values[1][user as usize] = format!("{u:06}");
        data.events.push(
            user,
            u % 3,
            EventKind::Impression,
            f64::NAN,
            i64::from(u),
            NO_SESSION,
            NO_QUERY,
            1,
            0.5,
            0,
        );
    }
    let Err(BanditError::TooLarge(refused)) = LoggedFeedback::from_dataset(&data) else {
        panic!("100,000 x 100,000 one-hot contexts were not refused");
    };
    // 1 column for the segment, 99,999 for the zip codes (first category dropped), f64,
    // three copies.
    assert_eq!(refused.bytes, 3 * 100_000 * 100_000 * 8);
    let text = refused.to_string();
    for words in [
        "100,000 impressions x 100,000 categories",
        "over the memory limit of 8.0 GiB",
        "the widest, 'zip', has 100,000 values",
    ] {
        assert!(text.contains(words), "`{words}` not in: {text}");
    }
}

#[test]
fn per_round_action_distributions_over_the_budget_are_refused() {
    // A million rounds of 100,000 actions: 8e11 bytes, held twice while built.
    let env = SyntheticBandit::new(100_000, 2, 1);
    let logs = env.sample_logs(1_000_000, &mut ChaCha8Rng::seed_from_u64(1));
    let Err(BanditError::TooLarge(refused)) = logs else {
        panic!("a 1,000,000 x 100,000 action distribution was not refused");
    };
    assert_eq!(refused.bytes, 2 * 1_000_000 * 100_000 * 8);
    assert!(refused.instead.contains("context-free"), "{refused}");
    // A per-round file of that shape is refused as soon as its header says per-round; a
    // context-free one is read.
    let dir = tempfile::tempdir().unwrap();
    let per_round = dir.path().join("per_round.csv");
    std::fs::write(&per_round, "round,action,position,prob\n0,0,1,1\n").unwrap();
    let read = ActionDist::from_csv(&per_round, 1_000_000, 100_000, 1);
    let Err(BanditError::Import(ImportError::TooLarge(refused))) = read else {
        panic!("a per-round file of 1,000,000 x 100,000 was not refused");
    };
    assert!(refused.what.contains("per_round.csv"), "{refused}");
    let free = dir.path().join("free.csv");
    std::fs::write(&free, "action,position,prob\n0,1,1\n").unwrap();
    assert!(ActionDist::from_csv(&free, 1_000_000, 100_000, 1).is_ok());
}

#[test]
fn an_online_run_is_sized_before_the_environment_is_built() {
    let linear = [PolicyName::Uniform, PolicyName::LinUcb];
    // LinUCB keeps a 1,001 x 1,001 matrix for each of 100,000 actions: 8e11 bytes.
    let Err(BanditError::TooLarge(refused)) = check_online_run(&linear, 100_000, 1_000, 10) else {
        panic!("an online run of 100,000 actions x dim 1,000 was not refused");
    };
    assert!(refused.what.contains("linucb's state"), "{refused}");
    assert!(check_online_run(&linear, 10, 5, 5_000).is_ok());
    // Regret curves of 10^10 rounds are refused too, whatever the policies.
    assert!(check_online_run(&[PolicyName::Uniform], 10, 5, 10_000_000_000).is_err());
    // The comparison itself checks.
    let env = SyntheticBandit::new(10, 5, 1);
    assert!(env
        .compare_policies(&[PolicyName::Uniform], 10_000_000_000, 1)
        .is_err());
}
