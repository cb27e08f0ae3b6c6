//! `assay`: the command line of the assay workspace.
//!
//! The binary is thin glue: it parses flags (clap), turns dataset names into loaded data through
//! `assay-fetch` and `assay-import`, calls the library crates, and renders their plain results as
//! tables for people or JSON for machines. It owns exit codes: 0 on success, 2 when the input (a
//! flag, a file, a dataset name) is wrong, 1 when anything else fails.

mod bandit;
mod catalog;
mod cli;
mod ctr;
mod curves;
mod data;
mod demo;
mod eval_search;
mod experiment;
mod faq;
mod finetune;
mod ope;
mod output;
mod quickstart;
mod recommend;
mod report;
mod reward;
mod search;
mod serve;
mod simulate;
mod value;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

/// Dense item x item matrices (EASE) are fitted many times over in data valuation: huge pages
/// make their allocation and products cheaper (see `assay_recommend::HugePageAlloc`).
#[global_allocator]
static ALLOC: assay_recommend::HugePageAlloc = assay_recommend::HugePageAlloc;

fn main() -> ExitCode {
    // Parsing starts no thread, so the allocator and the thread settings still come first.
    let matches = cli::Cli::command().get_matches();
    let args = cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if matches!(args.command, cli::Command::Serve(_)) {
        assay_recommend::HugePageAlloc::settle_for_a_service();
    } else {
        assay_recommend::HugePageAlloc::keep_freed_memory();
    }
    assay_encoder::use_cores_for_batches();
    match run(args, &matches) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if is_broken_pipe(&err) {
                // `assay ... | head` closing the pipe early is a normal way to stop reading.
                return ExitCode::SUCCESS;
            }
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "error: {err}");
            for cause in err.chain().skip(1) {
                let _ = writeln!(stderr, "  caused by: {cause}");
            }
            if let Some(hint) = hint(&err) {
                let _ = writeln!(stderr, "hint: {hint}");
            }
            ExitCode::from(if is_bad_input(&err) { 2 } else { 1 })
        }
    }
}

fn run(args: cli::Cli, matches: &clap::ArgMatches) -> anyhow::Result<()> {
    set_memory_limit(args.memory_limit)?;
    set_time_limit(args.time_limit)?;
    match args.command {
        cli::Command::Data(cmd) => data::run(cmd),
        cli::Command::Simulate(cmd) => simulate::run(cmd),
        cli::Command::Eval(cmd) => recommend::eval(cmd, &cli::typed(matches, "eval")),
        cli::Command::Tune(cmd) => recommend::tune(cmd),
        cli::Command::Train(cmd) => recommend::train(cmd, &cli::typed(matches, "train")),
        cli::Command::Recommend(cmd) => recommend::recommend(cmd),
        cli::Command::Index(cmd) => catalog::index(cmd),
        cli::Command::Search(cmd) => search::search(cmd),
        cli::Command::EvalSearch(cmd) => eval_search::eval_search(cmd),
        cli::Command::Finetune(cmd) => finetune::run(cmd),
        cli::Command::Value(cmd) => value::run(cmd, &cli::typed(matches, "value")),
        cli::Command::Ope(cmd) => ope::run(cmd),
        cli::Command::Ctr(cmd) => ctr::run(cmd),
        cli::Command::Bandit(cli::BanditCommand::Simulate(cmd)) => bandit::simulate(cmd),
        cli::Command::Bandit(cli::BanditCommand::Coverage(cmd)) => bandit::coverage(cmd),
        cli::Command::Business(cmd) => experiment::business(cmd),
        cli::Command::Ab(cmd) => experiment::ab(cmd),
        cli::Command::Report(cmd) => report::run(cmd, &cli::typed(matches, "report")),
        cli::Command::Quickstart(cmd) => quickstart::run(cmd),
        cli::Command::Faq(cmd) => faq::run(cmd),
        cli::Command::Serve(cmd) => serve::serve(cmd),
        cli::Command::Keys(cmd) => serve::keys(cmd),
    }
}

