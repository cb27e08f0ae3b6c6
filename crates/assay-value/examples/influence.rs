//! Users of a simulated shop valued by the default plan, judged against its bot labels.
//!
//! `influence SHOP [method=influence|banzhaf] [top=50]`: SHOP is a folder written by
//! `assay simulate --bad-data`; prints the AUC of low values against `truth/bots.csv` and the
//! wall time of the valuation.

use std::time::Instant;

use assay_value::assess::auc_of_low_values;
use assay_value::plan::{self, PlanSource, PlanUtility, PlayerKind, Scorers, ValuationPlan};
use assay_value::recommend::Audience;
use assay_value::{Convergence, Method};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let shop = std::path::PathBuf::from(args.next().ok_or("usage: influence SHOP [key=value]")?);
    let mut method = None;
    let mut top = assay_value::influence::DEFAULT_TOP;
    for arg in args {
        match arg.split_once('=') {
            Some(("method", m)) => method = Some(Method::parse(m).ok_or("unknown method")?),
            Some(("top", t)) => top = t.parse()?,
            _ => return Err(format!("unknown argument {arg}").into()),
        }
    }
    let data = assay_import::load(
        &shop,
        &assay_import::LoadOptions::new(assay_import::UnknownRefs::Fail),
    )?
    .dataset;
    let mut bots = vec![false; data.users.len()];
    for record in csv::Reader::from_path(shop.join("truth/bots.csv"))?.records() {
        if let Some(u) = data.users.ids.get(&record?[0]) {
            bots[u as usize] = true;
        }
    }
    let request = ValuationPlan {
        players: PlayerKind::Users,
        windows: 1,
        segment_attribute: String::new(),
        method: Method::MsrBanzhaf,
        model: plan::default_model(),
        utility: PlanUtility::Ranking {
            metric: assay_metrics::Metric::Ndcg,
            k: 10,
            scorers: Scorers::Buyers,
        },
        audience: Audience::Others,
        seed: 42,
        convergence: Convergence::fixed(1000),
        impressions: assay_core::clean::Impressions::Skip,
    };
    let (mut chosen, why) = plan::default_plan(&data, &request);
    match method {
        Some(Method::Influence { .. }) | None => {
            if let Method::Influence { .. } = chosen.method {
                chosen.method = Method::Influence { top };
            }
        }
        Some(m) => chosen.method = m,
    }
    println!("plan: {why}");
    let start = Instant::now();
    let values = plan::run(PlanSource::Dataset(&data), &chosen, &|_| {})?;
    let seconds = start.elapsed().as_secs_f64();
    let names: Vec<&str> = values
        .players
        .iter()
        .map(|p| p.name.strip_prefix("user=").unwrap_or(&p.name))
        .collect();
    let bad: Vec<bool> = names
        .iter()
        .map(|n| data.users.ids.get(n).is_some_and(|u| bots[u as usize]))
        .collect();
    let z_low = values
        .players
        .iter()
        .filter(|p| p.value / p.std_error < -3.0)
        .count();
    println!(
        "{}: {} users ({} bots), AUC {:.3}, {} users below -3 standard errors, {:.1} s",
        values.method,
        values.players.len(),
        bad.iter().filter(|&&b| b).count(),
        auc_of_low_values(&values.values(), &bad),
        z_low,
        seconds
    );
    Ok(())
}
