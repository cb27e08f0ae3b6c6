//! `assay ctr`: click models side by side on one seeded split.

use anyhow::Context;
use assay_fetch::Pack;
use assay_recommend::ctr::{self, CtrKind, CtrLabel, CtrParams, TokenInit, ValidMetric};
use serde::Serialize;

use crate::cli::{CtrArgs, TokenInitArg};
use crate::data;
use crate::output::{count, print_json, Table};
use crate::BadInput;

/// What `assay ctr` reports.
#[derive(Serialize)]
pub struct CtrOutput {
    pub dataset: String,
    /// "clicks" or "rating >= 4".
    pub label: String,
    pub rows: usize,
    pub fields: Vec<String>,
    pub features: usize,
    pub positive_rate: f64,
    pub split: [usize; 3],
    /// Positive rows in the training, validation and test parts.
    pub positives: [usize; 3],
    pub seed: u64,
    pub models: Vec<CtrRow>,
}

/// The text model's starting token embeddings from MiniLM's input embeddings (see
/// [`assay_encoder::word_vectors`]); the padding and unknown tokens (ids 0 and 1) and words
/// without a known WordPiece start random.
fn minilm_tokens(vocabulary: &[String]) -> anyhow::Result<TokenInit> {
    let dir = data::pack_dir(Pack::Minilm)?;
    let words: Vec<&str> = vocabulary.iter().map(String::as_str).collect();
    let (dim, mut rows) =
        assay_encoder::word_vectors(&dir, &words).context("reading MiniLM's input embeddings")?;
    rows.iter_mut().take(2).for_each(|row| *row = None);
    Ok(TokenInit { dim, rows })
}

/// Fewer positive rows than this in the validation or test part: the AUC printed is noise,
/// and the output says so.
const FEW_POSITIVES: usize = 100;

/// One model's result.
#[derive(Serialize)]
pub struct CtrRow {
    pub model: String,
    pub test_auc: f64,
    pub test_logloss: f64,
    pub valid_auc: f64,
    pub train_seconds: f64,
    pub epochs: usize,
    pub best_epoch: Option<usize>,
    pub stop: Option<assay_recommend::StopReason>,
    pub params: CtrParams,
}

