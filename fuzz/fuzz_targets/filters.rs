//! The search filter syntax (`category=Women/Dresses; brand=Acme; price=10..50`): whatever
//! `Filters::parse` accepts is a consistent set of conditions.
#![no_main]

use assay_search::{Filters, SearchError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Filters::parse(text) {
        Ok(filters) => {
            if let Some(category) = &filters.category {
                assert!(!category.is_empty(), "empty category path");
                for level in category.split('/') {
                    assert!(!level.is_empty(), "empty level in {category:?}");
                    assert_eq!(level.trim(), level, "untrimmed level in {category:?}");
                }
            }
            for brand in &filters.brands {
                assert!(!brand.is_empty(), "empty brand");
                assert!(!brand.contains(';'), "brand {brand:?} spans clauses");
            }
            for bound in [filters.price_min, filters.price_max].into_iter().flatten() {
                assert!(bound.is_finite(), "price bound {bound}");
            }
            if let (Some(lo), Some(hi)) = (filters.price_min, filters.price_max) {
                assert!(lo <= hi, "price range {lo}..{hi}");
            }
            let clauses = text.split(';').filter(|c| !c.trim().is_empty()).count();
            if clauses == 0 {
                assert!(filters.is_empty(), "conditions without clauses");
            }
        }
        Err(error) => {
            assert!(
                matches!(error, SearchError::InvalidFilter { .. }),
                "a filter error of another kind: {error}"
            );
            assert!(!error.to_string().trim().is_empty(), "an empty message");
        }
    }
});
