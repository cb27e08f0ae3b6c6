//! One test per validation rule: a small bad file and the exact message it must give.

mod common;

use assay_import::{load, DropReason, LoadOptions, UnknownRefs};
use common::{check_project, load_err, load_ok, project, write_dir, TOML};

const EVENTS_HEADER: &str = "customer_id,sku,event_type,amount,ts,pos,p_log\n";

/// The base event file with one more row.
fn with_event(row: &str) -> String {
    format!("{}{row}\n", common::EVENTS)
}

#[test]
fn missing_declared_column() {
    let toml = TOML.replace("timestamp = \"ts\"", "timestamp = \"time\"");
    check_project(
        &[("assay.toml", &toml)],
        "events.csv:1: missing column 'time' (declared by events[0].timestamp in assay.toml); \
         columns found: 'customer_id', 'sku', 'event_type', 'amount', 'ts', 'pos', 'p_log'",
    );
}

#[test]
fn unknown_top_level_key() {
    let toml = format!("colour = \"red\"\n{TOML}");
    check_project(
        &[("assay.toml", &toml)],
        "assay.toml: unknown key 'colour'; accepted top-level keys: name, items, users, events, \
         judgments, faq, options",
    );
}

#[test]
fn unknown_table_key() {
    let toml = TOML.replace("price = \"price\"", "price = \"price\"\ncolour = \"c\"");
    check_project(
        &[("assay.toml", &toml)],
        "assay.toml: unknown key 'items.colour'; accepted keys in [items]: path, id, title, \
         description, category, brand, price, attributes, image, image_file, image_ids",
    );
    let toml = TOML.replace(
        "user = \"customer_id\"",
        "user = \"customer_id\"\nweight = \"w\"",
    );
    check_project(
        &[("assay.toml", &toml)],
        "assay.toml: unknown key 'events[0].weight'; accepted keys in [[events]]: path, user, \
         item, kind, value, timestamp, session, query, position, propensity, source",
    );
}

#[test]
fn malformed_toml() {
    check_project(
        &[("assay.toml", "[items]\npath = \"items.csv\nid = \"sku\"\n")],
        "assay.toml: invalid TOML at line 2, column 18: invalid basic string",
    );
    let toml = TOML.replace("id = \"sku\"", "id = 3");
    check_project(
        &[("assay.toml", &toml)],
        "assay.toml: key 'items.id': expected a string, found integer",
    );
    let toml = TOML.replace(
        "kind = \"event_type\"",
        "kind = { constant = \"wishlist\" }",
    );
    check_project(
        &[("assay.toml", &toml)],
        "assay.toml: key 'events[0].kind': expected an event kind (impression, click, cart, \
         purchase, rating, dwell), found \"wishlist\"",
    );
    let toml = format!("{TOML}\n[options]\nunknown_refs = \"ignore\"\n");
    check_project(
        &[("assay.toml", &toml)],
        "assay.toml: key 'options.unknown_refs': expected \"fail\" or \"drop\", found \"ignore\"",
    );
    let toml = TOML.replace("id = \"sku\"\n", "");
    check_project(
        &[("assay.toml", &toml)],
        "assay.toml: missing key 'items.id'",
    );
    let toml = &TOML[..TOML.find("[[events]]").unwrap_or(TOML.len())];
    check_project(
        &[("assay.toml", toml)],
        "assay.toml: missing [[events]]: declare at least one event file",
    );
}

#[test]
fn unparsable_number() {
    check_project(
        &[("items.csv", "sku,name,price\nA1,Red dress,19,90\n")],
        "items.csv:2: expected 3 fields as in the header, found 4",
    );
    check_project(
        &[("items.csv", "sku,name,price\nA1,Red dress,abc\n")],
        "items.csv:2: field 'price': expected a number, found \"abc\"",
    );
    check_project(
        &[("events.csv", &with_event("u3,A1,purchase,12 EUR,,,"))],
        "events.csv:4: field 'amount': expected a number, found \"12 EUR\"",
    );
}

#[test]
fn unparsable_timestamp() {
    check_project(
        &[("events.csv", &with_event("u3,A1,click,,yesterday,,"))],
        "events.csv:4: field 'ts': expected a timestamp (RFC 3339 or unix seconds), found \
         \"yesterday\"",
    );
    check_project(
        &[(
            "events.csv",
            &with_event("u3,A1,click,,2024-02-30T00:00:00Z,,"),
        )],
        "events.csv:4: field 'ts': expected a timestamp (RFC 3339 or unix seconds), found \
         \"2024-02-30T00:00:00Z\"",
    );
}

