//! `assay serve` and `assay keys create`: the engine as an HTTP service on a durable store.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use assay_recommend::ModelSpec;
use assay_search::IndexConfig;
use assay_serve::http::new_key;
use assay_serve::{
    router, App, Auth, BanditConfig, Engine, EngineConfig, RetrainPolicy, Retrainer, Role,
    SqliteStore, Store,
};

use crate::catalog::{encoder_spec_of, open_encoder};
use crate::cli::{DatasetArgs, KeysCommand, ServeArgs};
use crate::BadInput;

/// Distinct recent queries whose vectors the service keeps (about 15 MB with MiniLM).
const RECENT_QUERIES: usize = 10_000;

/// The folder of a store's model versions: beside the store file, named after it.
fn models_dir(store: &Path) -> std::path::PathBuf {
    let mut name = store.file_name().unwrap_or_default().to_os_string();
    name.push(".models");
    store.with_file_name(name)
}

fn open_store(path: &Path) -> anyhow::Result<SqliteStore> {
    SqliteStore::open(path).map_err(|e| BadInput(e.to_string()).into())
}

/// `--demo`: the shop simulated into the demo folder (unless an earlier demo left one), and
/// the arguments that serve it.
fn demo_setup(mut args: ServeArgs) -> anyhow::Result<(ServeArgs, Option<std::path::PathBuf>)> {
    if args.data.is_some() {
        return Err(BadInput("--demo simulates its own shop; DATA is not taken".into()).into());
    }
    let dir = args
        .demo_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("assay-demo-{}", std::process::id())));
    let shop = dir.join("shop");
    if !shop.join("assay.toml").is_file() {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let config = assay_sim::SimConfig::with_events(args.seed, 50_000);
        crate::simulate::write_shop(&config, &shop, false)?;
        eprintln!("simulated a shop of 50,000 events into {}", shop.display());
    }
    args.data = Some(shop.display().to_string());
    args.store = dir.join("demo.db");
    args.no_auth = true;
    args.encoder = crate::cli::EncoderArg::Hash;
    if args.retrain_events.is_none() && args.retrain_seconds.is_none() {
        args.retrain_events = Some(2_000);
    }
    Ok((args, Some(shop)))
}

pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let (args, demo_shop) = if args.demo {
        demo_setup(args)?
    } else {
        (args, None)
    };
    let addr: SocketAddr = args
        .addr
        .parse()
        .map_err(|e| BadInput(format!("--addr {}: {e} (expected IP:PORT)", args.addr)))?;
    if args.no_auth && !addr.ip().is_loopback() {
        return Err(BadInput(format!(
            "--no-auth: {} is not a loopback address; without keys the service may only listen on 127.0.0.1 or ::1",
            addr.ip()
        ))
        .into());
    }
    let model = ModelSpec::parse(&args.model).map_err(|e| BadInput(format!("--model: {e}")))?;
    if args.retrain_events == Some(0) || args.retrain_seconds == Some(0) {
        return Err(
            BadInput("--retrain-events and --retrain-seconds: expected at least 1".into()).into(),
        );
    }
    if !(0.0..1.0).contains(&args.ab_control) {
        return Err(BadInput(format!(
            "--ab-control: expected a share of users in [0, 1), found {}",
            args.ab_control
        ))
        .into());
    }
    if args.ab_control > 0.0 && args.no_bandit {
        return Err(BadInput(
            "--ab-control: the A/B test compares the re-ranker with the model's order; it needs the re-ranker (drop --no-bandit)".into(),
        )
        .into());
    }
    if args.bandit_draws == 0 {
        return Err(BadInput("--bandit-draws: expected at least 1".into()).into());
    }
    let store = open_store(&args.store)?;
    let first = if store.is_empty()? {
        let Some(dataset) = &args.data else {
            return Err(BadInput(format!(
                "{}: the store is empty; name the DATA to import at first start",
                args.store.display()
            ))
            .into());
        };
        let loaded = crate::data::load(&DatasetArgs {
            dataset: dataset.clone(),
            unknown_refs: None,
        })?;
        eprintln!(
            "importing {} ({} items, {} users, {} events) into {}",
            loaded.dataset.name,
            loaded.dataset.items.len(),
            loaded.dataset.users.len(),
            loaded.dataset.events.len(),
            args.store.display()
        );
        Some(loaded.dataset)
    } else {
        if args.data.is_some() {
            eprintln!(
                "note: {} already holds data; DATA is not imported again",
                args.store.display()
            );
        }
        None
    };
    let spec = encoder_spec_of(args.encoder, args.threads);
    let encoder = open_encoder(&spec)?;
    let (build_encoder, _) = spec.for_indexing(&encoder, &assay_fetch::Home::from_env());
    // A shop's frequent queries repeat: their vectors are kept rather than encoded again.
    let query_encoder: Arc<dyn assay_encoder::Encoder> =
        Arc::new(assay_encoder::RecentTexts::new(encoder, RECENT_QUERIES));
    let config = EngineConfig {
        model,
        seed: args.seed,
        models_dir: models_dir(&args.store),
        index: IndexConfig {
            threads: if args.threads > 0 {
                args.threads
            } else {
                std::thread::available_parallelism().map_or(1, usize::from)
            },
            ..IndexConfig::default()
        },
        metrics_window: args.metrics_window,
        bandit: (!args.no_bandit).then(|| BanditConfig {
            draws: args.bandit_draws,
            control_share: args.ab_control,
            ..BanditConfig::default()
        }),
    };
    let started = std::time::Instant::now();
    let engine = Arc::new(
        Engine::open(
            Arc::new(store),
            config,
            first.as_ref(),
            build_encoder,
            query_encoder,
        )
        .context("starting the engine")?,
    );
    let policy = RetrainPolicy {
        every_events: args.retrain_events,
        every: args.retrain_seconds.map(Duration::from_secs),
    };
    let retrainer = if policy.is_off() {
        None
    } else {
        Some(Retrainer::start(engine.clone(), policy).context("starting the retraining thread")?)
    };
    let auth = if args.no_auth { Auth::Off } else { Auth::Keys };
    let app = App::new(engine.clone(), auth);
    let served = engine.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| BadInput(format!("--addr {addr}: {e}")))?;
        let local = listener.local_addr()?;
        println!(
            "assay serves {} items on http://{local}/ (model version {}, ready in {:.1} s){}",
            served.index_size(),
            served.active().map_or(0, |m| m.version),
            started.elapsed().as_secs_f64(),
            if args.no_auth { ", no keys asked" } else { "" }
        );
        if let Some(shop) = &demo_shop {
            let shop = crate::data::load(&DatasetArgs {
                dataset: shop.display().to_string(),
                unknown_refs: None,
            })?
            .dataset;
            let (seed, seconds) = (args.seed, args.demo_seconds);
            println!(
                "dashboard: http://{local}/  (simulated traffic for {seconds} s; Ctrl-C stops)"
            );
            std::thread::Builder::new()
                .name("demo-traffic".into())
                .spawn(move || {
                    let sent = crate::demo::traffic(local, &shop, seed, seconds);
                    println!(
                        "demo traffic done: {} recommendations, {} searches, {} events, {} errors; \
                         dashboard: http://{local}/",
                        sent.recommend, sent.search, sent.events, sent.errors
                    );
                })
                .context("starting the demo traffic")?;
        }
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        assay_serve::http::serve(listener, router(app), shutdown).await?;
        anyhow::Ok(())
    })?;
    drop(retrainer);
    engine.shutdown();
    Ok(())
}

pub fn keys(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create(args) => {
            let role = Role::parse(&args.role).ok_or_else(|| {
                BadInput(format!(
                    "--role {}: expected read, write or admin",
                    args.role
                ))
            })?;
            let store = open_store(&args.store)?;
            let (key, hash) = new_key();
            store.add_key(&hash, role)?;
            println!("{key}");
            eprintln!(
                "a {} key for {}; it is shown only now (the store keeps its SHA-256)",
                role.as_str(),
                args.store.display()
            );
            Ok(())
        }
    }
}
