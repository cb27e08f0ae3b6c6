//! An evaluation policy's action distribution. The first three bytes give the shape the file is
//! read against (rounds 0..16, actions 0..32, positions 0..4); the rest is the CSV.
#![no_main]

use assay_fuzz::{check_error, scratch, write};
use assay_import::{parse_action_dist, read_action_dist, SUM_TOLERANCE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [rounds, actions, positions, file @ ..] = data else {
        return;
    };
    let (n_rounds, n_actions, len_list) = (
        *rounds as usize % 16,
        *actions as usize % 32,
        *positions as usize % 4,
    );
    let dir = scratch("action_dist");
    let path = write(&dir, "action_dist.csv", file);
    let read = read_action_dist(&path, n_rounds, n_actions, len_list);
    match &read {
        Ok(table) => {
            assert_eq!(table.n_actions, n_actions);
            assert_eq!(table.len_list, len_list);
            let rounds = table.n_rounds.unwrap_or(1);
            if let Some(r) = table.n_rounds {
                assert_eq!(r, n_rounds, "rounds");
            }
            assert_eq!(
                table.probs.len(),
                rounds * len_list * n_actions,
                "table size"
            );
            assert!(
                table.probs.iter().all(|p| (0.0..=1.0).contains(p)),
                "probabilities"
            );
            if n_actions > 0 {
                for slot in table.probs.chunks(n_actions) {
                    let sum: f64 = slot.iter().sum();
                    assert!((sum - 1.0).abs() <= SUM_TOLERANCE, "a slot sums to {sum}");
                }
            }
        }
        Err(error) => check_error(error),
    }
    if let Ok(text) = std::str::from_utf8(file) {
        let parsed = parse_action_dist(&path, text, n_rounds, n_actions, len_list);
        match (&read, &parsed) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "file and memory disagree"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "different errors"),
            _ => panic!("file and memory disagree: {read:?} vs {parsed:?}"),
        }
    }
});
