//! `assay value`: what each piece of data is worth to recommendation quality.

use assay_metrics::Metric;
use assay_recommend::ModelSpec;
use assay_value::plan::{
    self, PlanError, PlanProgress, PlanSource, PlanUtility, PlayerKind, Scorers, ValuationPlan,
};
use assay_value::recommend::Audience;
use assay_value::{Convergence, Method, Values};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{DatasetArgs, MethodArg, PlayersArg, ScorersArg, ValueArgs, ValueUtility};
use crate::data;
use crate::output::{print_json, Table};
use crate::BadInput;

/// `typed`: the ids of the flags given on the command line (see [`crate::cli::typed`]).
pub fn run(args: ValueArgs, typed: &[String]) -> anyhow::Result<()> {
    refuse_unread_flags(&args, typed)?;
    let mut plan = plan_of(&args)?;
    let known_bad = args
        .known_bad
        .as_deref()
        .map(crate::report::read_known_bad)
        .transpose()?;
    let mut chosen = None;
    let mut detection = None;
    let bar = ProgressBar::new(args.max_samples);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = |p: PlanProgress<'_>| {
        bar.set_length(p.total);
        bar.set_position(p.done);
        bar.set_message(p.stage.to_owned());
    };
    let values = if matches!(plan.method, Method::KnnShapley { .. }) {
        let (Some(train), Some(test), Some(label)) = (&args.train, &args.test, &args.label) else {
            return Err(BadInput(
                "--method knn-shapley needs --train FILE, --test FILE and --label COLUMN".into(),
            )
            .into());
        };
        plan::run(PlanSource::Table { train, test, label }, &plan, &progress)
    } else {
        let Some(dataset) = &args.dataset else {
            return Err(BadInput(
                "a DATASET is needed (or --method knn-shapley with --train/--test)".into(),
            )
            .into());
        };
        let loaded = data::load_to_learn(
            &DatasetArgs {
                dataset: dataset.clone(),
                unknown_refs: args.unknown_refs,
            },
            &args.learn,
        )?;
        if args.method == MethodArg::Auto {
            let (auto, mut why) = plan::default_plan(&loaded.dataset, &plan);
            let influence = matches!(auto.method, Method::Influence { .. });
            plan = with_typed_choices(auto, &plan, &args, typed);
            if influence && plan.method == Method::MsrBanzhaf {
                why = format!(
                    "MSR Banzhaf in halves of the users ({} samples per half): the typed model, \
                     utility or sample budget rules out the influence of users on ItemKNN",
                    plan.convergence.max_samples
                );
            }
            if !args.json {
                println!("plan: {why}");
            }
            chosen = Some(why);
        }
        let values = plan::run(PlanSource::Dataset(&loaded.dataset), &plan, &progress);
        if let (Ok(values), Some(known)) = (&values, &known_bad) {
            detection = Some(detect_known(values, known));
        }
        values
    };
    bar.finish_and_clear();
    let values = values.map_err(|e| match e {
        PlanError::Request { field, message } => BadInput(format!("--{field} {message}")).into(),
        PlanError::Utility(e) => anyhow::Error::new(e).context("building the utility"),
        // Bad requests and bad data exit 2, a failure of the model itself 1 (see main).
        PlanError::Value(e) => anyhow::Error::new(e),
    })?;
    if args.json {
        // The values table as before, with the chosen plan and the detection when there is
        // one.
        let mut json = serde_json::to_value(&values)?;
        if let Some(object) = json.as_object_mut() {
            if let Some(why) = chosen {
                object.insert("plan".into(), why.into());
            }
            if let Some(detection) = &detection {
                object.insert("detection".into(), serde_json::to_value(detection)?);
            }
        }
        return print_json(&json);
    }
    print_values(&values, args.top)?;
    if let Some(detection) = &detection {
        for line in crate::report::detection_lines(detection) {
            println!("{line}");
        }
    }
    Ok(())
}

/// The automatic plan, with what the command line typed put back: a typed --model,
/// --scorers, --min-samples/--max-samples/--rtol or --bags replaces the chosen one.
fn with_typed_choices(
    mut auto: ValuationPlan,
    typed_plan: &ValuationPlan,
    args: &ValueArgs,
    typed: &[String],
) -> ValuationPlan {
    let was_typed = |id: &str| typed.iter().any(|t| t == id);
    if was_typed("model") {
        auto.model = typed_plan.model.clone();
    }
    if was_typed("utility") || was_typed("scorers") {
        auto.utility = match (typed_plan.utility, auto.utility) {
            // A typed ranking utility keeps the chosen scorers unless --scorers was typed.
            (
                PlanUtility::Ranking { metric, k, scorers },
                PlanUtility::Ranking {
                    scorers: chosen, ..
                },
            ) => PlanUtility::Ranking {
                metric,
                k,
                scorers: if was_typed("scorers") {
                    scorers
                } else {
                    chosen
                },
            },
            (typed, _) => typed,
        };
    }
    if ["min_samples", "max_samples", "rtol"]
        .iter()
        .any(|id| was_typed(id))
    {
        auto.convergence = typed_plan.convergence;
    }
    if let Method::DataOob { .. } = auto.method {
        if was_typed("bags") {
            auto.method = Method::DataOob { bags: args.bags };
        }
    }
    if let Method::Influence { .. } = auto.method {
        // Influence differentiates ItemKNN along an NDCG direction: another model, another
        // utility or a sample budget asks for MSR Banzhaf (the plan's samples by default).
        let other_model = auto
            .model
            .params::<assay_recommend::ItemKnnParams>()
            .is_none();
        let other_utility = !matches!(
            auto.utility,
            PlanUtility::Ranking {
                metric: Metric::Ndcg,
                ..
            }
        );
        let samples = ["min_samples", "max_samples", "rtol"]
            .iter()
            .any(|id| was_typed(id));
        if other_model || other_utility || samples {
            auto.method = Method::MsrBanzhaf;
        }
    }
    auto
}

