//! The sample data that tests find is the data `assay data fetch` would use: found where the
//! fetch looks first, and never downloaded again.

use assay_fetch::samples::{sample_data_or_skip, sample_packs};
use assay_fetch::{fetch, Fetched, Home};

#[test]
fn every_sample_pack_found_is_what_fetch_uses_without_a_download() {
    // No pip: a pack that is not really there fails to fetch instead of downloading.
    std::env::set_var("ASSAY_PYTHON", "/nonexistent/python3");
    let home = Home::from_env();
    for (pack, found) in sample_packs() {
        let Some(dir) = sample_data_or_skip(pack) else {
            assert_eq!(found, None, "{}", pack.name());
            continue;
        };
        assert_eq!(found.as_ref(), Some(&dir), "{}", pack.name());
        let fetched = fetch(&home, pack, &mut |_| {})
            .unwrap_or_else(|e| panic!("{} was found but does not fetch: {e}", pack.name()));
        assert!(
            matches!(&fetched, Fetched::Shared(d) | Fetched::Cached(d) if *d == dir),
            "{}: found in {}, fetched {fetched:?}",
            pack.name(),
            dir.display()
        );
    }
}
