//! The policy registry: every policy assay knows by name, what it takes, and how to build it.
//!
//! A front end (the CLI, a service) turns user text into a [`PolicyName`] or an
//! [`EvaluationPolicy`] here and never matches on policy strings itself; an unknown name gives
//! [`BanditError::UnknownPolicy`] listing the known ones. Adding a policy is one row in
//! [`REGISTRY`] and one arm in [`PolicyName::online`].

use std::path::{Path, PathBuf};

use crate::action_dist::ActionDist;
use crate::error::{BanditError, Result};
use crate::estimators::EstimatorKind;
use crate::feedback::LoggedFeedback;
use crate::ope::{bts_action_dist, run_ope, Estimate, OpeConfig};
use crate::policy::{
    BernoulliTs, BetaPrior, EpsilonGreedy, Exploration, LinearPolicy, LogisticPolicy, Policy,
    UniformRandom,
};

/// A policy assay can build by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyName {
    /// Uniformly random slates.
    Uniform,
    /// Epsilon-greedy on observed click rates (epsilon 0.1).
    EpsilonGreedy,
    /// Bernoulli Thompson sampling (OBP's `BernoulliTS`).
    Bts,
    /// LinUCB (ridge regression per action, alpha 1).
    LinUcb,
    /// Linear Thompson sampling.
    LinTs,
    /// Logistic UCB (alpha 1).
    LogUcb,
    /// Logistic Thompson sampling.
    LogTs,
}

/// One registered policy: its names (the first is canonical), what it is, and whether it can
/// be evaluated off-policy from logs alone (it has a context-free action distribution).
#[derive(Debug, Clone, Copy)]
pub struct PolicyEntry {
    /// The policy.
    pub policy: PolicyName,
    /// Accepted names; the first is the canonical one.
    pub names: &'static [&'static str],
    /// One line for help texts.
    pub summary: &'static str,
    /// True when [`PolicyName::action_dist`] can build its distribution for off-policy evaluation.
    pub off_policy: bool,
}

/// Every policy assay knows, in the order help texts list them.
pub const REGISTRY: [PolicyEntry; 7] = [
    PolicyEntry {
        policy: PolicyName::Uniform,
        names: &["uniform"],
        summary: "uniformly random slates",
        off_policy: true,
    },
    PolicyEntry {
        policy: PolicyName::EpsilonGreedy,
        names: &["egreedy", "epsilon-greedy"],
        summary: "epsilon-greedy (0.1) on observed click rates",
        off_policy: false,
    },
    PolicyEntry {
        policy: PolicyName::Bts,
        names: &["bts"],
        summary: "Bernoulli Thompson sampling with a Beta prior",
        off_policy: true,
    },
    PolicyEntry {
        policy: PolicyName::LinUcb,
        names: &["linucb"],
        summary: "LinUCB, alpha 1",
        off_policy: false,
    },
    PolicyEntry {
        policy: PolicyName::LinTs,
        names: &["lints"],
        summary: "linear Thompson sampling",
        off_policy: false,
    },
    PolicyEntry {
        policy: PolicyName::LogUcb,
        names: &["logucb"],
        summary: "logistic UCB, alpha 1",
        off_policy: false,
    },
    PolicyEntry {
        policy: PolicyName::LogTs,
        names: &["logts"],
        summary: "logistic Thompson sampling",
        off_policy: false,
    },
];

impl PolicyName {
    /// The policy called `text` (any of its names), or [`BanditError::UnknownPolicy`] listing
    /// the canonical names.
    pub fn parse(text: &str) -> Result<PolicyName> {
        REGISTRY
            .iter()
            .find(|entry| entry.names.contains(&text))
            .map(|entry| entry.policy)
            .ok_or_else(|| BanditError::UnknownPolicy {
                given: text.to_owned(),
                expected: PolicyName::known().join(", "),
            })
    }

