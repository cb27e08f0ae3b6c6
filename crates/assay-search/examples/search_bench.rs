//! Benchmark and quality report on a simulated shop (see bench/search/README.md).
//!
//! `cargo run --release -p assay-search --example search_bench -- [--items N] [--threads T]
//!  [--shop DIR] [--out FILE] [--sentences FILE] [--skip-throughput] [--encoder candle|ort]`
//!
//! Simulates a shop of N products (default 100,000) with 1,000 judged queries, builds the
//! index (timed, peak RSS), prints nDCG@10 / MRR@10 / Recall@100 per mode, intent accuracy,
//! HNSW recall@10 against exact search, query latency p50/p99 per mode including the query's
//! embedding, and the encoder's throughput on the first 1,024 product titles (also written to
//! `--sentences` so the sentence-transformers script encodes the very same strings).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use assay_encoder::{BertEncoder, CachedEncoder, Encoder, EncoderOptions, OrtEncoder};
use assay_search::{build_index, eval_search, IndexConfig, Mode, SearchOptions};

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut items = 100_000u32;
    let mut threads = 2usize;
    let mut shop: Option<PathBuf> = None;
    let mut out: Option<PathBuf> = None;
    let mut sentences_out: Option<PathBuf> = None;
    // The throughput comparison has its own script; skipping it saves minutes on a busy box.
    let mut skip_throughput = false;
    // candle (fp32, pure Rust) or ort (int8 ONNX Runtime, `assay data fetch ort`).
    let mut encoder = String::from("candle");
    let mut hnsw = assay_search::HnswParams::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--items" => items = val()?.parse()?,
            "--threads" => threads = val()?.parse()?,
            "--shop" => shop = Some(val()?.into()),
            "--out" => out = Some(val()?.into()),
            "--sentences" => sentences_out = Some(val()?.into()),
            "--skip-throughput" => skip_throughput = true,
            "--encoder" => encoder = val()?,
            "--m" => hnsw.max_connections = val()?.parse()?,
            "--ef-construction" => hnsw.ef_construction = val()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()?;
    let model_dir = assay_fetch::samples::sample_data(assay_fetch::Pack::Minilm)
        .ok_or("all-MiniLM-L6-v2 not found: run `assay data fetch minilm`")?;
    let shop =
        shop.unwrap_or_else(|| std::env::temp_dir().join(format!("assay-search-shop-{items}")));
    if !shop.join("items.csv").exists() {
        let config = assay_sim::SimConfig {
            n_items: items,
            n_users: 1_000,
            n_events_target: 5_000,
            n_queries: 1_000,
            ..assay_sim::SimConfig::small(42)
        };
        let t = Instant::now();
        assay_sim::simulate(&config, &shop)?;
        eprintln!(
            "simulated {items} items in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let dataset = assay_import::load(&shop, &assay_import::LoadOptions::default())?.dataset;
    eprintln!(
        "{} items, {} judgments",
        dataset.items.len(),
        dataset.judgments.len()
    );

    let home = assay_fetch::Home::from_env();
    let load = |threads: usize| -> Result<Arc<dyn Encoder>, Box<dyn std::error::Error>> {
        Ok(match encoder.as_str() {
            "candle" => Arc::new(BertEncoder::load(
                &model_dir,
                &EncoderOptions {
                    threads,
                    ..EncoderOptions::default()
                },
            )?),
            "ort" => Arc::new(OrtEncoder::from_packs(&home, threads)?),
            other => return Err(format!("--encoder {other}: expected candle or ort").into()),
        })
    };
    let bert = load(threads)?;
    // Throughput on the same sentences the Python script reads.
    let titles: Vec<&str> = dataset
        .items
        .title
        .iter()
        .take(1024)
        .map(String::as_str)
        .collect();
    if let Some(p) = &sentences_out {
        std::fs::write(p, titles.join("\n") + "\n")?;
    }
    let mut throughput = Vec::new();
    let thread_counts: &[usize] = if skip_throughput { &[] } else { &[1, threads] };
    for &t in thread_counts {
        let enc = load(t)?;
        enc.encode(&titles[..64])?; // warm-up
        let started = Instant::now();
        enc.encode(&titles)?;
        let rate = titles.len() as f64 / started.elapsed().as_secs_f64();
        eprintln!(
            "{encoder} encoder, {t} thread(s): {rate:.0} sentences/s on {} titles",
            titles.len()
        );
        throughput.push(serde_json::json!({"threads": t, "sentences_per_s": rate}));
    }

    // Build with a persistent embedding cache so reruns skip the encoding.
    let cached: Arc<dyn Encoder> = Arc::new(CachedEncoder::open(
        bert.clone(),
        &shop.join("embedding-cache"),
    )?);
    let index_dir = tempfile::tempdir()?;
    let config = IndexConfig {
        dir: Some(index_dir.path().join("index")),
        threads,
        hnsw,
        ..IndexConfig::default()
    };
    let started = Instant::now();
    let mut index = build_index(&dataset, cached, &config)?;
    let build_s = started.elapsed().as_secs_f64();
    let rss_after_build = peak_rss_mb();
    eprintln!(
        "index built in {build_s:.1} s (graph: {}), peak RSS {rss_after_build:.0} MB",
        index.uses_graph()
    );
    index.set_encoder(bert.clone())?;

    // Quality.
    let table = eval_search(&index, &dataset.judgments)?;
    println!(
        "{:<20} {:>8} {:>8} {:>10} {:>8}",
        "mode", "nDCG@10", "MRR@10", "Recall@100", "queries"
    );
    for m in &table {
        println!(
            "{:<20} {:>8.4} {:>8.4} {:>10.4} {:>8}",
            m.mode, m.ndcg_at_10, m.mrr_at_10, m.recall_at_100, m.queries
        );
    }
    let labelled = assay_import::read_intent_labels(&shop.join("truth/queries.csv"))?;
    let intent = index.intent_accuracy(&labelled)?;
    println!(
        "intent accuracy: {:.4} (leaf), {:.4} (top level) on {} labelled queries",
        intent.accuracy(),
        intent.top_level_accuracy(),
        intent.queries
    );
    let query_texts: Vec<&str> = labelled.iter().map(|(q, _)| q.as_str()).collect();
    let query_vectors = bert.encode(&query_texts)?;
    // Latency per mode, one query at a time, including the query's embedding; the vector
    // modes at several HNSW candidate list sizes, each with its recall@10 against exact search.
    let latency_of = |index: &assay_search::SearchIndex,
                      mode: Mode|
     -> Result<(f64, f64), Box<dyn std::error::Error>> {
        let options = SearchOptions::mode(mode);
        let mut ms: Vec<f64> = Vec::with_capacity(query_texts.len());
        for q in &query_texts {
            let t = Instant::now();
            index.search(q, &options)?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        ms.sort_by(f64::total_cmp);
        Ok((percentile(&ms, 0.5), percentile(&ms, 0.99)))
    };
    let mut latency = Vec::new();
    let mut embed_ms: Vec<f64> = Vec::with_capacity(query_texts.len());
    for q in &query_texts {
        let t = Instant::now();
        bert.encode(&[q])?;
        embed_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    embed_ms.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&embed_ms, 0.5), percentile(&embed_ms, 0.99));
    println!("query embedding alone p50 {p50:.2} ms  p99 {p99:.2} ms");
    latency.push(serde_json::json!({"mode": "embedding", "p50_ms": p50, "p99_ms": p99}));
    let (p50, p99) = latency_of(&index, Mode::Bm25)?;
    println!(
        "latency bm25    p50 {p50:.2} ms  p99 {p99:.2} ms  ({} queries, k=10)",
        query_texts.len()
    );
    latency.push(serde_json::json!({"mode": "bm25", "p50_ms": p50, "p99_ms": p99}));
    let mut recall = Vec::new();
    for ef in [96usize, 192, 384] {
        index.set_ef_search(ef);
        let strict = index.ann_recall(&query_vectors, 10, 0.0)?;
        let tolerant = index.ann_recall(&query_vectors, 10, 1e-3)?;
        println!(
            "ef_search {ef}: vector index recall@10 vs exact {strict:.4} (ties count; {tolerant:.4} within 1e-3 cosine, as ann-benchmarks) on {} queries",
            query_vectors.len()
        );
        recall.push(serde_json::json!({"ef_search": ef, "recall_at_10": strict, "recall_at_10_within_1e-3": tolerant}));
        for (name, mode) in [("vector", Mode::Vector), ("hybrid", Mode::Hybrid)] {
            let (p50, p99) = latency_of(&index, mode)?;
            println!("latency {name:<7} p50 {p50:.2} ms  p99 {p99:.2} ms  (ef_search {ef})");
            latency.push(
                serde_json::json!({"mode": name, "ef_search": ef, "p50_ms": p50, "p99_ms": p99}),
            );
        }
    }
    let report = serde_json::json!({
        "items": dataset.items.len(),
        "encoder": bert.model_id(),
        "threads": threads,
        "hnsw": {"m": hnsw.max_connections, "ef_construction": hnsw.ef_construction},
        "build_s": build_s,
        "peak_rss_mb": peak_rss_mb(),
        "eval": table,
        "intent": {"accuracy": intent.accuracy(), "top_level_accuracy": intent.top_level_accuracy(), "queries": intent.queries},
        "ann_recall_at_10": recall,
        "latency": latency,
        "encoder_throughput": throughput,
    });
    if let Some(p) = out {
        std::fs::write(p, serde_json::to_string_pretty(&report)?)?;
    }
    println!("peak RSS {:.0} MB", peak_rss_mb());
    Ok(())
}