#[test]
fn duplicate_item_id() {
    check_project(
        &[(
            "items.csv",
            "sku,name,price\nA1,Red dress,1\nB2,Shirt,2\nA1,Again,3\n",
        )],
        "items.csv:4: field 'sku': duplicate item id \"A1\", first on line 2",
    );
}

const USERS_TOML: &str = "\n[users]\npath = \"users.csv\"\nid = \"customer_id\"\n";

#[test]
fn duplicate_user_id() {
    let toml = format!("{TOML}{USERS_TOML}");
    check_project(
        &[
            ("assay.toml", &toml),
            ("users.csv", "customer_id,segment\nu1,new\nu2,vip\nu1,vip\n"),
        ],
        "users.csv:4: field 'customer_id': duplicate user id \"u1\", first on line 2",
    );
}

#[test]
fn unknown_item_fails_or_is_dropped() {
    let events = with_event("u3,Z9,click,,,,");
    check_project(
        &[("events.csv", &events)],
        "events.csv:4: field 'sku': unknown item \"Z9\": not in items.csv; set unknown_refs = \
         \"drop\" in [options] to skip such events",
    );
    let events = format!("{events}u4,Z8,click,,,,\n");
    let dir = project(&[("events.csv", &events)]);
    let loaded = load_ok(dir.path(), &LoadOptions::new(UnknownRefs::Drop));
    assert_eq!(loaded.dataset.events.len(), 2);
    // The dropped rows' users were not created.
    assert_eq!(loaded.dataset.users.len(), 2);
    let [dropped] = loaded.report.dropped.as_slice() else {
        panic!("expected one drop entry: {:?}", loaded.report.dropped);
    };
    assert_eq!(dropped.reason, DropReason::UnknownItem);
    assert_eq!(dropped.count, 2);
    assert_eq!(
        dropped.first,
        format!("{}:4", dir.path().join("events.csv").display())
    );
    // assay.toml can ask for dropping too; an explicit option overrides it.
    let toml = format!("{TOML}\n[options]\nunknown_refs = \"drop\"\n");
    let dir = project(&[("assay.toml", &toml), ("events.csv", &events)]);
    assert_eq!(
        load_ok(dir.path(), &LoadOptions::default())
            .dataset
            .events
            .len(),
        2
    );
    assert!(load(dir.path(), &LoadOptions::new(UnknownRefs::Fail)).is_err());
}

#[test]
fn unknown_user_fails_or_is_dropped() {
    let toml = format!("{TOML}{USERS_TOML}");
    let users = "customer_id\nu1\nu2\n";
    let events = with_event("u3,A1,click,,,,");
    check_project(
        &[
            ("assay.toml", &toml),
            ("users.csv", users),
            ("events.csv", &events),
        ],
        "events.csv:4: field 'customer_id': unknown user \"u3\": not in users.csv; set \
         unknown_refs = \"drop\" in [options] to skip such events",
    );
    let dir = project(&[
        ("assay.toml", &toml),
        ("users.csv", users),
        ("events.csv", &events),
    ]);
    let loaded = load_ok(dir.path(), &LoadOptions::new(UnknownRefs::Drop));
    assert_eq!(loaded.dataset.events.len(), 2);
    assert_eq!(loaded.report.dropped[0].reason, DropReason::UnknownUser);
}

#[test]
fn negative_price() {
    check_project(
        &[("items.csv", "sku,name,price\nA1,Red dress,-3\n")],
        "items.csv:2: field 'price': expected a price >= 0, found \"-3\"",
    );
}

#[test]
fn propensity_outside_unit_interval() {
    for bad in ["0", "1.5", "-0.1"] {
        check_project(
            &[("events.csv", &with_event(&format!("u3,A1,click,,,1,{bad}")))],
            &format!(
                "events.csv:4: field 'p_log': expected a propensity in (0, 1], found \"{bad}\""
            ),
        );
    }
}

