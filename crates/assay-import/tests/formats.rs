//! Happy paths of each format on small inline fixtures.

mod common;

use assay_core::{EventKind, NO_POSITION, NO_QUERY, NO_SESSION, NO_TIME};
use assay_import::{load, read_judgments, Format, LoadOptions, UnknownRefs};
use common::{load_ok, project, write_dir};

const FULL_TOML: &str = r#"name = "my-shop"

[items]
path = "items.csv"
id = "sku"
title = "name"
description = "desc"
category = "category_path"
brand = "brand"
price = "price"
attributes = ["color"]

[users]
path = "users.tsv"
id = "customer_id"
attributes = ["segment", "region"]

[[events]]
path = "events.csv"
user = "customer_id"
item = "sku"
kind = "event_type"
value = "amount"
timestamp = "ts"
session = "session_id"
query = "query"
position = "pos"
propensity = "p_log"
source = "channel"

[[events]]
path = "partner.jsonl"
user = "customer_id"
item = "sku"
kind = { constant = "purchase" }
value = "amount"
source = { constant = "partner-feed" }

[[events]]
path = "ratings.csv"
user = "customer_id"
item = "sku"
kind = { constant = "rating" }
value = "stars"

[judgments]
path = "judgments.tsv"

[options]
unknown_refs = "drop"
"#;

const FULL_ITEMS: &str = "sku,name,desc,category_path,brand,price,color
A1,Red dress,\"Long, red\",Women/Dresses/Maxi,Acme,19.90,red
B2,Blue shirt,,Men/Shirts,,,blue
C3,Socks,,,,0,
";

const USERS: &str = "customer_id\tsegment\tregion
u1\tvip\teu
u2\tnew\t
";

const FULL_EVENTS: &str = "customer_id,sku,event_type,amount,ts,session_id,query,pos,p_log,channel
u1,A1,impression,,2024-01-01T10:00:00Z,s1,red dress,1,0.25,app
u1,A1,click,,2024-01-01T10:00:05.5+01:00,s1,red dress,1,0.25,app
u2,B2,Add_To_Cart,,1704103200,s2,,,,web
u2,B2,purchase,25.5,1704103200.9,s2,,,,
u9,B2,click,,,,,,,web
";

const PARTNER: &str = r#"{"customer_id": "u1", "sku": "C3", "amount": 4}

{"customer_id": "u2", "sku": "A1", "amount": null, "extra": [1, 2]}
"#;

const RATINGS: &str = "customer_id,sku,stars\nu1,B2,4.5\n";

const JUDGMENTS: &str = "query_id\tquery\titem_id\tgrade
q1\tred dress\tA1\t2
q1\tred dress\tB2\t0.5
q2\tsocks\tZZ\t1
";

