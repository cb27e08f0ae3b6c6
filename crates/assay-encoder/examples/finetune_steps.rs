//! Fine-tuning throughput of the candle bi-encoder trainer, in pairs per second: the same
//! (query, positive, hard negative) triples, batch and thread count that
//! `bench/encoder/st_fit.py` gives sentence-transformers' `fit` with
//! MultipleNegativesRankingLoss.
//!
//!     finetune_steps --triples FILE [--batch 32] [--steps 10] [--threads 2] [--out FILE]
//!
//! FILE is a TSV of `query<TAB>positive<TAB>negative` lines. The first step is a warm-up and is
//! not timed. Prints the time of each phase (forward of the loss, the whole step).

use std::path::PathBuf;
use std::time::Instant;

use assay_encoder::{BiEncoderTrainer, FinetuneOptions, Freeze};
use assay_fetch::{Home, Pack};
use assay_train::{AdamWConfig, Decay, TrainConfig};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The allocator and settings of the `assay` binary, so the step runs as `assay finetune` does.
#[global_allocator]
static ALLOC: assay_train::HugePageAlloc = assay_train::HugePageAlloc;

struct Args {
    triples: PathBuf,
    batch: usize,
    steps: usize,
    threads: usize,
    freeze: Freeze,
    max_tokens: Option<usize>,
    out: Option<PathBuf>,
}

fn parse_args() -> Result<Args, Error> {
    let mut args = Args {
        triples: PathBuf::new(),
        batch: 32,
        steps: 10,
        threads: 2,
        freeze: Freeze::None,
        max_tokens: None,
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--triples" => args.triples = val()?.into(),
            "--batch" => args.batch = val()?.parse()?,
            "--steps" => args.steps = val()?.parse()?,
            "--threads" => args.threads = val()?.parse()?,
            "--freeze" => {
                let v = val()?;
                args.freeze = Freeze::parse(&v).ok_or(format!("--freeze: unknown {v}"))?
            }
            "--max-tokens" => args.max_tokens = Some(val()?.parse()?),
            "--out" => args.out = Some(val()?.into()),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    if args.triples.as_os_str().is_empty() {
        return Err("--triples FILE is required".into());
    }
    Ok(args)
}

fn main() -> Result<(), Error> {
    assay_train::HugePageAlloc::keep_freed_memory();
    assay_encoder::use_cores_for_batches();
    let args = parse_args()?;
    let text = std::fs::read_to_string(&args.triples)?;
    let triples: Vec<[&str; 3]> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some([f.next()?, f.next()?, f.next()?])
        })
        .collect();
    let needed = args.batch * (args.steps + 1);
    if triples.len() < needed {
        return Err(format!("{} triples, {needed} needed", triples.len()).into());
    }
    let home = Home::from_env();
    let minilm = home
        .locate(Pack::Minilm)
        .ok_or("all-MiniLM-L6-v2 is not fetched: run `assay data fetch minilm`")?;
    let options = FinetuneOptions {
        freeze: args.freeze,
        scale: 20.0,
        max_seq_length: args.max_tokens,
        dropout: true,
        encode_batch_size: 64,
        train: TrainConfig {
            epochs: 1,
            batch_size: args.batch,
            lr: 2e-5,
            warmup_fraction: 0.1,
            decay: Decay::Linear,
            adamw: AdamWConfig::default(),
            max_grad_norm: Some(1.0),
            patience: 1,
            min_delta: 0.0,
            max_seconds: None,
            seed: 1,
        },
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()?;
    let (forward, step) = pool.install(|| -> Result<(f64, f64), Error> {
        let mut trainer = BiEncoderTrainer::load(&minilm, &options, args.steps + 1, None)?;
        let mut forward = 0.0;
        let mut step = 0.0;
        for (i, batch) in triples.chunks(args.batch).take(args.steps + 1).enumerate() {
            let q: Vec<&str> = batch.iter().map(|t| t[0]).collect();
            let p: Vec<&str> = batch.iter().map(|t| t[1]).collect();
            let n: Vec<&str> = batch.iter().map(|t| t[2]).collect();
            let w = vec![1.0f32; batch.len()];
            let t = Instant::now();
            trainer.loss(&q, &p, &n, &w)?;
            let f = t.elapsed().as_secs_f64();
            let t = Instant::now();
            trainer.step(&q, &p, &n, &w)?;
            let s = t.elapsed().as_secs_f64();
            if i > 0 {
                forward += f;
                step += s;
            }
            eprintln!("step {i}: forward {f:.2} s, step {s:.2} s");
        }
        Ok((forward, step))
    })?;
    let pairs = (args.batch * args.steps) as f64;
    let rate = pairs / step;
    println!(
        "assay candle fine-tuning, {} thread(s), batch {}, freeze {}: {rate:.1} pairs/s \
         ({:.2} s per step, forward alone {:.2} s)",
        args.threads,
        args.batch,
        args.freeze,
        step / args.steps as f64,
        forward / args.steps as f64
    );
    if let Some(out) = &args.out {
        let json = serde_json::json!({
            "tool": "assay",
            "threads": args.threads,
            "batch": args.batch,
            "steps": args.steps,
            "freeze": args.freeze.to_string(),
            "seconds": step,
            "pairs_per_s": rate,
        });
        std::fs::write(out, serde_json::to_string_pretty(&json)?)?;
    }
    Ok(())
}