#[test]
fn position_below_one() {
    check_project(
        &[("events.csv", &with_event("u3,A1,click,,,0,"))],
        "events.csv:4: field 'pos': expected a position (an integer from 1 to 65535), found \"0\"",
    );
    check_project(
        &[("events.csv", &with_event("u3,A1,click,,,first,"))],
        "events.csv:4: field 'pos': expected a position (an integer from 1 to 65535), found \
         \"first\"",
    );
}

#[test]
fn unknown_event_kind() {
    check_project(
        &[("events.csv", &with_event("u3,A1,wishlist,,,,"))],
        "events.csv:4: field 'event_type': expected an event kind (impression, click, cart, \
         purchase, rating, dwell), found \"wishlist\"",
    );
}

#[test]
fn empty_files() {
    check_project(
        &[("items.csv", "")],
        "items.csv: empty file: expected a header line",
    );
    check_project(
        &[("events.csv", EVENTS_HEADER)],
        "events.csv: no rows after the header",
    );
    let toml = TOML.replace("events.csv", "events.jsonl");
    check_project(
        &[("assay.toml", &toml), ("events.jsonl", "\n\n")],
        "events.jsonl: empty file: expected JSON objects, one per line",
    );
}

#[test]
fn wrong_delimiter() {
    check_project(
        &[("items.csv", "sku;name;price\nA1;Red dress;1\n")],
        "items.csv:1: the header is a single field containing semicolons: the file seems to be \
         semicolon-separated, expected comma-separated values",
    );
    check_project(
        &[("items.csv", "sku\tname\tprice\nA1\tRed dress\t1\n")],
        "items.csv:1: the header is a single field containing tabs: the file seems to be \
         tab-separated, expected comma-separated values",
    );
    let toml = TOML.replace("items.csv", "items.tsv");
    check_project(
        &[
            ("assay.toml", &toml),
            ("items.tsv", "sku,name,price\nA1,Red dress,1\n"),
        ],
        "items.tsv:1: the header is a single field containing commas: the file seems to be \
         comma-separated, expected tab-separated values",
    );
}

#[test]
fn invalid_utf8() {
    let dir = write_dir(&[
        ("assay.toml", TOML.as_bytes()),
        (
            "items.csv",
            b"sku,name,price\nA1,Red dress,1\nB2,Bl\xffue,2\n",
        ),
        ("events.csv", common::EVENTS.as_bytes()),
    ]);
    assert_eq!(
        load_err(dir.path(), &LoadOptions::default()),
        "items.csv:3: field 'name': invalid UTF-8 at byte 2 of the field (the row starts at \
         byte 30 of the file)"
    );
    let toml = TOML.replace("events.csv", "events.jsonl");
    let dir = write_dir(&[
        ("assay.toml", toml.as_bytes()),
        ("items.csv", common::ITEMS.as_bytes()),
        (
            "events.jsonl",
            b"{\"customer_id\":\"u1\",\"sku\":\"A1\",\"event_type\":\"click\"}\n{\"customer_id\":\"\xc3\"}\n",
        ),
    ]);
    assert_eq!(
        load_err(dir.path(), &LoadOptions::default()),
        "events.jsonl:2: invalid UTF-8 at byte 16 of the line"
    );
}

#[test]
fn ragged_rows() {
    check_project(
        &[("events.csv", &with_event("u3,A1,click"))],
        "events.csv:4: expected 7 fields as in the header, found 3",
    );
}

#[test]
fn malformed_json_lines() {
    let toml = TOML.replace("events.csv", "events.jsonl");
    let good = r#"{"customer_id":"u1","sku":"A1","event_type":"click","ts":1704103200,"pos":2,"amount":null,"p_log":0.5}"#;
    check_project(
        &[
            ("assay.toml", &toml),
            (
                "events.jsonl",
                &format!("{good}\n{{\"customer_id\": \"u2\",\n"),
            ),
        ],
        "events.jsonl:2: malformed JSON at column 21: EOF while parsing a value",
    );
    check_project(
        &[
            ("assay.toml", &toml),
            ("events.jsonl", &format!("{good}\n[1, 2]\n")),
        ],
        "events.jsonl:2: expected a JSON object, found an array",
    );
    check_project(
        &[
            ("assay.toml", &toml),
            (
                "events.jsonl",
                &format!("{good}\n{}\n", good.replace("\"A1\"", "[\"A1\"]")),
            ),
        ],
        "events.jsonl:2: field 'sku': expected a string, a number or a boolean, found an array",
    );
    // Objects may leave out optional keys, but a declared key that no object has is a mistake.
    let typo = toml.replace("timestamp = \"ts\"", "timestamp = \"time\"");
    check_project(
        &[
            ("assay.toml", &typo),
            ("events.jsonl", &format!("{good}\n")),
        ],
        "events.jsonl: missing column 'time' (declared by events[0].timestamp in assay.toml): no \
         object has this key; keys of the first object: 'amount', 'customer_id', \
         'event_type', 'p_log', 'pos', 'sku', 'ts'",
    );
}