#[test]
fn project_with_every_field() {
    let dir = project(&[
        ("assay.toml", FULL_TOML),
        ("items.csv", FULL_ITEMS),
        ("users.tsv", USERS),
        ("events.csv", FULL_EVENTS),
        ("partner.jsonl", PARTNER),
        ("ratings.csv", RATINGS),
        ("judgments.tsv", JUDGMENTS),
    ]);
    let loaded = load_ok(dir.path(), &LoadOptions::default());
    let report = &loaded.report;
    let data = &loaded.dataset;
    assert_eq!(report.format, Format::Project);
    assert_eq!(data.name, "my-shop");

    let rows: Vec<(String, u64)> = report
        .files
        .iter()
        .map(|f| {
            (
                f.path.file_name().unwrap().to_string_lossy().into_owned(),
                f.rows,
            )
        })
        .collect();
    let expected_rows = [
        ("items.csv", 3),
        ("users.tsv", 2),
        ("events.csv", 5),
        ("partner.jsonl", 2),
        ("ratings.csv", 1),
        ("judgments.tsv", 3),
    ];
    assert_eq!(
        rows,
        expected_rows.map(|(name, n)| (name.to_owned(), n)).to_vec()
    );

    let items = &data.items;
    assert_eq!(items.ids.names(), ["A1", "B2", "C3"]);
    assert_eq!(items.title[0], "Red dress");
    assert_eq!(items.description[0], "Long, red");
    assert_eq!(items.category[0], "Women/Dresses/Maxi");
    assert_eq!(items.brand[0], "Acme");
    assert_eq!(items.price[0], 19.9);
    assert!(items.price[1].is_nan());
    assert_eq!(items.price[2], 0.0);
    assert_eq!(
        items.attributes.column("color"),
        Some(&["red".to_owned(), "blue".to_owned(), String::new()][..])
    );

    assert_eq!(data.users.ids.names(), ["u1", "u2"]);
    assert_eq!(
        data.users
            .attributes
            .column("region")
            .map(|c| c[0].as_str()),
        Some("eu")
    );

    // u9 is not in users.tsv and [options] says drop: one dropped row.
    assert_eq!(report.dropped.len(), 2);
    assert_eq!(report.dropped[0].count, 1);
    assert!(report.dropped[0].first.ends_with("events.csv:6"));
    // The judgment of unknown item ZZ is dropped too.
    assert!(report.dropped[1].first.ends_with("judgments.tsv:4"));

    let events = &data.events;
    assert_eq!(events.len(), 4 + 2 + 1);
    assert_eq!(
        events.kind,
        [
            EventKind::Impression,
            EventKind::Click,
            EventKind::Cart,
            EventKind::Purchase,
            EventKind::Purchase,
            EventKind::Purchase,
            EventKind::Rating
        ]
    );
    assert_eq!(events.timestamp[0], 1_704_103_200);
    assert_eq!(events.timestamp[1], 1_704_103_200 - 3600 + 5);
    assert_eq!(events.timestamp[3], 1_704_103_200);
    assert_eq!(events.timestamp[4], NO_TIME);
    assert_eq!(events.position[..3], [1, 1, NO_POSITION]);
    assert_eq!(events.propensity[0], 0.25);
    assert!(events.propensity[2].is_nan());
    assert_eq!(events.value[3], 25.5);
    assert!(events.value[0].is_nan());
    assert_eq!(events.value[4], 4.0);
    assert!(events.value[5].is_nan());
    assert_eq!(events.value[6], 4.5);
    assert_eq!(data.sessions.names(), ["s1", "s2"]);
    assert_eq!(events.session[..4], [0, 0, 1, 1]);
    assert_eq!(events.session[4], NO_SESSION);
    assert_eq!(data.queries.names(), ["red dress"]);
    assert_eq!(events.query[..3], [0, 0, NO_QUERY]);
    // Sources: the default (file stem) is interned first, then the column's values.
    let source = |e: usize| data.sources.name(u32::from(events.source[e]));
    assert_eq!(
        (0..7).map(source).collect::<Vec<_>>(),
        [
            "app",
            "app",
            "web",
            "events",
            "partner-feed",
            "partner-feed",
            "ratings"
        ]
    );

    assert_eq!(data.judgments.len(), 2);
    assert_eq!(data.judgments[1].query_id, "q1");
    assert_eq!(data.judgments[1].query, "red dress");
    assert_eq!(data.judgments[1].item, 1);
    assert_eq!(data.judgments[1].grade, 0.5);
}

#[test]
fn project_without_users_creates_them_from_events() {
    let dir = project(&[]);
    let loaded = load_ok(dir.path(), &LoadOptions::default());
    let data = &loaded.dataset;
    assert_eq!(data.users.ids.names(), ["u1", "u2"]);
    assert_eq!(data.events.len(), 2);
    assert_eq!(data.sources.names(), ["events"]);
    // The project's name defaults to its directory's.
    assert_eq!(data.name, dir.path().file_name().unwrap().to_string_lossy());
    // load also accepts the assay.toml file itself.
    let again = load_ok(&dir.path().join("assay.toml"), &LoadOptions::default());
    assert_eq!(again.dataset.events.len(), 2);
}

#[test]
fn recbole_atomic_files() {
    let dir = write_dir(&[
        (
            "shop.inter",
            b"user_id:token\titem_id:token\trating:float\ttimestamp:float\n\
              u1\ti2\t4\t100\nu2\ti1\t2.5\t200.7\n",
        ),
        (
            "shop.item",
            b"item_id:token\tmovie_title:token_seq\tclass:token_seq\tprice:float\tpop:float\n\
              i1\tThe Thing\tHorror Sci-Fi\t9.5\t0.1\ni2\tUp\tAnimation\t\t0.2\ni3\tNever Rated\t\t\t\n",
        ),
        (
            "shop.user",
            b"user_id:token\tage:float\tgender:token\nu1\t30\tF\nu2\t41\tM\nu3\t\t\n",
        ),
    ]);
    let loaded = load_ok(dir.path(), &LoadOptions::new(UnknownRefs::Fail));
    let data = &loaded.dataset;
    assert_eq!(loaded.report.format, Format::RecBole);
    assert_eq!(data.name, "shop");
    // Catalog order is file order, including items nobody rated.
    assert_eq!(data.items.ids.names(), ["i1", "i2", "i3"]);
    assert_eq!(data.items.title, ["The Thing", "Up", "Never Rated"]);
    assert_eq!(data.items.category, ["Horror/Sci-Fi", "Animation", ""]);
    assert_eq!(data.items.price[0], 9.5);
    assert!(data.items.price[1].is_nan());
    assert_eq!(data.items.attributes.names, ["class"]);
    assert_eq!(data.items.features.names, ["pop"]);
    assert_eq!(data.items.features.row(1), [0.2]);
    assert_eq!(data.users.ids.names(), ["u1", "u2", "u3"]);
    assert_eq!(data.users.attributes.names, ["gender"]);
    assert_eq!(data.users.features.names, ["age"]);
    assert_eq!(data.users.features.row(1), [41.0]);
    assert_eq!(data.events.kind, [EventKind::Rating, EventKind::Rating]);
    assert_eq!(data.events.item, [1, 0]);
    assert_eq!(data.events.user, [0, 1]);
    assert_eq!(data.events.value, [4.0, 2.5]);
    assert_eq!(data.events.timestamp, [100, 200]);
    assert_eq!(data.sources.names(), ["shop"]);
}