pub fn run(args: CtrArgs) -> anyhow::Result<()> {
    let kinds = parse_models(&args.models)?;
    let metric = match args.valid_metric.as_str() {
        "auc" => ValidMetric::Auc,
        "logloss" => ValidMetric::LogLoss,
        other => {
            return Err(BadInput(format!(
                "--valid-metric: expected auc or logloss, got `{other}`"
            ))
            .into())
        }
    };
    if let Some(s) = args.max_seconds {
        if !(s.is_finite() && s > 0.0) {
            return Err(BadInput(format!("--max-seconds: must be > 0, got {s}")).into());
        }
    }
    if args.epochs == Some(0) {
        return Err(BadInput("--epochs: must be at least 1".into()).into());
    }
    let hidden = match &args.hidden {
        Some(text) => Some(parse_hidden(text)?),
        None => None,
    };
    if let Some(lr) = args.lr {
        if !(lr.is_finite() && lr > 0.0) {
            return Err(BadInput(format!("--lr: must be > 0, got {lr}")).into());
        }
    }
    if let Some(dir) = &args.curves {
        crate::curves::prepare(dir)?;
    }
    let loaded = data::load(&args.data)?;
    let dataset = &loaded.dataset;
    let label = CtrLabel::infer(dataset)?;
    let table = ctr::table_from_dataset(dataset, label)?;
    let [train, valid, test] = ctr::random_split(table.len(), [0.8, 0.1, 0.1], args.seed);
    if train.is_empty() || valid.is_empty() || test.is_empty() {
        return Err(BadInput(format!(
            "{}: {} rows are too few for an 80/10/10 split",
            dataset.name,
            table.len()
        ))
        .into());
    }
    // AUC is undefined on a part with one class, and a model fitted on one class learns
    // nothing: refuse before training rather than print a NaN.
    let mut positives = [0; 3];
    for (k, (part, rows)) in [
        ("training", &train),
        ("validation", &valid),
        ("test", &test),
    ]
    .into_iter()
    .enumerate()
    {
        let positive = rows.iter().filter(|&&r| table.labels()[r]).count();
        positives[k] = positive;
        if positive == 0 || positive == rows.len() {
            let (yes, no) = match label {
                CtrLabel::Clicks => ("clicked".to_owned(), "unclicked".to_owned()),
                CtrLabel::RatingAtLeast(t) => {
                    (format!("ratings >= {t}"), format!("ratings below {t}"))
                }
            };
            return Err(BadInput(format!(
                "{}: the {part} rows ({} of {} rows, seed {}) are all {}; a click model needs \
                 both {yes} and {no} rows in training, validation and test",
                dataset.name,
                rows.len(),
                table.len(),
                args.seed,
                if positive == 0 { &no } else { &yes },
            ))
            .into());
        }
    }
    let test_labels: Vec<bool> = test.iter().map(|&r| table.labels()[r]).collect();
    let token_init = match args.token_init {
        TokenInitArg::Minilm if kinds.contains(&CtrKind::CtrGru) => {
            if args.embedding.is_some() {
                return Err(BadInput(
                    "--embedding and --token-init minilm: MiniLM's embeddings are 384 wide; \
                     leave --embedding out"
                        .into(),
                )
                .into());
            }
            Some(std::sync::Arc::new(minilm_tokens(table.vocabulary())?))
        }
        _ => None,
    };
    let mut rows = Vec::new();
    let mut fits = Vec::new();
    for kind in kinds {
        let defaults = CtrParams::defaults(kind);
        let neural = kind != CtrKind::Lr;
        let params = CtrParams {
            seed: args.seed,
            max_seconds: args.max_seconds,
            epochs: args.epochs.unwrap_or(defaults.epochs),
            patience: args.patience.unwrap_or(defaults.patience),
            metric,
            embedding: args
                .embedding
                .filter(|_| neural)
                .unwrap_or(defaults.embedding),
            hidden: hidden
                .clone()
                .filter(|_| neural)
                .unwrap_or(defaults.hidden.clone()),
            dropout: args.dropout.filter(|_| neural).unwrap_or(defaults.dropout),
            lr: args.lr.unwrap_or(defaults.lr),
            weight_decay: args.weight_decay.unwrap_or(defaults.weight_decay),
            batch: args.batch.unwrap_or(defaults.batch),
            ..defaults
        };
        let params = match (&token_init, kind) {
            (Some(init), CtrKind::CtrGru) => CtrParams {
                embedding: init.dim,
                token_init: Some(init.clone()),
                ..params
            },
            _ => params,
        };
        params
            .check()
            .map_err(|e| BadInput(format!("{}: {e}", kind.name())))?;
        let curves = match &args.curves {
            Some(dir) => {
                let dir = dir.join(kind.name());
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                Some(dir)
            }
            None => None,
        };
        let model = ctr::fit(&params, &table, &train, &valid, curves.as_deref())
            .with_context(|| format!("training {}", kind.name()))?;
        let p = model.predict(&table, &test)?;
        let log = model.log();
        let best_epoch = log.and_then(|l| l.best_epoch);
        fits.push(crate::curves::Fit {
            name: format!("{}, seed {}", kind.name(), args.seed),
            folder: kind.name().to_owned(),
            best_epoch,
            stop: log.and_then(|l| l.stop),
            watched: Some(format!("valid_{}", args.valid_metric)),
        });
        let valid_auc = {
            let pv = model.predict(&table, &valid)?;
            let lv: Vec<bool> = valid.iter().map(|&r| table.labels()[r]).collect();
            assay_metrics::auc(&pv, &lv).unwrap_or(f64::NAN)
        };
        rows.push(CtrRow {
            model: kind.name().to_owned(),
            test_auc: assay_metrics::auc(&p, &test_labels).unwrap_or(f64::NAN),
            test_logloss: assay_metrics::log_loss(&p, &test_labels).unwrap_or(f64::NAN),
            valid_auc,
            train_seconds: model.train_seconds(),
            epochs: log.map_or(0, |l| l.epochs.len()),
            best_epoch,
            stop: log.and_then(|l| l.stop),
            params,
        });
    }
    let output = CtrOutput {
        dataset: dataset.name.clone(),
        label: match label {
            CtrLabel::Clicks => "clicks".into(),
            CtrLabel::RatingAtLeast(t) => format!("rating >= {t}"),
        },
        rows: table.len(),
        fields: table
            .schema()
            .fields
            .iter()
            .map(|f| f.name.clone())
            .collect(),
        features: table.schema().n_features,
        positive_rate: table.positive_rate(),
        split: [train.len(), valid.len(), test.len()],
        positives,
        seed: args.seed,
        models: rows,
    };
    if let Some(dir) = &args.curves {
        let facts = [
            (
                "data".to_owned(),
                format!("{} ({})", output.dataset, output.label),
            ),
            (
                "split".to_owned(),
                format!(
                    "random 80/10/10, seed {}: {} / {} / {} rows",
                    output.seed, output.split[0], output.split[1], output.split[2]
                ),
            ),
            (
                "early stopping watches".to_owned(),
                format!("valid_{}", args.valid_metric),
            ),
        ];
        let title = format!("Click models' training curves: {}", output.dataset);
        let page = crate::curves::write_page(dir, &title, &facts, &fits)?;
        eprintln!("training curves: {}", page.display());
    }
    if args.json {
        return print_json(&output);
    }
    println!(
        "{}: {} rows labelled by {} ({:.1}% positive), fields {}, {} features",
        output.dataset,
        count(output.rows),
        output.label,
        100.0 * output.positive_rate,
        output.fields.join(", "),
        count(output.features)
    );
    println!(
        "split: random 80/10/10 (seed {}): {} / {} / {} rows, {} / {} / {} positive",
        output.seed,
        count(output.split[0]),
        count(output.split[1]),
        count(output.split[2]),
        count(output.positives[0]),
        count(output.positives[1]),
        count(output.positives[2])
    );
    let fewest = output.positives[1].min(output.positives[2]);
    if fewest < FEW_POSITIVES {
        // An AUC's standard error is about sqrt(AUC (1 - AUC) / positives) at best (Hanley
        // and McNeil 1982): 0.25 with 4 positives, 0.05 with 100.
        println!(
            "note: the validation and test parts hold {} and {} positive rows: an AUC on so \
             few is mostly noise (its standard error is about {:.2}), and early stopping on it \
             picks an epoch by chance; use more data",
            output.positives[1],
            output.positives[2],
            (0.25 / fewest as f64).sqrt()
        );
    }
    let mut t = Table::new(&[
        "model",
        "test AUC",
        "test LogLoss",
        "valid AUC",
        "train s",
        "epochs",
        "best epoch",
        "stopped by",
    ]);
    for r in &output.models {
        t.row(vec![
            r.model.clone(),
            format!("{:.4}", r.test_auc),
            format!("{:.4}", r.test_logloss),
            format!("{:.4}", r.valid_auc),
            format!("{:.1}", r.train_seconds),
            r.epochs.to_string(),
            r.best_epoch.map_or("-".into(), |e| e.to_string()),
            match r.stop {
                Some(assay_recommend::StopReason::Patience) => "early stopping".into(),
                Some(assay_recommend::StopReason::TimeLimit) => "time limit".into(),
                Some(assay_recommend::StopReason::MaxEpochs) => "max epochs".into(),
                None => "-".into(),
            },
        ]);
    }
    t.print()?;
    Ok(())
}

fn parse_models(text: &str) -> anyhow::Result<Vec<CtrKind>> {
    let mut kinds = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(kind) = CtrKind::parse(name) else {
            return Err(BadInput(format!(
                "--models: unknown click model `{name}` (expected lr, deepfm or ctr-gru)"
            ))
            .into());
        };
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if kinds.is_empty() {
        return Err(BadInput("--models: name at least one of lr, deepfm, ctr-gru".into()).into());
    }
    Ok(kinds)
}

/// `--hidden`: layer sizes separated by commas, each at least 1.
fn parse_hidden(text: &str) -> anyhow::Result<Vec<usize>> {
    let mut sizes = Vec::new();
    for part in text.split(',').map(str::trim) {
        match part.parse::<usize>() {
            Ok(n) if n > 0 => sizes.push(n),
            _ => {
                return Err(BadInput(format!(
                    "--hidden: `{part}` is not a layer size (expected sizes >= 1 separated by \
                     commas, e.g. 64,64)"
                ))
                .into())
            }
        }
    }
    Ok(sizes)
}