#[test]
fn non_finite_numbers() {
    check_project(
        &[("events.csv", &with_event("u3,A1,purchase,NaN,,,"))],
        "events.csv:4: field 'amount': expected a finite number, found \"NaN\"",
    );
    check_project(
        &[("items.csv", "sku,name,price\nA1,Red dress,inf\n")],
        "items.csv:2: field 'price': expected a finite number, found \"inf\"",
    );
}

#[test]
fn empty_ids() {
    check_project(
        &[("events.csv", &with_event(",A1,click,,,,"))],
        "events.csv:4: field 'customer_id': expected a user id, found an empty cell",
    );
    check_project(
        &[("items.csv", "sku,name,price\n,Red dress,1\n")],
        "items.csv:2: field 'sku': expected an item id, found an empty cell",
    );
}

#[test]
fn missing_file() {
    let toml = TOML.replace("events.csv", "clicks.csv");
    let dir = project(&[("assay.toml", &toml)]);
    let message = load_err(dir.path(), &LoadOptions::default());
    assert!(
        message.starts_with("clicks.csv: cannot read: "),
        "{message}"
    );
}

#[test]
fn unrecognized_directory() {
    let dir = write_dir(&[("notes.txt", b"hello"), ("data.csv", b"a,b\n1,2\n")]);
    assert_eq!(
        load_err(dir.path(), &LoadOptions::default()),
        format!(
            "{}: not a dataset: expected a directory holding assay.toml (a shop project), a \
             RecBole <name>.inter file, or item_context.csv plus one campaign .csv (Open Bandit \
             Dataset); found data.csv, notes.txt",
            dir.path().display()
        )
    );
}

#[test]
fn judgments_rules() {
    let toml = format!("{TOML}\n[judgments]\npath = \"judgments.tsv\"\n");
    check_project(
        &[
            ("assay.toml", &toml),
            (
                "judgments.tsv",
                "query_id\tquery\titem_id\tgrade\nq1\tred dress\tA1\tvery\n",
            ),
        ],
        "judgments.tsv:2: field 'grade': expected a number, found \"very\"",
    );
    check_project(
        &[
            ("assay.toml", &toml),
            (
                "judgments.tsv",
                "query_id\tquery\titem\tgrade\nq1\tred dress\tA1\t1\n",
            ),
        ],
        "judgments.tsv:1: missing column 'item_id' (a judgment file has query_id, query, item_id \
         and grade); columns found: 'query_id', 'query', 'item', 'grade'",
    );
    check_project(
        &[
            ("assay.toml", &toml),
            (
                "judgments.tsv",
                "query_id\tquery\titem_id\tgrade\nq1\tred dress\tZ9\t1\n",
            ),
        ],
        "judgments.tsv:2: field 'item_id': unknown item \"Z9\": not in the catalog; set \
         unknown_refs = \"drop\" to skip such rows",
    );
}