    /// The canonical names of every registered policy, in registry order.
    pub fn known() -> Vec<&'static str> {
        REGISTRY.iter().map(|entry| entry.names[0]).collect()
    }

    /// The canonical names of the policies that [`PolicyName::action_dist`] can build.
    pub fn known_off_policy() -> Vec<&'static str> {
        REGISTRY
            .iter()
            .filter(|entry| entry.off_policy)
            .map(|entry| entry.names[0])
            .collect()
    }

    /// This policy's registry row.
    pub fn entry(self) -> &'static PolicyEntry {
        REGISTRY
            .iter()
            .find(|entry| entry.policy == self)
            .expect("every policy has a registry row")
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        self.entry().names[0]
    }

    /// The bytes an online run of this policy ([`PolicyName::online`]) holds after `n_rounds`
    /// rounds: per-action counts, or per-action `dim x dim` matrices for the linear and
    /// logistic policies, which also keep every context they learnt from.
    pub fn online_bytes(self, n_actions: usize, dim: usize, n_rounds: usize) -> u128 {
        use assay_core::memory::dense_bytes;
        let square = dense_bytes(
            &[n_actions, dim.saturating_add(1), dim.saturating_add(1)],
            8,
        );
        match self {
            PolicyName::Uniform | PolicyName::EpsilonGreedy | PolicyName::Bts => {
                dense_bytes(&[4, n_actions], 8)
            }
            PolicyName::LinUcb | PolicyName::LinTs => square,
            PolicyName::LogUcb | PolicyName::LogTs => {
                square.saturating_add(dense_bytes(&[n_rounds, dim.saturating_add(1)], 8))
            }
        }
    }

    /// A fresh online policy over `n_actions` actions and `dim`-dimensional contexts that shows
    /// one action per round; Bernoulli TS starts from the flat prior.
    pub fn online(self, n_actions: usize, dim: usize) -> Result<Box<dyn Policy>> {
        Ok(match self {
            PolicyName::Uniform => Box::new(UniformRandom::new(n_actions, 1)?),
            PolicyName::EpsilonGreedy => Box::new(EpsilonGreedy::new(n_actions, 1, 0.1)?),
            PolicyName::Bts => Box::new(BernoulliTs::new(1, BetaPrior::uniform(n_actions))?),
            PolicyName::LinUcb => Box::new(LinearPolicy::new(
                n_actions,
                1,
                dim,
                1.0,
                Exploration::Ucb { alpha: 1.0 },
            )?),
            PolicyName::LinTs => Box::new(LinearPolicy::new(
                n_actions,
                1,
                dim,
                1.0,
                Exploration::Thompson,
            )?),
            PolicyName::LogUcb => Box::new(LogisticPolicy::new(
                n_actions,
                1,
                dim,
                1.0,
                50,
                Exploration::Ucb { alpha: 1.0 },
            )?),
            PolicyName::LogTs => Box::new(LogisticPolicy::new(
                n_actions,
                1,
                dim,
                1.0,
                50,
                Exploration::Thompson,
            )?),
        })
    }

    /// The context-free action distribution of this policy on the slates of `logs`, for
    /// off-policy evaluation. Bernoulli TS needs `settings.prior`, with one entry per action.
    pub fn action_dist(
        self,
        logs: &LoggedFeedback,
        settings: &PolicySettings,
    ) -> Result<ActionDist> {
        match self {
            PolicyName::Uniform => {
                let p = 1.0 / logs.n_actions() as f64;
                ActionDist::context_free(&vec![vec![p; logs.n_actions()]; logs.len_list()])
            }
            PolicyName::Bts => {
                let Some(prior) = &settings.prior else {
                    return Err(BanditError::Invalid(
                        "Bernoulli TS needs a prior to be evaluated off-policy".into(),
                    ));
                };
                if prior.alpha.len() != logs.n_actions() {
                    return Err(BanditError::PriorMismatch {
                        prior: prior.alpha.len(),
                        actions: logs.n_actions(),
                    });
                }
                bts_action_dist(prior, logs.len_list(), settings.n_sim, settings.seed)
            }
            other => Err(BanditError::NotOffPolicy {
                policy: other.name(),
                expected: PolicyName::known_off_policy().join(", "),
            }),
        }
    }
}

/// What building an evaluation policy may need besides the logs.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySettings {
    /// The Beta prior of Bernoulli TS (read by [`assay_import::BetaPrior::from_yaml_file`]).
    pub prior: Option<BetaPrior>,
    /// Simulations of Bernoulli TS's batch distribution.
    pub n_sim: usize,
    /// Seed of those simulations.
    pub seed: u64,
}

/// The policy whose value off-policy evaluation estimates: a registered policy, or an
/// action-distribution CSV file (see [`assay_import::read_action_dist`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvaluationPolicy {
    /// A policy of the [`REGISTRY`].
    Named(PolicyName),
    /// A file of probabilities `pi(action, position | round)`.
    File(PathBuf),
}

