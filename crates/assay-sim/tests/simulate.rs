//! End-to-end tests: simulate small shops into temporary directories and check the files
//! against the model's promises.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use assay_sim::{simulate, SimConfig, SimError, SimSummary, ASSAY_TOML};

/// A simulated shop in a temporary directory.
struct Shop {
    _temp: tempfile::TempDir,
    dir: PathBuf,
    summary: SimSummary,
}

impl Shop {
    #[track_caller]
    fn new(config: &SimConfig) -> Shop {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("shop");
        let summary = simulate(config, &dir).unwrap_or_else(|e| panic!("simulate failed: {e}"));
        Shop {
            _temp: temp,
            dir,
            summary,
        }
    }

    /// Every row of a CSV/TSV file as a map from column name to cell.
    #[track_caller]
    fn table(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        let delimiter = if name.ends_with(".tsv") { b'\t' } else { b',' };
        let path = self.dir.join(name);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .from_path(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        reader
            .records()
            .map(|record| {
                let record = record.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                header
                    .iter()
                    .cloned()
                    .zip(record.iter().map(str::to_owned))
                    .collect()
            })
            .collect()
    }

    fn column(&self, name: &str, column: &str) -> BTreeSet<String> {
        self.table(name)
            .into_iter()
            .map(|row| row[column].clone())
            .collect()
    }
}

/// Relative path and bytes of every file under `dir`, sorted.
fn all_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let name = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((name, fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn tiny(seed: u64) -> SimConfig {
    SimConfig {
        n_events_target: 5_000,
        ..SimConfig::small_with_bad_data(seed)
    }
}

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_does_not() {
    let first = Shop::new(&tiny(11));
    let second = Shop::new(&tiny(11));
    let other = Shop::new(&tiny(12));
    let first_files = all_files(&first.dir);
    let names: Vec<&str> = first_files.iter().map(|(name, _)| name.as_str()).collect();
    for expected in [
        "assay.toml",
        "events.csv",
        "items.csv",
        "judgments.tsv",
        "users.csv",
        "truth/bad_events.csv",
        "truth/config.json",
        "truth/examination.csv",
        "truth/queries.csv",
        "truth/sessions.csv",
        "truth/sources.csv",
        "truth/users.csv",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(
        first_files == all_files(&second.dir),
        "same seed, different bytes"
    );
    assert_eq!(first.summary, second.summary);
    let other_files = all_files(&other.dir);
    for name in ["events.csv", "items.csv", "users.csv", "judgments.tsv"] {
        let bytes =
            |files: &[(String, Vec<u8>)]| files.iter().find(|(n, _)| n == name).unwrap().1.clone();
        assert_ne!(
            bytes(&first_files),
            bytes(&other_files),
            "{name} ignores the seed"
        );
    }
}

#[test]
fn files_are_consistent_with_each_other_and_the_summary() {
    let config = SimConfig::small(3);
    let shop = Shop::new(&config);
    assert_eq!(
        fs::read_to_string(shop.dir.join("assay.toml")).unwrap(),
        ASSAY_TOML
    );
    let mapping: toml::Table = toml::from_str(ASSAY_TOML).unwrap();
    assert_eq!(
        mapping["events"][0]["propensity"].as_str(),
        Some("propensity")
    );
    assert_eq!(mapping["options"]["unknown_refs"].as_str(), Some("fail"));
    let config_json: SimConfig =
        serde_json::from_slice(&fs::read(shop.dir.join("truth/config.json")).unwrap()).unwrap();
    assert_eq!(config_json, config);

    let items = shop.column("items.csv", "item_id");
    let users = shop.column("users.csv", "user_id");
    let sources: BTreeSet<String> = config.sources.iter().map(|s| s.name.clone()).collect();
    let queries = shop.table("truth/queries.csv");
    let query_texts: BTreeSet<String> = queries.iter().map(|q| q["query"].clone()).collect();
    assert_eq!(query_texts.len(), queries.len(), "query texts are distinct");

    let events = shop.table("events.csv");
    assert_eq!(events.len() as u64, shop.summary.n_events);
    assert!(shop.summary.n_events >= config.n_events_target);
    let end = config.start_timestamp + i64::from(config.n_days) * 86_400;
    let mut per_kind: BTreeMap<String, u64> = BTreeMap::new();
    for (row, event) in events.iter().enumerate() {
        let context = format!("events.csv data row {}: {event:?}", row + 1);
        assert!(users.contains(&event["user_id"]), "{context}");
        assert!(items.contains(&event["item_id"]), "{context}");
        assert!(sources.contains(&event["source"]), "{context}");
        let kind = event["kind"].as_str();
        *per_kind.entry(kind.to_owned()).or_default() += 1;
        let value = &event["value"];
        match kind {
            "impression" | "click" | "cart" => assert_eq!(value, "", "{context}"),
            "dwell" => assert!(value.parse::<u64>().unwrap() >= 1, "{context}"),
            "purchase" => assert!(value.parse::<f64>().unwrap() > 0.0, "{context}"),
            "rating" => assert!((1..=5).contains(&value.parse::<u8>().unwrap()), "{context}"),
            _ => panic!("unknown kind: {context}"),
        }
        let position: u16 = event["position"].parse().unwrap();
        assert!((1..=config.slate_size).contains(&position), "{context}");
        let propensity: f64 = event["propensity"].parse().unwrap();
        assert!(propensity > 0.0 && propensity <= 1.0, "{context}");
        let timestamp: i64 = event["timestamp"].parse().unwrap();
        // Ratings may come a few days after the last session starts.
        assert!(
            timestamp >= config.start_timestamp && timestamp < end + 4 * 86_400,
            "{context}"
        );
        let query = &event["query"];
        assert!(query.is_empty() || query_texts.contains(query), "{context}");
    }
    assert_eq!(
        per_kind,
        shop.summary
            .events_per_kind
            .clone()
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect()
    );

    let judgments = shop.table("judgments.tsv");
    assert_eq!(judgments.len() as u64, shop.summary.n_judgments);
    let mut per_query: BTreeMap<&str, u32> = BTreeMap::new();
    let intent: BTreeMap<&str, &str> = queries
        .iter()
        .map(|q| (q["query_id"].as_str(), q["query"].as_str()))
        .collect();
    for judgment in &judgments {
        assert!(items.contains(&judgment["item_id"]), "{judgment:?}");
        assert!(
            ["1", "2", "3"].contains(&judgment["grade"].as_str()),
            "{judgment:?}"
        );
        assert_eq!(
            intent[judgment["query_id"].as_str()],
            judgment["query"],
            "{judgment:?}"
        );
        *per_query.entry(&judgment["query_id"]).or_default() += 1;
    }
    assert!(per_query
        .values()
        .all(|&n| n <= config.max_judgments_per_query));
    // Every query's target item is in its leaf and has its attribute: at least one grade 3.
    let with_grade_3: BTreeSet<&str> = judgments
        .iter()
        .filter(|j| j["grade"] == "3")
        .map(|j| j["query_id"].as_str())
        .collect();
    for query in &queries {
        assert!(
            with_grade_3.contains(query["query_id"].as_str()),
            "{query:?} has no grade-3 item"
        );
    }

    // The plain config injects no bots, duplicates or flipped ratings; only the noisy
    // sources' labels appear.
    let labels = shop.column("truth/bad_events.csv", "label");
    assert!(
        labels.is_subset(&["noisy_click".to_owned(), "noisy_item".to_owned()].into()),
        "{labels:?}"
    );
    for (file, rows) in &shop.summary.rows_per_file {
        assert_eq!(shop.table(file).len() as u64, *rows, "{file}");
    }
    let examination = shop.table("truth/examination.csv");
    assert_eq!(examination.len(), usize::from(config.slate_size));
    assert_eq!(examination[0]["probability"], "1");
}

#[test]
fn clicks_follow_position_and_relevance() {
    let shop = Shop::new(&SimConfig {
        n_events_target: 30_000,
        ..SimConfig::small(4)
    });
    let mut grades: BTreeMap<(String, String), u32> = BTreeMap::new();
    for judgment in shop.table("judgments.tsv") {
        grades.insert(
            (judgment["query"].clone(), judgment["item_id"].clone()),
            judgment["grade"].parse().unwrap(),
        );
    }
    let mut shown = [0u32; 11];
    let mut clicked = [0u32; 11];
    let mut shown_by_grade = [0u32; 4];
    let mut clicked_by_grade = [0u32; 4];
    for event in shop.table("events.csv") {
        // The app is the clean source: no spurious clicks or wrong item ids.
        if event["source"] != "app" {
            continue;
        }
        let position: usize = event["position"].parse().unwrap();
        let grade = grades
            .get(&(event["query"].clone(), event["item_id"].clone()))
            .copied()
            .unwrap_or(0) as usize;
        let search = !event["query"].is_empty();
        match event["kind"].as_str() {
            "impression" => {
                shown[position] += 1;
                if search {
                    shown_by_grade[grade] += 1;
                }
            }
            "click" => {
                clicked[position] += 1;
                if search {
                    clicked_by_grade[grade] += 1;
                }
            }
            _ => {}
        }
    }
    let ctr = |k: usize| f64::from(clicked[k]) / f64::from(shown[k]);
    assert!(
        ctr(1) > 1.5 * ctr(3),
        "CTR@1 {} vs CTR@3 {}",
        ctr(1),
        ctr(3)
    );
    assert!(ctr(3) > ctr(10), "CTR@3 {} vs CTR@10 {}", ctr(3), ctr(10));
    let ctr_of_grade = |g: usize| f64::from(clicked_by_grade[g]) / f64::from(shown_by_grade[g]);
    assert!(
        ctr_of_grade(3) > ctr_of_grade(2),
        "{clicked_by_grade:?} of {shown_by_grade:?}"
    );
    assert!(
        ctr_of_grade(2) > 2.0 * ctr_of_grade(0),
        "{clicked_by_grade:?} of {shown_by_grade:?}"
    );
}

#[test]
fn bots_click_more_never_buy_and_are_labelled() {
    let shop = Shop::new(&SimConfig {
        n_events_target: 30_000,
        ..SimConfig::small_with_bad_data(5)
    });
    let bots: BTreeSet<String> = shop
        .table("truth/users.csv")
        .into_iter()
        .filter(|u| u["is_bot"] == "1")
        .map(|u| u["user_id"].clone())
        .collect();
    assert!(!bots.is_empty());
    assert_eq!(bots.len() as u64, shop.summary.n_bots);
    let n_humans = shop.summary.n_users as f64 - bots.len() as f64;

    let events = shop.table("events.csv");
    let labels = shop.table("truth/bad_events.csv");
    let mut labels_of: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for label in &labels {
        labels_of
            .entry(label["row"].parse().unwrap())
            .or_default()
            .push(label["label"].clone());
    }
    let (mut bot_clicks, mut human_clicks) = (0.0, 0.0);
    for (index, event) in events.iter().enumerate() {
        let row = index + 1;
        let row_labels = labels_of.get(&row).cloned().unwrap_or_default();
        let is_bot = bots.contains(&event["user_id"]);
        assert_eq!(
            is_bot,
            row_labels.contains(&"bot".to_owned()),
            "row {row}: {event:?}"
        );
        if row_labels.contains(&"duplicate".to_owned()) {
            assert_eq!(
                event,
                &events[index - 1],
                "row {row} duplicates the row above"
            );
        }
        if row_labels.contains(&"flipped_rating".to_owned()) {
            assert_eq!(event["kind"], "rating", "row {row}");
        }
        match (event["kind"].as_str(), is_bot) {
            ("click", true) => bot_clicks += 1.0,
            ("click", false) => human_clicks += 1.0,
            ("cart" | "purchase" | "rating", true) => panic!("bot row {row} buys: {event:?}"),
            _ => {}
        }
    }
    let per_bot = bot_clicks / bots.len() as f64;
    let per_human = human_clicks / n_humans;
    assert!(
        per_bot > 2.0 * per_human,
        "clicks per bot {per_bot} vs per human {per_human}"
    );
    for label in ["bot", "duplicate", "flipped_rating"] {
        assert!(
            shop.summary.bad_events_per_label[label] > 0,
            "no {label} rows"
        );
    }
    let duplicate_share =
        shop.summary.bad_events_per_label["duplicate"] as f64 / events.len() as f64;
    assert!(
        (duplicate_share - 0.02 / 1.02).abs() < 0.006,
        "duplicate share {duplicate_share}"
    );
}

#[test]
fn the_click_farm_promotes_its_items_and_bots_crawl() {
    let shop = Shop::new(&SimConfig {
        n_events_target: 30_000,
        bot_fraction: 0.1,
        ..SimConfig::small_with_bad_data(6)
    });
    let promoted: BTreeSet<String> = shop.column("truth/promoted_items.csv", "item_id");
    assert_eq!(promoted.len(), 10);
    let kinds: BTreeMap<String, String> = shop
        .table("truth/bots.csv")
        .into_iter()
        .map(|b| (b["user_id"].clone(), b["kind"].clone()))
        .collect();
    let bots: BTreeSet<String> = shop
        .table("truth/users.csv")
        .into_iter()
        .filter(|u| u["is_bot"] == "1")
        .map(|u| u["user_id"].clone())
        .collect();
    assert_eq!(kinds.keys().cloned().collect::<BTreeSet<_>>(), bots);
    let farm: BTreeSet<&String> = kinds
        .iter()
        .filter(|(_, kind)| *kind == "farm")
        .map(|(user, _)| user)
        .collect();
    assert!(!farm.is_empty() && farm.len() < bots.len(), "{kinds:?}");

    // Clicks without a slot (direct visits) are the bots': random crawling, plus the farm's
    // promoted items.
    let mut direct_by_user: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut direct_clicks = 0;
    let mut promoted_clicks = [0u32; 2]; // [humans, farm bots]
    let mut clicks = [0u32; 2];
    for event in shop.table("events.csv") {
        if event["kind"] != "click" {
            continue;
        }
        let user = &event["user_id"];
        if event["position"].is_empty() {
            assert!(bots.contains(user), "direct click by a human: {event:?}");
            assert!(event["query"].is_empty(), "{event:?}");
            direct_clicks += 1;
            if promoted.contains(&event["item_id"]) {
                direct_by_user
                    .entry(user.clone())
                    .or_default()
                    .insert(event["item_id"].clone());
            }
        }
        if !bots.contains(user) || farm.contains(user) {
            let who = usize::from(farm.contains(user));
            clicks[who] += 1;
            promoted_clicks[who] += u32::from(promoted.contains(&event["item_id"]));
        }
    }
    // Bots crawl 5 random items per session (the preset), so direct visits abound.
    assert!(direct_clicks > 1_000, "{direct_clicks}");
    // With 0.5 per item and session, every farm bot has clicked most of the campaign.
    for user in &farm {
        let items = direct_by_user.get(*user).map_or(0, BTreeSet::len);
        assert!(items >= 5, "{user} clicked {items} promoted items");
    }
    // Humans meet promoted items only as often as 10 of 500 items allow; the farm lives on them.
    let share = |who: usize| f64::from(promoted_clicks[who]) / f64::from(clicks[who]);
    assert!(share(0) < 0.05, "human share {}", share(0));
    assert!(share(1) > 0.3, "farm share {}", share(1));
}

#[test]
fn configs_without_the_farm_fields_mean_no_farm() {
    // A config written before the farm existed deserialises to scrapers only.
    let mut json = serde_json::to_value(SimConfig::small_with_bad_data(2)).unwrap();
    let fields = json.as_object_mut().unwrap();
    for field in [
        "bot_random_clicks",
        "bot_promoted_items",
        "bot_promoted_click_rate",
        "bot_farm_share",
    ] {
        assert!(fields.remove(field).is_some(), "{field}");
    }
    let old: SimConfig = serde_json::from_value(json).unwrap();
    assert_eq!(old.bot_random_clicks, 0.0);
    assert_eq!(old.bot_promoted_items, 0);
    assert_eq!(old.bot_promoted_click_rate, 0.5);
    assert_eq!(old.bot_farm_share, 1.0);
    let shop = Shop::new(&SimConfig {
        n_events_target: 5_000,
        bot_fraction: 0.2,
        ..old
    });
    assert!(shop.table("truth/promoted_items.csv").is_empty());
    assert_eq!(
        shop.column("truth/bots.csv", "kind"),
        ["scraper".to_owned()].into()
    );
    assert!(shop
        .table("events.csv")
        .iter()
        .all(|e| !e["position"].is_empty()));
}

#[test]
fn query_transformations_follow_their_rates() {
    let config = SimConfig {
        n_items: 3_000,
        n_queries: 800,
        n_events_target: 500,
        typo_rate: 0.2,
        synonym_rate: 0.3,
        paraphrase_rate: 0.25,
        chinese_fraction: 0.15,
        ..SimConfig::small(6)
    };
    let shop = Shop::new(&config);
    let queries = shop.table("truth/queries.csv");
    assert!(queries.len() >= 780, "only {} queries", queries.len());
    let n = queries.len() as f64;
    let share = |pick: &dyn Fn(&BTreeMap<String, String>) -> bool| {
        queries.iter().filter(|q| pick(q)).count() as f64 / n
    };
    for (name, rate, observed) in [
        ("typo", config.typo_rate, share(&|q| q["typo"] == "1")),
        (
            "synonym",
            config.synonym_rate,
            share(&|q| q["synonym"] == "1"),
        ),
        (
            "paraphrase",
            config.paraphrase_rate,
            share(&|q| q["paraphrase"] == "1"),
        ),
        ("zh", config.chinese_fraction, share(&|q| q["lang"] == "zh")),
    ] {
        // Four standard errors: a false alarm about once in 16,000 runs of a fixed seed.
        let tolerance = 4.0 * (rate * (1.0 - rate) / n).sqrt();
        assert!(
            (observed - rate).abs() < tolerance,
            "{name}: {observed} vs {rate} ± {tolerance}"
        );
    }
    // A query without a synonym and typo spells the intent category's noun exactly.
    let categories = shop.table("truth/categories.csv");
    let noun: BTreeMap<&str, (&str, &str)> = categories
        .iter()
        .map(|c| {
            (
                c["category"].as_str(),
                (c["noun"].as_str(), c["noun_zh"].as_str()),
            )
        })
        .collect();
    for query in &queries {
        let (en, zh) = noun[query["intent_category"].as_str()];
        let word = if query["lang"] == "zh" { zh } else { en };
        let plain = query["typo"] == "0" && query["synonym"] == "0";
        if plain {
            assert!(query["query"].contains(word), "{query:?}");
        }
    }
}

#[test]
fn output_is_all_or_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let occupied = temp.path().join("occupied");
    fs::create_dir(&occupied).unwrap();
    fs::write(occupied.join("keep.txt"), "mine").unwrap();
    let config = SimConfig {
        n_events_target: 100,
        ..SimConfig::small(1)
    };
    let error = simulate(&config, &occupied).unwrap_err();
    assert!(matches!(error, SimError::InvalidOutput { .. }), "{error}");
    assert_eq!(
        fs::read_to_string(occupied.join("keep.txt")).unwrap(),
        "mine"
    );

    let invalid = SimConfig {
        typo_rate: 2.0,
        ..config.clone()
    };
    let target = temp.path().join("shop");
    assert!(matches!(
        simulate(&invalid, &target),
        Err(SimError::InvalidConfig {
            field: "typo_rate",
            ..
        })
    ));
    assert!(!target.exists());

    // A stale staging directory from a crashed run is removed, a user's `shop.tmp` is not; an
    // empty target is filled.
    let stale = temp.path().join(".shop.assay-tmp-crashed");
    fs::create_dir(&stale).unwrap();
    fs::write(stale.join("events.csv"), "half a row").unwrap();
    let theirs = temp.path().join("shop.tmp");
    fs::create_dir(&theirs).unwrap();
    fs::write(theirs.join("events.csv"), "my own rows").unwrap();
    fs::create_dir(&target).unwrap();
    simulate(&config, &target).unwrap();
    assert!(!stale.exists());
    assert_eq!(
        fs::read_to_string(theirs.join("events.csv")).unwrap(),
        "my own rows"
    );
    assert!(target.join("truth/summary.json").exists());
    let mut entries: Vec<String> = fs::read_dir(temp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["occupied", "shop", "shop.tmp"]);
}

#[test]
fn an_earlier_shop_is_replaced_whole_and_other_folders_are_kept() {
    let temp = tempfile::tempdir().unwrap();
    let shop = temp.path().join("shop");
    simulate(&tiny(1), &shop).unwrap();
    let first = all_files(&shop);
    assay_sim::simulate_replacing(&tiny(2), &shop).unwrap();
    let second = all_files(&shop);
    assert_ne!(first, second, "another seed wrote another shop");
    let fresh = temp.path().join("fresh");
    simulate(&tiny(2), &fresh).unwrap();
    assert_eq!(
        second,
        all_files(&fresh),
        "nothing of the first shop is left"
    );

    let theirs = temp.path().join("theirs");
    fs::create_dir(&theirs).unwrap();
    fs::write(theirs.join("notes.txt"), b"keep me").unwrap();
    let err = assay_sim::simulate_replacing(&tiny(3), &theirs).unwrap_err();
    assert!(matches!(err, SimError::InvalidOutput { .. }), "{err}");
    assert_eq!(fs::read(theirs.join("notes.txt")).unwrap(), b"keep me");
}

#[test]
fn only_a_shop_exactly_as_the_simulator_wrote_it_is_replaced() {
    let temp = tempfile::tempdir().unwrap();
    let refused = |dir: &Path| {
        let before = all_files(dir);
        let err = assay_sim::simulate_replacing(&tiny(2), dir).unwrap_err();
        assert!(matches!(err, SimError::InvalidOutput { .. }), "{err}");
        assert_eq!(all_files(dir), before, "{} was changed", dir.display());
    };
    // Something that looks like a shop (it even has truth/model.csv) but that the simulator
    // did not write.
    let lookalike = temp.path().join("lookalike");
    fs::create_dir_all(lookalike.join("truth")).unwrap();
    fs::write(lookalike.join("truth/model.csv"), "constant,value\n").unwrap();
    fs::write(lookalike.join("events.csv"), "my own events\n").unwrap();
    refused(&lookalike);
    // A simulated shop with a file of the user's added, or one of its files edited.
    let added = temp.path().join("added");
    simulate(&tiny(1), &added).unwrap();
    fs::write(added.join("truth/my-notes.txt"), "keep me").unwrap();
    refused(&added);
    let edited = temp.path().join("edited");
    simulate(&tiny(1), &edited).unwrap();
    let mut items = fs::read_to_string(edited.join("items.csv")).unwrap();
    items.push_str("my-item,My item,,,,1.0,en\n");
    fs::write(edited.join("items.csv"), items).unwrap();
    refused(&edited);
    // An untouched shop is replaced, and its manifest lists every file written.
    let untouched = temp.path().join("untouched");
    simulate(&tiny(1), &untouched).unwrap();
    assay_sim::simulate_replacing(&tiny(2), &untouched).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(untouched.join(assay_sim::MANIFEST_FILE)).unwrap())
            .unwrap();
    let listed: BTreeSet<String> = manifest["files"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let on_disk: BTreeSet<String> = all_files(&untouched)
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name != assay_sim::MANIFEST_FILE)
        .collect();
    assert_eq!(listed, on_disk);
}
