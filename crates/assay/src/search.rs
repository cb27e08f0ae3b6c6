//! `assay search`: one query against a catalog's index, explained on request.

use std::time::Instant;

use assay_search::{
    check_query, Filters, Fusion, LearnedFusion, Mode, SearchOptions, SearchResults,
};
use serde::Serialize;

use crate::catalog::{encoder_spec, load_catalog, open_encoder, open_or_build};
use crate::cli::{FusionArg, RankingArgs, SearchArgs, SearchModeArg};
use crate::output::{print_json, Table};
use crate::BadInput;

fn mode_of(arg: SearchModeArg) -> Mode {
    match arg {
        SearchModeArg::Bm25 => Mode::Bm25,
        SearchModeArg::Vector => Mode::Vector,
        SearchModeArg::Hybrid => Mode::Hybrid,
    }
}

fn fusion_of(arg: FusionArg, ranking: &RankingArgs) -> Fusion {
    match arg {
        FusionArg::Rrf => Fusion::Rrf { k: ranking.rrf_k },
        FusionArg::Convex => Fusion::Convex,
    }
}

/// Options with the ranking flags applied, checked before any index work.
fn checked(options: SearchOptions) -> anyhow::Result<SearchOptions> {
    options.validate().map_err(|e| BadInput(format!("{e}")))?;
    Ok(options)
}

#[derive(Serialize)]
struct SearchOutput<'a> {
    query: &'a str,
    mode: Mode,
    fusion: Fusion,
    semantic_ratio: f32,
    index: &'a str,
    #[serde(flatten)]
    results: &'a SearchResults,
}

pub fn search(args: SearchArgs) -> anyhow::Result<()> {
    // Everything the user typed is checked before the (possibly slow) index work.
    let query = check_query(&args.query)?.to_owned();
    let filters = match &args.filter {
        Some(text) => Filters::parse(text).map_err(|e| BadInput(format!("--filter: {e}")))?,
        None => Filters::default(),
    };
    let learned = match (&args.catalog.encoder_model, args.fusion) {
        (Some(dir), None) => LearnedFusion::open(dir)
            .map_err(|e| BadInput(e.to_string()))?
            .map(|f| f.options())
            .transpose()?,
        _ => None,
    };
    let (fusion, semantic_ratio) = match &learned {
        Some(options) => (options.fusion, options.semantic_ratio),
        None => (
            fusion_of(args.fusion.unwrap_or(FusionArg::Rrf), &args.ranking),
            args.ranking.semantic_ratio,
        ),
    };
    let mut options = checked(SearchOptions {
        mode: mode_of(args.mode),
        fusion,
        semantic_ratio,
        k: args.k,
        candidates: args.k.max(100),
        filters,
        explain: args.explain,
        intent_boost: args.ranking.intent_boost,
        personal: None,
        personal_weight: args.personal_weight,
    })?;
    if let (Some(user), Some(model)) = (&args.user, &args.model) {
        options.personal = Some(crate::recommend::user_item_scores(model, user)?);
    }
    let catalog = load_catalog(&args.catalog.data)?;
    let query_encoder = open_encoder(&encoder_spec(&args.catalog))?;
    let ready = open_or_build(&catalog, &args.catalog, query_encoder)?;
    let started = Instant::now();
    let results = ready.index.search_full(&query, &options)?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if args.json {
        return print_json(&SearchOutput {
            query: &query,
            mode: options.mode,
            fusion: options.fusion,
            semantic_ratio: options.semantic_ratio,
            index: &ready.origin,
            results: &results,
        });
    }
    let how = match (options.mode, options.fusion) {
        (Mode::Bm25, _) => "bm25".to_owned(),
        (Mode::Vector, _) => "vector".to_owned(),
        (Mode::Hybrid, Fusion::Rrf { k }) => format!(
            "hybrid (RRF k = {k}, semantic ratio {}{})",
            options.semantic_ratio,
            if learned.is_some() { ", learned" } else { "" }
        ),
        (Mode::Hybrid, Fusion::Convex) => format!(
            "hybrid (convex, semantic ratio {}{})",
            options.semantic_ratio,
            if learned.is_some() { ", learned" } else { "" }
        ),
    };
    println!(
        "\"{query}\": {how}, {} hit(s) of {} candidate(s) in {ms:.1} ms ({})",
        results.hits.len(),
        results.candidates,
        ready.origin
    );
    if let Some(share) = results.unread_by_encoder {
        println!(
            "the encoder cannot read this query ({:.0}% of its tokens are unknown to it): \
             ranked by BM25 alone",
            100.0 * share
        );
    }
    if let Some(intent) = &results.intent {
        let others: Vec<String> = intent
            .alternatives
            .iter()
            .map(|(c, p)| format!("{c} {p:.2}"))
            .collect();
        println!(
            "intent: {} {:.2}{}",
            intent.category,
            intent.probability,
            if others.is_empty() {
                String::new()
            } else {
                format!(" (then {})", others.join(", "))
            }
        );
    }
    if results.hits.is_empty() {
        println!("no item matches");
        return Ok(());
    }
    let mut table = Table::new(&[
        "rank", "item", "title", "category", "brand", "price", "score",
    ]);
    for hit in &results.hits {
        table.row(vec![
            hit.rank.to_string(),
            hit.id.clone(),
            hit.title.clone(),
            hit.category.clone(),
            hit.brand.clone(),
            hit.price.map(|p| format!("{p:.2}")).unwrap_or_default(),
            format!("{:.4}", hit.score),
        ]);
    }
    table.print()?;
    if args.explain {
        println!();
        let mut table = Table::new(&[
            "rank",
            "matched",
            "bm25",
            "bm25 rank",
            "cosine",
            "vec rank",
            "lexical",
            "semantic",
            "intent",
            "personal",
        ]);
        let opt = |v: Option<f32>| v.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into());
        let opt_rank = |v: Option<usize>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
        for hit in &results.hits {
            let Some(e) = &hit.explanation else { continue };
            let matched: Vec<String> = e
                .matched_terms
                .iter()
                .map(|t| format!("{}:{}", t.term, t.fields.join("+")))
                .collect();
            table.row(vec![
                hit.rank.to_string(),
                if matched.is_empty() {
                    "-".into()
                } else {
                    matched.join(" ")
                },
                opt(e.bm25),
                opt_rank(e.bm25_rank),
                opt(e.vector),
                opt_rank(e.vector_rank),
                format!("{:.4}", e.lexical_contribution),
                format!("{:.4}", e.semantic_contribution),
                format!("{:.4}", e.intent_contribution),
                format!("{:.4}", e.personal_contribution),
            ]);
        }
        table.print()?;
        println!("score = lexical + semantic + intent + personal");
    }
    if args.facets {
        println!();
        let show = |name: &str, values: &[(String, usize)]| {
            let parts: Vec<String> = values
                .iter()
                .take(8)
                .map(|(v, n)| format!("{v} {n}"))
                .collect();
            if !parts.is_empty() {
                println!("{name:<9} {}", parts.join(", "));
            }
        };
        show("category", &results.facets.category);
        show("leaf", &results.facets.leaf_category);
        show("brand", &results.facets.brand);
        show("price", &results.facets.price);
    }
    Ok(())
}