/// Values of users judged against a known-bad list: the same numbers as the report's.
fn detect_known(values: &Values, known: &[String]) -> assay_report::Detection {
    let table = assay_report::ValueTable {
        kind: "user".into(),
        title: String::new(),
        method: values.method.clone(),
        uncertainty: String::new(),
        rows: values
            .players
            .iter()
            .map(|p| assay_report::ValueRow {
                name: p.name.clone(),
                value: p.value,
                std_error: p.std_error,
                rows: 0,
            })
            .collect(),
    };
    assay_report::detection::detect_table(&table, known)
}

/// The plan the flags ask for; flag combinations that cannot work are refused here.
fn plan_of(args: &ValueArgs) -> anyhow::Result<ValuationPlan> {
    if args.windows == 0 {
        return Err(BadInput("--windows: expected at least 1".into()).into());
    }
    let method = match args.method {
        // Replaced by the automatic choice once the data is loaded.
        MethodArg::Auto => Method::MsrBanzhaf,
        MethodArg::Loo => Method::LeaveOneOut,
        MethodArg::Shapley => Method::ExactShapley,
        MethodArg::BanzhafExact => Method::ExactBanzhaf,
        MethodArg::Tmc => Method::TmcShapley { truncation: 0.01 },
        MethodArg::Banzhaf => Method::MsrBanzhaf,
        MethodArg::Beta | MethodArg::BetaExact => Method::BetaShapley {
            alpha: 16.0,
            beta: 1.0,
            exact: args.method == MethodArg::BetaExact,
        },
        MethodArg::Oob => {
            if args.bags == 0 {
                return Err(BadInput("--bags: expected at least 1".into()).into());
            }
            Method::DataOob { bags: args.bags }
        }
        MethodArg::Influence => Method::Influence {
            top: assay_value::influence::DEFAULT_TOP,
        },
        MethodArg::KnnShapley => {
            if args.k == 0 {
                return Err(BadInput("--k: expected at least 1".into()).into());
            }
            Method::KnnShapley { k: args.k }
        }
    };
    let utility = match args.utility {
        ValueUtility::Ranking(metric, k) => PlanUtility::Ranking {
            metric,
            k,
            scorers: match args.scorers {
                ScorersArg::All => Scorers::All,
                ScorersArg::Buyers => Scorers::Buyers,
            },
        },
        ValueUtility::Business(metric, k) => PlanUtility::Business {
            metric,
            k,
            epsilon: args.epsilon,
        },
    };
    let model = ModelSpec::parse(&args.model).map_err(|e| BadInput(format!("--model: {e}")))?;
    Ok(ValuationPlan {
        players: match args.players {
            PlayersArg::Sources => PlayerKind::Sources,
            PlayersArg::Categories => PlayerKind::Categories,
            PlayersArg::Windows => PlayerKind::Windows,
            PlayersArg::Segments => PlayerKind::Segments,
            PlayersArg::Users => PlayerKind::Users,
            PlayersArg::Items => PlayerKind::Items,
            PlayersArg::Interactions => PlayerKind::Interactions,
            PlayersArg::Modalities => PlayerKind::Modalities,
        },
        windows: args.windows,
        segment_attribute: args.segment_attribute.clone(),
        method,
        model,
        utility,
        audience: if args.total {
            Audience::Total
        } else {
            Audience::Others
        },
        seed: args.seed,
        impressions: args.learn.impressions(),
        convergence: Convergence {
            batch: 16,
            min_samples: args.min_samples,
            max_samples: args.max_samples,
            rtol: args.rtol,
            atol: 0.0,
        },
    })
}