/// The memory budget of every step ([`assay_core::memory`]): `--memory-limit`, else
/// `ASSAY_MEMORY_LIMIT`, else the library's default.
fn set_memory_limit(flag: Option<u64>) -> anyhow::Result<()> {
    const VAR: &str = "ASSAY_MEMORY_LIMIT";
    let bytes = match (flag, std::env::var_os(VAR)) {
        (Some(bytes), _) => bytes,
        (None, Some(text)) => {
            let text = text.to_string_lossy();
            assay_core::memory::parse_size(&text).map_err(|e| BadInput(format!("{VAR}: {e}")))?
        }
        (None, None) => return Ok(()),
    };
    assay_core::memory::set_limit(bytes);
    Ok(())
}

/// The time budget of every step ([`assay_core::budget`]): `--time-limit`, else
/// `ASSAY_TIME_LIMIT`, else the library's default.
fn set_time_limit(flag: Option<f64>) -> anyhow::Result<()> {
    const VAR: &str = "ASSAY_TIME_LIMIT";
    let seconds = match (flag, std::env::var_os(VAR)) {
        (Some(seconds), _) => seconds,
        (None, Some(text)) => assay_core::budget::parse_duration(&text.to_string_lossy())
            .map_err(|e| BadInput(format!("{VAR}: {e}")))?,
        (None, None) => return Ok(()),
    };
    assay_core::budget::set_limit(seconds);
    Ok(())
}

/// The refusal of a step over the time budget, wherever a library put it.
fn too_slow(cause: &(dyn std::error::Error + 'static)) -> bool {
    use assay_recommend::RecommendError;
    let of_model = |e: &RecommendError| matches!(e, RecommendError::TooSlow(_));
    cause.is::<assay_core::TooSlow>()
        || cause.downcast_ref::<RecommendError>().is_some_and(of_model)
        || matches!(
            cause.downcast_ref::<assay_value::ValueError>(),
            Some(assay_value::ValueError::Recommend(e)) if of_model(e)
        )
        || matches!(
            cause.downcast_ref::<assay_report::StudyError>(),
            Some(assay_report::StudyError::TooSlow(_))
        )
}

/// The refusal of a step over the memory budget, wherever a library put it.
fn too_large<'e>(cause: &'e (dyn std::error::Error + 'static)) -> Option<&'e assay_core::TooLarge> {
    use assay_recommend::RecommendError;
    use assay_value::ValueError;
    let of_model = |e: &'e RecommendError| match e {
        RecommendError::TooLarge(t) => Some(t),
        _ => None,
    };
    let of_value = |e: &'e ValueError| match e {
        ValueError::Recommend(e) => of_model(e),
        _ => None,
    };
    if let Some(t) = cause.downcast_ref::<assay_core::TooLarge>() {
        return Some(t);
    }
    if let Some(e) = cause.downcast_ref::<RecommendError>() {
        return of_model(e);
    }
    if let Some(e) = cause.downcast_ref::<ValueError>() {
        return of_value(e);
    }
    match cause.downcast_ref::<assay_bandit::BanditError>() {
        Some(assay_bandit::BanditError::TooLarge(t)) => return Some(t),
        Some(assay_bandit::BanditError::Import(assay_import::ImportError::TooLarge(t))) => {
            return Some(t)
        }
        _ => {}
    }
    if let Some(assay_import::ImportError::TooLarge(t)) = cause.downcast_ref() {
        return Some(t);
    }
    match cause.downcast_ref::<assay_report::StudyError>() {
        Some(assay_report::StudyError::Value(e)) => of_value(e),
        _ => None,
    }
}

/// An error caused by what the user gave us, as opposed to a failure of assay or the machine.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

fn is_bad_input(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.is::<BadInput>()
            || too_large(cause).is_some()
            || too_slow(cause)
            || cause.is::<assay_import::ImportError>()
            || matches!(
                cause.downcast_ref::<assay_bandit::BanditError>(),
                Some(
                    assay_bandit::BanditError::BadRound { .. }
                        | assay_bandit::BanditError::Import(_)
                        | assay_bandit::BanditError::UnknownPolicy { .. }
                        | assay_bandit::BanditError::NotOffPolicy { .. }
                        | assay_bandit::BanditError::PriorMismatch { .. }
                        | assay_bandit::BanditError::UnknownEstimator { .. }
                )
            )
            || catalog::is_bad_search_input(cause)
            || cause
                .downcast_ref::<assay_recommend::RecommendError>()
                .is_some_and(is_bad_model_input)
            || cause
                .downcast_ref::<assay_value::ValueError>()
                .is_some_and(is_bad_value_input)
            || matches!(
                cause.downcast_ref::<assay_report::StudyError>(),
                Some(assay_report::StudyError::Value(e)) if is_bad_value_input(e)
            )
            || matches!(
                cause.downcast_ref::<assay_sim::SimError>(),
                Some(
                    assay_sim::SimError::InvalidConfig { .. }
                        | assay_sim::SimError::InvalidOutput { .. }
                )
            )
            || matches!(
                cause.downcast_ref::<assay_fetch::FetchError>(),
                Some(
                    assay_fetch::FetchError::UnknownDataset(_)
                        | assay_fetch::FetchError::NotFetched { .. }
                )
            )
    })
}

