//! Sentence-encoding throughput of assay's backends, for `bench/encoder/run.sh`.
//!
//! ```text
//! cargo run --release -p assay-encoder --example throughput -- \
//!   [--sentences FILE] [--threads 1,2] [--batch 64] [--backends candle,ort,ort-fp32]
//!   [--out FILE] [--onnx-model FILE]   (the ort backend's model; default: the fetched int8
//!   MiniLM; ort-fp32 runs the fp32 graph that assay writes from the MiniLM safetensors,
//!   ort-fused the same graph made of ONNX Runtime's fused operators, ort-int8 with 8-bit
//!   dense layers; e5 the multilingual encoder of the `e5` pack, when fetched)
//! ```
//!
//! The sentences are read from `--sentences` (one per line); when that file does not exist it is
//! first written with the titles of a simulated 1,024-product shop (assay-sim, seed 7), so the
//! sentence-transformers script (`bench/encoder/st_throughput.py`) reads the very same strings.
//! For each backend and thread count: load, one warm-up batch, then one timed `encode` of all
//! sentences (tokenization included). Prints a line per run and, with `--out`, JSON.

use std::path::{Path, PathBuf};
use std::time::Instant;

use assay_encoder::{BertEncoder, Encoder, EncoderOptions, Operators, OrtEncoder};
use assay_fetch::{Home, Pack};

type Error = Box<dyn std::error::Error>;

/// The allocator and settings of the `assay` binary.
#[global_allocator]
static ALLOC: assay_train::HugePageAlloc = assay_train::HugePageAlloc;

struct Args {
    sentences: PathBuf,
    threads: Vec<usize>,
    batch: usize,
    backends: Vec<String>,
    out: Option<PathBuf>,
    onnx_model: Option<PathBuf>,
    print_model_dir: bool,
}

fn parse_args() -> Result<Args, Error> {
    let mut args = Args {
        sentences: std::env::temp_dir().join("assay-encoder-sentences.txt"),
        threads: vec![1, 2],
        batch: 64,
        backends: vec!["candle".into(), "ort".into()],
        out: None,
        onnx_model: None,
        print_model_dir: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--sentences" => args.sentences = val()?.into(),
            "--threads" => {
                args.threads = val()?
                    .split(',')
                    .map(|t| t.trim().parse::<usize>())
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("--threads: expected numbers like 1,2: {e}"))?
            }
            "--batch" => {
                args.batch = val()?
                    .parse()
                    .map_err(|e| format!("--batch: expected a number: {e}"))?
            }
            "--backends" => args.backends = val()?.split(',').map(str::to_owned).collect(),
            "--out" => args.out = Some(val()?.into()),
            "--onnx-model" => args.onnx_model = Some(val()?.into()),
            "--print-model-dir" => args.print_model_dir = true,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(args)
}

/// Titles of a simulated shop with 1,024 products (10% Chinese), one per line.
fn simulated_titles(path: &Path) -> Result<(), Error> {
    let shop = tempfile::tempdir()?;
    let config = assay_sim::SimConfig {
        n_items: 1024,
        n_users: 50,
        n_events_target: 1_000,
        ..assay_sim::SimConfig::small(7)
    };
    assay_sim::simulate(&config, shop.path())?;
    let mut reader = csv::Reader::from_path(shop.path().join("items.csv"))?;
    let column = reader
        .headers()?
        .iter()
        .position(|h| h == "title")
        .ok_or("items.csv has no title column")?;
    let mut text = String::new();
    for row in reader.records() {
        text.push_str(row?.get(column).unwrap_or_default());
        text.push('\n');
    }
    std::fs::write(path, text)?;
    Ok(())
}

fn main() -> Result<(), Error> {
    assay_train::HugePageAlloc::keep_freed_memory();
    assay_encoder::use_cores_for_batches();
    let args = parse_args()?;
    let home = Home::from_env();
    for pack in Pack::ORT {
        let mut note = |line: &str| eprintln!("{}: {line}", pack.name());
        assay_fetch::fetch(&home, pack, &mut note)?;
    }
    let minilm = home
        .locate(Pack::Minilm)
        .ok_or("all-MiniLM-L6-v2 is not fetched: run `assay data fetch minilm`")?;
    if args.print_model_dir {
        println!("{}", minilm.display());
        return Ok(());
    }
    if !args.sentences.is_file() {
        simulated_titles(&args.sentences)?;
        eprintln!("wrote {}", args.sentences.display());
    }
    let text = std::fs::read_to_string(&args.sentences)?;
    let sentences: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut results = Vec::new();
    for backend in &args.backends {
        for &threads in &args.threads {
            let options = EncoderOptions {
                batch_size: args.batch,
                threads,
                max_seq_length: None,
            };
            let encoder: Box<dyn Encoder> = match backend.as_str() {
                "candle" => Box::new(BertEncoder::load(&minilm, &options)?),
                "ort" => {
                    let library = assay_fetch::onnxruntime_library(&home)
                        .ok_or("ONNX Runtime is not fetched: run `assay data fetch ort`")?;
                    let model = match &args.onnx_model {
                        Some(model) => model.clone(),
                        None => assay_fetch::minilm_int8_model(&home)
                            .ok_or("the int8 model is not fetched: run `assay data fetch ort`")?,
                    };
                    Box::new(OrtEncoder::load(&library, &model, &minilm, &options)?)
                }
                // The fp32 graph written from the same safetensors (in memory), as
                // `--encoder ort --encoder-model DIR` runs a model folder.
                "ort-fp32" | "ort-fused" | "ort-int8" => {
                    let library = assay_fetch::onnxruntime_library(&home)
                        .ok_or("ONNX Runtime is not fetched: run `assay data fetch ort`")?;
                    let operators = match backend.as_str() {
                        "ort-fused" => Operators::Fused,
                        "ort-int8" => Operators::Int8,
                        _ => Operators::Standard,
                    };
                    Box::new(OrtEncoder::load_folder_with(
                        &library, &minilm, operators, &options,
                    )?)
                }
                "e5" => {
                    let dir = home
                        .locate(Pack::E5)
                        .ok_or("the e5 pack is not fetched: run `assay data fetch e5`")?;
                    Box::new(assay_encoder::E5Encoder::load(&dir, &options)?)
                }
                other => {
                    return Err(format!(
                        "unknown backend {other}: candle, ort, ort-fp32, ort-fused, ort-int8 or e5"
                    )
                    .into())
                }
            };
            encoder.encode(&sentences[..args.batch.min(sentences.len())])?; // warm-up
            let started = Instant::now();
            let vectors = encoder.encode(&sentences)?;
            let seconds = started.elapsed().as_secs_f64();
            assert_eq!(vectors.len(), sentences.len());
            let rate = sentences.len() as f64 / seconds;
            println!(
                "assay {backend} ({}), {threads} thread(s), batch {}: {rate:.0} sentences/s on {} sentences",
                encoder.model_id().split('@').next().unwrap_or_default(),
                args.batch,
                sentences.len()
            );
            results.push(serde_json::json!({
                "backend": backend,
                "model": encoder.model_id(),
                "threads": threads,
                "batch": args.batch,
                "sentences": sentences.len(),
                "seconds": seconds,
                "sentences_per_s": rate,
            }));
        }
    }
    if let Some(out) = &args.out {
        std::fs::write(out, serde_json::to_string_pretty(&results)?)?;
    }
    Ok(())
}
