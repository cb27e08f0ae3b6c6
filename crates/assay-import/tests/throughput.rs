//! Import speed on a million events. Slow to set up, so it runs only when `ASSAY_SLOW_TESTS` is
//! set: `ASSAY_SLOW_TESTS=1 cargo test -p assay-import --test throughput -- --nocapture`.

use std::io::Write;
use std::time::Instant;

use assay_import::{load, LoadOptions};

#[test]
fn a_million_events_import_quickly() -> Result<(), Box<dyn std::error::Error>> {
    if !assay_fetch::samples::slow_tests_enabled() {
        return Ok(());
    }
    const ITEMS: usize = 20_000;
    const USERS: usize = 100_000;
    const EVENTS: usize = 1_000_000;
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("assay.toml"),
        r#"[items]
path = "items.csv"
id = "sku"
title = "name"
price = "price"
[users]
path = "users.csv"
id = "customer_id"
attributes = ["segment"]
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
"#,
    )?;
    let mut items = std::io::BufWriter::new(std::fs::File::create(dir.path().join("items.csv"))?);
    writeln!(items, "sku,name,price")?;
    for i in 0..ITEMS {
        writeln!(items, "SKU{i},Product number {i},{}.99", i % 100)?;
    }
    items.flush()?;
    let mut users = std::io::BufWriter::new(std::fs::File::create(dir.path().join("users.csv"))?);
    writeln!(users, "customer_id,segment")?;
    for u in 0..USERS {
        writeln!(users, "C{u},{}", ["new", "vip", "churned"][u % 3])?;
    }
    users.flush()?;
    let mut events = std::io::BufWriter::new(std::fs::File::create(dir.path().join("events.csv"))?);
    writeln!(
        events,
        "customer_id,sku,event_type,amount,ts,session_id,query,pos,p_log,channel"
    )?;
    let kinds = [
        "impression",
        "impression",
        "impression",
        "click",
        "cart",
        "purchase",
    ];
    for e in 0..EVENTS {
        let kind = kinds[e % kinds.len()];
        let amount = if kind == "purchase" { "19.99" } else { "" };
        let ts = if e % 2 == 0 {
            format!("{}", 1_700_000_000 + e)
        } else {
            "2024-01-01T10:00:00.123Z".to_owned()
        };
        writeln!(
            events,
            "C{},SKU{},{kind},{amount},{ts},S{},{},{},0.{},{}",
            (e * 7919) % USERS,
            (e * 104_729) % ITEMS,
            e / 20,
            if e % 10 == 0 { "red dress" } else { "" },
            e % 10 + 1,
            e % 9 + 1,
            ["app", "web"][e % 2],
        )?;
    }
    events.flush()?;
    drop(events);
    let bytes = std::fs::metadata(dir.path().join("events.csv"))?.len();
    let cpu_before = cpu_seconds();
    let start = Instant::now();
    let loaded = load(dir.path(), &LoadOptions::default())?;
    let seconds = start.elapsed().as_secs_f64();
    // CPU time as well as wall time: on a shared machine the wall time mostly measures the load.
    let cpu_used = match (cpu_before, cpu_seconds()) {
        (Some(before), Some(after)) => Some(after - before),
        _ => None,
    };
    let cpu = cpu_used.map_or_else(String::new, |c| format!(", {c:.2} s of CPU"));
    println!(
        "{EVENTS} events ({:.1} MB) imported in {seconds:.2} s{cpu} ({:.0} events/s)",
        bytes as f64 / 1e6,
        EVENTS as f64 / seconds
    );
    assert_eq!(loaded.dataset.events.len(), EVENTS);
    // The budget is 10 s; CPU time is checked where known because other work on the machine
    // stretches the wall time.
    let spent = cpu_used.unwrap_or(seconds);
    assert!(spent < 10.0, "took {spent:.2} s");
    Ok(())
}

/// User plus system CPU seconds of this thread, from Linux's `/proc`; `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks are 1/100 s on every common Linux configuration.
    Some((utime + stime) / 100.0)
}