/// Refuses a flag typed on the command line that the request does not read (an option of
/// another method, utility or kind of player), naming what it applies to, so that no flag is
/// accepted and then ignored.
fn refuse_unread_flags(args: &ValueArgs, typed: &[String]) -> anyhow::Result<()> {
    let method = format!("--method {}", value_name(args.method));
    let knn = args.method == MethodArg::KnnShapley;
    let oob = args.method == MethodArg::Oob;
    let auto = args.method == MethodArg::Auto;
    let sampling = matches!(
        args.method,
        MethodArg::Auto | MethodArg::Tmc | MethodArg::Banzhaf | MethodArg::Beta
    );
    let business = matches!(args.utility, ValueUtility::Business(..));
    let utility = match args.utility {
        ValueUtility::Ranking(metric, k) => format!("--utility {}@{k}", metric.name()),
        ValueUtility::Business(metric, k) => format!("--utility {}-ope@{k}", metric.name()),
    };
    let players = format!("--players {}", value_name(args.players));
    // Where a flag is not read: `None` when it is.
    let unless = |reads: bool, context: &str| (!reads).then(|| context.to_owned());
    // Semivalue methods on a dataset read the utility; then it depends on the utility.
    let for_utility = |reads: bool| {
        if knn || oob {
            Some(method.clone())
        } else {
            unless(reads, &utility)
        }
    };
    let for_players = |kind: PlayersArg| {
        if knn {
            Some(method.clone())
        } else {
            unless(args.players == kind, &players)
        }
    };
    const SAMPLING: &str = "applies to the sampling methods (auto, tmc, banzhaf, beta)";
    const KNN: &str = "applies to --method knn-shapley";
    const DATASET: &str = "applies to valuing a DATASET; knn-shapley values the rows of --train";
    let rules: [(&str, Option<String>, &str); 20] = [
        ("dataset", unless(!knn, &method), DATASET),
        ("unknown_refs", unless(!knn, &method), DATASET),
        ("players", unless(!knn, &method), DATASET),
        ("model", unless(!knn, &method), DATASET),
        ("seed", unless(!knn, &method), DATASET),
        (
            "utility",
            for_utility(true),
            "is what the semivalue methods measure; oob ranks each player's own held-out items",
        ),
        (
            "epsilon",
            for_utility(business),
            "is the exploration share of the ctr-ope and gmv-ope utilities",
        ),
        (
            "total",
            for_utility(!business),
            "applies to ranking utilities (METRIC@K)",
        ),
        (
            "scorers",
            for_utility(!business),
            "applies to ranking utilities (METRIC@K)",
        ),
        (
            "bags",
            unless(oob || auto, &method),
            "applies to --method oob",
        ),
        (
            "known_bad",
            if knn {
                Some(method.clone())
            } else {
                unless(args.players == PlayersArg::Users, &players)
            },
            "applies to --players users",
        ),
        (
            "windows",
            for_players(PlayersArg::Windows),
            "applies to --players windows",
        ),
        (
            "segment_attribute",
            for_players(PlayersArg::Segments),
            "applies to --players segments",
        ),
        ("min_samples", unless(sampling, &method), SAMPLING),
        ("max_samples", unless(sampling, &method), SAMPLING),
        ("rtol", unless(sampling, &method), SAMPLING),
        ("train", unless(knn, &method), KNN),
        ("test", unless(knn, &method), KNN),
        ("label", unless(knn, &method), KNN),
        ("k", unless(knn, &method), KNN),
    ];
    for (id, not_read_with, what) in rules {
        let Some(context) = not_read_with else {
            continue;
        };
        if typed.iter().any(|t| t == id) {
            let flag = match id {
                "dataset" => "DATASET".to_owned(),
                _ => format!("--{}", id.replace('_', "-")),
            };
            return Err(BadInput(format!("{flag} does not apply to {context}: it {what}")).into());
        }
    }
    Ok(())
}

/// The name a value-enum flag value is written with (`knn-shapley`).
fn value_name(value: impl ValueEnum) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
}

fn print_values(values: &Values, top: usize) -> anyhow::Result<()> {
    println!(
        "{} values under {} ({} utility evaluations)",
        values.method, values.utility, values.utility_evals
    );
    let mut order: Vec<usize> = (0..values.players.len()).collect();
    order.sort_by(|&a, &b| values.players[b].value.total_cmp(&values.players[a].value));
    let mut table = Table::new(&["rank", "player", "value", "std error", "converged"]);
    let shown: Vec<usize> = if order.len() <= 2 * top {
        order.clone()
    } else {
        order[..top]
            .iter()
            .chain(&order[order.len() - top..])
            .copied()
            .collect()
    };
    for &i in &shown {
        let rank = order.iter().position(|&j| j == i).unwrap_or(i) + 1;
        let p = &values.players[i];
        table.row(vec![
            rank.to_string(),
            p.name.clone(),
            format!("{:.6}", p.value),
            format!("{:.6}", p.std_error),
            p.converged.to_string(),
        ]);
    }
    table.print()?;
    if shown.len() < order.len() {
        println!(
            "(top and bottom {top} of {} players; all in --json)",
            order.len()
        );
    }
    let harmful = values.players.iter().filter(|p| p.value < 0.0).count();
    if harmful > 0 {
        println!(
            "{harmful} player(s) have a negative value: the model is better without their data"
        );
    }
    Ok(())
}