/// A model spec or a hyper-parameter out of range (found when parsing or when fitting), data
/// a model cannot use (no events to learn from, an empty split), or a folder to save a model as
/// that holds other files.
fn is_bad_model_input(err: &assay_recommend::RecommendError) -> bool {
    use assay_recommend::RecommendError;
    matches!(
        err,
        RecommendError::Param { .. }
            | RecommendError::Spec { .. }
            | RecommendError::Data(_)
            | RecommendError::NotAModelDir { .. }
    )
}

/// A valuation that cannot be carried out because of what was asked or given; a failure of
/// the model's arithmetic is not one.
fn is_bad_value_input(err: &assay_value::ValueError) -> bool {
    use assay_value::ValueError;
    match err {
        ValueError::Param { .. }
        | ValueError::TooManyPlayers { .. }
        | ValueError::Empty(_)
        | ValueError::Import(_) => true,
        ValueError::Recommend(e) => is_bad_model_input(e),
    }
}

/// What to do next, for errors whose fix is a command: the libraries name what is missing,
/// only the binary knows its own commands.
fn hint(err: &anyhow::Error) -> Option<String> {
    use assay_encoder::EncoderError;
    use assay_fetch::FetchError;
    err.chain().find_map(|cause| {
        if let Some(refused) = too_large(cause) {
            return Some(format!(
                "the memory limit ({}) is set with --memory-limit SIZE or ASSAY_MEMORY_LIMIT; \
                 raise it only on a machine that has the memory",
                assay_core::memory::format_bytes(u128::from(refused.limit))
            ));
        }
        let pack = match cause.downcast_ref::<EncoderError>() {
            Some(EncoderError::NotFetched { pack, .. } | EncoderError::NotFound { pack, .. }) => {
                Some(*pack)
            }
            _ => match cause.downcast_ref::<FetchError>() {
                Some(FetchError::NotFetched { pack, .. }) => Some(*pack),
                _ => None,
            },
        };
        pack.map(|pack| format!("run `assay data fetch {pack}` first"))
    })
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let io_kind = match cause.downcast_ref::<serde_json::Error>() {
            Some(json) => json.io_error_kind(),
            None => cause
                .downcast_ref::<std::io::Error>()
                .map(std::io::Error::kind),
        };
        io_kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_parameters_and_outputs_are_bad_input_and_failures_are_not() {
        use assay_recommend::RecommendError;
        use assay_sim::SimError;
        use assay_value::ValueError;
        let param = || RecommendError::Param {
            name: "lr",
            value: "-1".into(),
            reason: "must be a positive number",
        };
        let bad = [
            anyhow::Error::new(param()).context("fitting bpr"),
            anyhow::Error::new(ValueError::Recommend(param())).context("valuing"),
            anyhow::Error::new(SimError::InvalidOutput {
                path: "shop".into(),
                reason: "the directory exists and is not empty".into(),
            }),
            anyhow::Error::new(SimError::InvalidConfig {
                field: "typo_rate",
                reason: "must be in [0, 1]".into(),
            }),
        ];
        for err in &bad {
            assert!(is_bad_input(err), "{err:#}");
        }
        let failures = [
            anyhow::Error::new(ValueError::Recommend(RecommendError::LinearAlgebra(
                "not positive definite".into(),
            ))),
            anyhow::Error::new(SimError::Io {
                path: "shop/events.csv".into(),
                source: std::io::Error::other("disk full"),
            }),
        ];
        for err in &failures {
            assert!(!is_bad_input(err), "{err:#}");
        }
    }
}
