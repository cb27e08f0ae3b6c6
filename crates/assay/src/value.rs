//! `assay value`: what each piece of data is worth to recommendation quality.

use assay_recommend::ModelSpec;
use assay_value::plan::{
    self, PlanError, PlanProgress, PlanSource, PlanUtility, PlayerKind, Scorers, ValuationPlan,
};
use assay_value::recommend::Audience;
use assay_value::{Convergence, Method, Values};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{DatasetArgs, MethodArg, PlayersArg, ScorersArg, ValueArgs, ValueUtility};
use crate::data;
use crate::output::{print_json, Table};
use crate::BadInput;

pub fn run(args: ValueArgs) -> anyhow::Result<()> {
    let plan = plan_of(&args)?;
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
        let loaded = data::load(&DatasetArgs {
            dataset: dataset.clone(),
            unknown_refs: args.unknown_refs,
        })?;
        plan::run(PlanSource::Dataset(&loaded.dataset), &plan, &progress)
    };
    bar.finish_and_clear();
    let values = values.map_err(|e| match e {
        PlanError::Request { field, message } => BadInput(format!("--{field} {message}")).into(),
        PlanError::Utility(e) => anyhow::Error::new(e).context("building the utility"),
        // Bad requests and bad data exit 2, a failure of the model itself 1 (see main).
        PlanError::Value(e) => anyhow::Error::new(e),
    })?;
    if args.json {
        return print_json(&values);
    }
    print_values(&values, args.top)
}

/// The plan the flags ask for; flag combinations that cannot work are refused here.
fn plan_of(args: &ValueArgs) -> anyhow::Result<ValuationPlan> {
    let method = match args.method {
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
        ValueUtility::Business(_, _) if args.scorers == ScorersArg::Buyers => {
            return Err(BadInput(
                "--scorers buyers applies to ranking utilities (METRIC@K), not to ctr-ope/gmv-ope"
                    .into(),
            )
            .into())
        }
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
        convergence: Convergence {
            batch: 16,
            min_samples: args.min_samples,
            max_samples: args.max_samples,
            rtol: args.rtol,
            atol: 0.0,
        },
    })
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
