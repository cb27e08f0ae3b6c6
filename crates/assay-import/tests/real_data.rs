//! Checks against the public sample data (`assay_fetch::samples`); a test whose pack is not
//! here says `SKIPPED:` on the terminal and passes.

use assay_core::EventKind;
use assay_fetch::samples::sample_data_or_skip;
use assay_fetch::Pack;
use assay_import::{load, Format, LoadOptions, UnknownRefs};

#[test]
fn movielens_100k() -> Result<(), Box<dyn std::error::Error>> {
    let Some(ml100k) = sample_data_or_skip(Pack::Ml100k) else {
        return Ok(());
    };
    let loaded = load(&ml100k, &LoadOptions::new(UnknownRefs::Fail))?;
    let dataset = &loaded.dataset;
    assert_eq!(loaded.report.format, Format::RecBole);
    assert_eq!(dataset.name, "ml-100k");
    assert_eq!(dataset.users.len(), 943);
    assert_eq!(dataset.items.len(), 1682);
    assert_eq!(dataset.events.len(), 100_000);
    assert!(dataset.events.kind.iter().all(|&k| k == EventKind::Rating));
    assert_eq!(dataset.sources.names(), ["ml-100k"]);
    // First catalog row: 1 Toy Story 1995 Animation Children's Comedy.
    assert_eq!(dataset.items.ids.name(0), "1");
    assert_eq!(dataset.items.title[0], "Toy Story");
    assert_eq!(dataset.items.category[0], "Animation/Children's/Comedy");
    assert_eq!(
        dataset
            .items
            .attributes
            .column("class")
            .map(|c| c[0].as_str()),
        Some("Animation Children's Comedy")
    );
    assert_eq!(
        dataset
            .items
            .attributes
            .column("release_year")
            .map(|c| c[0].as_str()),
        Some("1995")
    );
    assert_eq!(
        dataset.users.attributes.names,
        ["age", "gender", "occupation", "zip_code"]
    );
    // First interaction: 196 242 3 881250949.
    let e = 0;
    assert_eq!(dataset.users.ids.name(dataset.events.user[e]), "196");
    assert_eq!(dataset.items.ids.name(dataset.events.item[e]), "242");
    assert_eq!(dataset.events.value[e], 3.0);
    assert_eq!(dataset.events.timestamp[e], 881_250_949);
    let rows: Vec<u64> = loaded.report.files.iter().map(|f| f.rows).collect();
    assert_eq!(rows, [1682, 943, 100_000]);
    assert!(loaded.report.dropped.is_empty());
    Ok(())
}

#[test]
fn open_bandit_random_all() -> Result<(), Box<dyn std::error::Error>> {
    let Some(obd) = sample_data_or_skip(Pack::Obd) else {
        return Ok(());
    };
    let loaded = load(&obd.join("random/all"), &LoadOptions::default())?;
    let dataset = &loaded.dataset;
    assert_eq!(loaded.report.format, Format::Obd);
    assert_eq!(dataset.name, "obd/random/all");
    assert_eq!(dataset.items.len(), 80);
    let impressions = dataset.events_of(&[EventKind::Impression]);
    let clicks = dataset.events_of(&[EventKind::Click]);
    assert_eq!(impressions.len(), 10_000);
    assert_eq!(clicks.len(), 38);
    let mut positions: Vec<u16> = dataset.events.position.clone();
    positions.sort_unstable();
    positions.dedup();
    assert_eq!(positions, [1, 2, 3]);
    // Dense item index equals the OBD item id.
    for (index, id) in dataset.items.ids.names().iter().enumerate() {
        assert_eq!(id, &index.to_string());
    }
    assert_eq!(dataset.items.features.names, ["item_feature_0"]);
    assert_eq!(
        dataset.items.attributes.names,
        ["item_feature_1", "item_feature_2", "item_feature_3"]
    );
    // Row 0: 2019-11-24 00:00:34.762830+00:00, item 14, position 3, no click, p = 0.0125.
    assert_eq!(dataset.events.kind[0], EventKind::Impression);
    assert_eq!(dataset.events.item[0], 14);
    assert_eq!(dataset.events.position[0], 3);
    assert_eq!(dataset.events.propensity[0], 0.0125);
    assert_eq!(dataset.events.timestamp[0], 1_574_553_634);
    assert_eq!(dataset.users.ids.name(dataset.events.user[0]), "0");
    assert_eq!(dataset.sessions.name(dataset.events.session[0]), "0");
    assert_eq!(dataset.sources.names(), ["obd/random"]);
    assert_eq!(dataset.users.len(), 10_000);
    assert_eq!(dataset.users.attributes.names.len(), 4);
    assert_eq!(dataset.users.features.dim(), 80);
    // A click repeats its impression's fields.
    let click = clicks[0] as usize;
    assert_eq!(dataset.events.kind[click - 1], EventKind::Impression);
    assert_eq!(dataset.events.user[click], dataset.events.user[click - 1]);
    assert_eq!(dataset.events.item[click], dataset.events.item[click - 1]);
    assert_eq!(
        dataset.events.propensity[click],
        dataset.events.propensity[click - 1]
    );
    Ok(())
}

#[test]
fn open_bandit_every_policy_and_campaign() -> Result<(), Box<dyn std::error::Error>> {
    let Some(obd) = sample_data_or_skip(Pack::Obd) else {
        return Ok(());
    };
    for policy in ["random", "bts"] {
        for (campaign, n_items) in [("all", 80), ("men", 34), ("women", 46)] {
            let loaded = load(&obd.join(policy).join(campaign), &LoadOptions::default())?;
            let dataset = &loaded.dataset;
            assert_eq!(dataset.name, format!("obd/{policy}/{campaign}"));
            assert_eq!(dataset.items.len(), n_items);
            assert_eq!(dataset.events_of(&[EventKind::Impression]).len(), 10_000);
            assert_eq!(dataset.sources.names(), [format!("obd/{policy}")]);
            assert!(dataset
                .events
                .propensity
                .iter()
                .all(|&p| p > 0.0 && p <= 1.0));
        }
    }
    Ok(())
}