impl EvaluationPolicy {
    /// A registered name, else the path of an existing file; otherwise
    /// [`BanditError::UnknownPolicy`] naming both choices.
    pub fn parse(text: &str) -> Result<EvaluationPolicy> {
        if let Ok(name) = PolicyName::parse(text) {
            return Ok(EvaluationPolicy::Named(name));
        }
        let path = Path::new(text);
        if path.is_file() {
            return Ok(EvaluationPolicy::File(path.to_owned()));
        }
        Err(BanditError::UnknownPolicy {
            given: text.to_owned(),
            expected: format!(
                "{}, or an action-distribution CSV file",
                PolicyName::known_off_policy().join(", ")
            ),
        })
    }

    /// The policy's action distribution on the slates of `logs`.
    pub fn action_dist(
        &self,
        logs: &LoggedFeedback,
        settings: &PolicySettings,
    ) -> Result<ActionDist> {
        match self {
            EvaluationPolicy::Named(name) => name.action_dist(logs, settings),
            EvaluationPolicy::File(path) => {
                ActionDist::from_csv(path, logs.n_rounds(), logs.n_actions(), logs.len_list())
            }
        }
    }
}

/// The estimates of `estimators` for `policy` from `logs`: builds the policy's action
/// distribution and runs [`crate::run_ope`].
pub fn evaluate_policy(
    logs: &LoggedFeedback,
    policy: &EvaluationPolicy,
    settings: &PolicySettings,
    estimators: &[EstimatorKind],
    config: &OpeConfig,
) -> Result<Vec<Estimate>> {
    let pi = policy.action_dist(logs, settings)?;
    run_ope(logs, &pi, estimators, config)
}

/// Parses a comma-separated list of estimators (see [`EstimatorKind::parse`]), or `all` for
/// OBP's reference set.
pub fn parse_estimators(text: &str) -> Result<Vec<EstimatorKind>> {
    if text == "all" {
        return Ok(EstimatorKind::REFERENCE_SET.to_vec());
    }
    text.split(',')
        .map(|name| {
            EstimatorKind::parse(name).ok_or_else(|| BanditError::UnknownEstimator {
                given: name.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn every_name_parses_to_its_policy_and_back() {
        for entry in &REGISTRY {
            for name in entry.names {
                assert_eq!(PolicyName::parse(name).unwrap(), entry.policy);
            }
            assert_eq!(entry.policy.name(), entry.names[0]);
        }
        assert_eq!(
            PolicyName::parse("epsilon-greedy").unwrap(),
            PolicyName::EpsilonGreedy
        );
        let err = PolicyName::parse("greedy").unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown policy 'greedy': expected uniform, egreedy, bts, linucb, lints, logucb, logts"
        );
    }

    #[test]
    fn online_policies_have_the_requested_shape() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for entry in &REGISTRY {
            let policy = entry.policy.online(5, 3).unwrap();
            assert_eq!((policy.n_actions(), policy.len_list()), (5, 1));
            let slate = policy.select(&[0.1, 0.2, 0.3], &mut rng);
            assert_eq!(slate.len(), 1);
            assert!(slate[0] < 5);
        }
        assert!(PolicyName::Uniform.online(0, 3).is_err());
    }

    #[test]
    fn evaluation_policy_is_a_name_or_an_existing_file() {
        assert_eq!(
            EvaluationPolicy::parse("bts").unwrap(),
            EvaluationPolicy::Named(PolicyName::Bts)
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pi.csv");
        std::fs::write(&file, "action,position,prob\n").unwrap();
        assert_eq!(
            EvaluationPolicy::parse(file.to_str().unwrap()).unwrap(),
            EvaluationPolicy::File(file.clone())
        );
        let err = EvaluationPolicy::parse("nope.csv").unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown policy 'nope.csv': expected uniform, bts, or an action-distribution CSV file"
        );
    }

    #[test]
    fn estimator_lists() {
        assert_eq!(
            parse_estimators("all").unwrap(),
            EstimatorKind::REFERENCE_SET.to_vec()
        );
        assert_eq!(
            parse_estimators("ipw,dr").unwrap(),
            [
                EstimatorKind::parse("ipw").unwrap(),
                EstimatorKind::parse("dr").unwrap()
            ]
        );
        let err = parse_estimators("ipw,best").unwrap_err().to_string();
        assert!(err.starts_with("unknown estimator 'best'"), "{err}");
    }
}