#[test]
fn recbole_rules() {
    let check = |files: &[(&str, &[u8])], expected: &str| {
        let dir = write_dir(files);
        assert_eq!(load_err(dir.path(), &LoadOptions::default()), expected);
    };
    check(
        &[("shop.inter", b"user_id\titem_id:token\nu1\ti1\n")],
        "shop.inter:1: field 'user_id': expected a RecBole header field 'name:type' with type \
         token, token_seq, float or float_seq",
    );
    check(
        &[(
            "shop.inter",
            b"user_id:token\titem_id:token\trating:float\nu1\ti1\tgood\n",
        )],
        "shop.inter:2: field 'rating': expected a number, found \"good\"",
    );
    check(
        &[
            ("shop.inter", b"user_id:token\titem_id:token\nu1\ti9\n"),
            (
                "shop.item",
                b"item_id:token\ttitle:token_seq\ni1\tA thing\n",
            ),
        ],
        "shop.inter:2: field 'item_id': unknown item \"i9\": not in shop.item",
    );
    // A NUL or any other control character in an id is a damaged file, not an id.
    check(
        &[(
            "shop.inter",
            b"user_id:token\titem_id:token\nu1\ti1\nu1\ta\0b\n",
        )],
        "shop.inter:3: field 'item_id': expected an item id without control characters, \
         found \"a\\0b\"",
    );
    check(
        &[("shop.inter", b"user_id:token\titem_id:token\n\x01u\ti1\n")],
        "shop.inter:2: field 'user_id': expected a user id without control characters, \
         found \"\\u{1}u\"",
    );
    check(
        &[
            ("shop.inter", b"user_id:token\titem_id:token\nu1\ti1\n"),
            ("shop.item", b"item_id:token\ni1\ni\x002\n"),
        ],
        "shop.item:3: field 'item_id': expected an item id without control characters, \
         found \"i\\02\"",
    );
    check(
        &[("shop.inter", b"user_id:token,item_id:token\nu1,i1\n")],
        "shop.inter:1: the header is a single field containing commas: the file seems to be \
         comma-separated, expected tab-separated values",
    );
}

#[test]
fn open_bandit_rules() {
    let context = b",item_id,item_feature_0,item_feature_1\n0,0,0.5,a\n1,1,-0.5,b\n";
    let check = |log: &[u8], expected: &str| {
        let dir = write_dir(&[("item_context.csv", context), ("all.csv", log)]);
        assert_eq!(load_err(dir.path(), &LoadOptions::default()), expected);
    };
    let header = ",timestamp,item_id,position,click,propensity_score,user_feature_0\n";
    let log = |row: &str| format!("{header}{row}\n").into_bytes();
    check(
        &log("0,2019-11-24 00:00:34+00:00,1,1,2,0.5,x"),
        "all.csv:2: field 'click': expected 0 or 1, found \"2\"",
    );
    check(
        &log("0,2019-11-24 00:00:34+00:00,1,1,0,,x"),
        "all.csv:2: field 'propensity_score': expected a propensity in (0, 1], found \"\"",
    );
    check(
        &log("0,2019-11-24 00:00:34+00:00,7,1,0,0.5,x"),
        "all.csv:2: field 'item_id': unknown item \"7\": not in item_context.csv",
    );
    check(
        b",timestamp,item_id,position\n0,2019-11-24 00:00:34+00:00,1,1\n",
        "all.csv:1: missing column 'click' (an Open Bandit log has timestamp, item_id, position, \
         click and propensity_score); columns found: '', 'timestamp', 'item_id', 'position'",
    );
    let dir = write_dir(&[
        (
            "item_context.csv",
            b",item_id,item_feature_0\n0,0,1\n1,0,2\n",
        ),
        ("all.csv", &log("0,2019-11-24 00:00:34+00:00,0,1,0,0.5,x")),
    ]);
    assert_eq!(
        load_err(dir.path(), &LoadOptions::default()),
        "item_context.csv:3: field 'item_id': duplicate item id \"0\", first on line 2"
    );
}

#[test]
fn a_plain_file_is_not_a_dataset() {
    let dir = write_dir(&[("items.csv", common::ITEMS.as_bytes())]);
    let error = load(&dir.path().join("items.csv"), &LoadOptions::default())
        .err()
        .map(|e| common::message(&e, dir.path()));
    assert_eq!(
        error.as_deref(),
        Some("items.csv: not a dataset: expected a directory, or its assay.toml")
    );
}