#[test]
fn recbole_without_rating_gives_clicks() {
    let dir = write_dir(&[(
        "logs.inter",
        b"user_id:token\titem_id:token\nu1\ti1\nu1\ti2\n",
    )]);
    let data = load_ok(dir.path(), &LoadOptions::default()).dataset;
    assert_eq!(data.events.kind, [EventKind::Click, EventKind::Click]);
    assert_eq!(data.items.ids.names(), ["i1", "i2"]);
    assert_eq!(data.events.timestamp, [NO_TIME, NO_TIME]);
}

#[test]
fn open_bandit_campaign() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("obd/bts/men");
    std::fs::create_dir_all(&dir).unwrap();
    // Items listed out of order: the dense index must still equal the OBD item id.
    std::fs::write(
        dir.join("item_context.csv"),
        ",item_id,item_feature_0,item_feature_1\n0,1,-0.5,b\n1,0,0.5,a\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("men.csv"),
        ",timestamp,item_id,position,click,propensity_score,user_feature_0,user-item_affinity_0,user-item_affinity_1\n\
         0,2019-11-24 00:00:34.762830+00:00,1,2,1,0.5,h1,0.0,1.0\n\
         1,2019-11-24 00:01:00.000000+00:00,0,1,0,0.25,h2,2.0,0.0\n",
    )
    .unwrap();
    let loaded = load(&dir, &LoadOptions::default()).unwrap();
    let data = &loaded.dataset;
    assert_eq!(loaded.report.format, Format::Obd);
    assert_eq!(data.name, "obd/bts/men");
    assert_eq!(data.items.ids.names(), ["0", "1"]);
    assert_eq!(data.items.features.data, [0.5, -0.5]);
    assert_eq!(
        data.items.attributes.column("item_feature_1").unwrap(),
        ["a", "b"]
    );
    assert_eq!(
        data.events.kind,
        [
            EventKind::Impression,
            EventKind::Click,
            EventKind::Impression
        ]
    );
    assert_eq!(data.events.item, [1, 1, 0]);
    assert_eq!(data.events.user, [0, 0, 1]);
    assert_eq!(data.events.session, [0, 0, 1]);
    assert_eq!(data.events.position, [2, 2, 1]);
    assert_eq!(data.events.propensity, [0.5, 0.5, 0.25]);
    assert_eq!(
        data.events.timestamp,
        [1_574_553_634, 1_574_553_634, 1_574_553_660]
    );
    assert_eq!(data.users.ids.names(), ["0", "1"]);
    assert_eq!(
        data.users.attributes.column("user_feature_0").unwrap(),
        ["h1", "h2"]
    );
    assert_eq!(
        data.users.features.names,
        ["user-item_affinity_0", "user-item_affinity_1"]
    );
    assert_eq!(data.users.features.row(1), [2.0, 0.0]);
    assert_eq!(data.sources.names(), ["obd/bts"]);
    let rows: Vec<u64> = loaded.report.files.iter().map(|f| f.rows).collect();
    assert_eq!(rows, [2, 2]);
}

#[test]
fn judgments_on_their_own() {
    let dir = write_dir(&[
        ("judgments.tsv", JUDGMENTS.as_bytes()),
        (
            "judgments.csv",
            b"query_id,query,item_id,grade\nq1,red,A1,3\n",
        ),
    ]);
    let mut items = assay_core::Items::default();
    items.intern("A1");
    items.intern("B2");
    let read = read_judgments(
        &dir.path().join("judgments.tsv"),
        &items,
        &LoadOptions::new(UnknownRefs::Drop),
    )
    .unwrap();
    assert_eq!(read.judgments.len(), 2);
    assert_eq!(read.file.rows, 3);
    assert_eq!(read.dropped[0].count, 1);
    let err = read_judgments(
        &dir.path().join("judgments.tsv"),
        &items,
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().ends_with(
        "judgments.tsv:4: field 'item_id': unknown item \"ZZ\": not in the catalog; set unknown_refs = \"drop\" to skip such rows"
    ));
    let csv = read_judgments(
        &dir.path().join("judgments.csv"),
        &items,
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(csv.judgments[0].grade, 3.0);
}

#[test]
fn byte_order_mark_and_crlf_are_accepted() {
    let dir = project(&[(
        "items.csv",
        "\u{feff}sku,name,price\r\nA1,Red dress,1\r\nB2,Shirt,2\r\n",
    )]);
    let data = load_ok(dir.path(), &LoadOptions::default()).dataset;
    assert_eq!(data.items.ids.names(), ["A1", "B2"]);
    assert_eq!(data.items.price, [1.0, 2.0]);
}