#[test]
fn numbers_beyond_32_bit_floats_are_refused_where_they_are_read() {
    // Features are stored as f32, where 1e39 would become infinity.
    let context = b",item_id,item_feature_0\n0,0,1e39\n";
    let log = b",timestamp,item_id,position,click,propensity_score,user-item_affinity_0\n\
                0,2019-11-24 00:00:34+00:00,0,1,0,0.5,-4e38\n";
    let dir = write_dir(&[("item_context.csv", context), ("all.csv", log)]);
    assert_eq!(
        load_err(dir.path(), &LoadOptions::default()),
        "item_context.csv:2: field 'item_feature_0': expected a number within ±3.4e38 (the \
         column is stored as a 32-bit float), found \"1e39\""
    );
    let context = b",item_id,item_feature_0\n0,0,3.4e38\n";
    let dir = write_dir(&[("item_context.csv", context), ("all.csv", log)]);
    assert_eq!(
        load_err(dir.path(), &LoadOptions::default()),
        "all.csv:2: field 'user-item_affinity_0': expected a number within ±3.4e38 (the \
         column is stored as a 32-bit float), found \"-4e38\""
    );
    for (file, header) in [
        ("shop.item", "item_id:token"),
        ("shop.user", "user_id:token"),
    ] {
        let table = format!("{header}\tweight:float\nx\t5e38\n");
        let id = if file == "shop.item" { "i1" } else { "u1" };
        let table = table.replace("\nx\t", &format!("\n{id}\t"));
        let dir = write_dir(&[
            ("shop.inter", b"user_id:token\titem_id:token\nu1\ti1\n"),
            (file, table.as_bytes()),
        ]);
        assert_eq!(
            load_err(dir.path(), &LoadOptions::default()),
            format!(
                "{file}:2: field 'weight': expected a number within ±3.4e38 (the column is \
                 stored as a 32-bit float), found \"5e38\""
            )
        );
    }
}

#[test]
fn a_line_over_the_cap_is_refused_with_its_place_by_every_reader() {
    use assay_import::{
        read_ab_csv, read_action_dist, read_catalog, read_faq, read_intent_labels, read_judgments,
        BetaPrior, LabelledTable, MAX_LINE_BYTES,
    };
    assert_eq!(MAX_LINE_BYTES, 16 << 20);
    // One byte over the cap, without a line break: what a file saved without them looks like.
    let long = "x".repeat(MAX_LINE_BYTES + 1);
    let expected = |file: &str, line: u64| {
        format!(
            "{file}:{line}: the line is longer than 16.0 MiB, the most a line may hold; is the \
             file one record per line?"
        )
    };
    // The project readers, CSV and JSON Lines.
    let events = format!("{}{long}\n", common::EVENTS);
    check_project(&[("events.csv", &events)], &expected("events.csv", 4));
    let toml = TOML.replace("events.csv", "events.jsonl");
    let jsonl =
        format!("{{\"customer_id\":\"u1\",\"sku\":\"A1\",\"event_type\":\"click\"}}\n{long}");
    check_project(
        &[("assay.toml", &toml), ("events.jsonl", &jsonl)],
        &expected("events.jsonl", 2),
    );
    // The files read on their own.
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, header: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("{header}\n{long}\n")).unwrap();
        path
    };
    let relative = |error: assay_import::ImportError| common::message(&error, dir.path());
    let catalog = write("catalog.csv", "id,title");
    assert_eq!(
        relative(read_catalog(&catalog).unwrap_err()),
        expected("catalog.csv", 2)
    );
    let catalog = write("catalog.jsonl", "{\"id\":\"a\",\"title\":\"A\"}");
    assert_eq!(
        relative(read_catalog(&catalog).unwrap_err()),
        expected("catalog.jsonl", 2)
    );
    let ab = write("ab.csv", "variant,metric");
    assert_eq!(
        relative(read_ab_csv(&ab).unwrap_err()),
        expected("ab.csv", 2)
    );
    let dist = write("pi.csv", "action,position,prob");
    let error = read_action_dist(&dist, 10, 3, 1).unwrap_err();
    assert_eq!(relative(error), expected("pi.csv", 2));
    let table = write("train.csv", "a,label");
    let error = LabelledTable::read_csv(&table, "label").unwrap_err();
    assert_eq!(relative(error), expected("train.csv", 2));
    let queries = write("queries.csv", "query,category");
    assert_eq!(
        relative(read_intent_labels(&queries).unwrap_err()),
        expected("queries.csv", 2)
    );
    let judged = write("judged.tsv", "query_id\tquery\titem_id\tgrade");
    let error = read_judgments(&judged, &Default::default(), &LoadOptions::default())
        .err()
        .unwrap();
    assert_eq!(relative(error), expected("judged.tsv", 2));
    let faq = write("faq.tsv", "question\tanswer");
    assert_eq!(
        relative(read_faq(&faq).err().unwrap()),
        expected("faq.tsv", 2)
    );
    let prior = write("prior.yaml", "all:");
    let error = BetaPrior::from_yaml_file(&prior, "all").unwrap_err();
    assert_eq!(relative(error), expected("prior.yaml", 2));
}
