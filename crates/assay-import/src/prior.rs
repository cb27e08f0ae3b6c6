//! The Beta prior of a Bernoulli Thompson sampling policy, in the format of Open Bandit
//! Pipeline's `prior_bts.yaml`.

use std::path::Path;

use crate::ImportError;

/// The Beta prior of a Bernoulli TS policy: per action `alpha` and `beta`.
#[derive(Debug, Clone, PartialEq)]
pub struct BetaPrior {
    /// Prior successes + 1 per action (all > 0).
    pub alpha: Vec<f64>,
    /// Prior failures + 1 per action (all > 0).
    pub beta: Vec<f64>,
}

impl BetaPrior {
    /// The flat prior Beta(1, 1) for every action.
    pub fn uniform(n_actions: usize) -> BetaPrior {
        BetaPrior {
            alpha: vec![1.0; n_actions],
            beta: vec![1.0; n_actions],
        }
    }

    /// Reads one campaign of a prior file in the format of OBP's `prior_bts.yaml`.
    pub fn from_yaml_file(path: &Path, campaign: &str) -> Result<BetaPrior, ImportError> {
        let bytes = crate::capped::read_small(path)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            ImportError::io(
                path,
                std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
            )
        })?;
        BetaPrior::parse_yaml(path, &text, campaign)
    }

    /// Parses the prior file's text (`path` labels errors).
    ///
    /// The format is a small YAML subset: top-level campaign keys, each with `alpha:` and `beta:`
    /// holding block lists (`- 47.0`) or flow lists (`[47.0, 8.0]`) of positive numbers.
    pub fn parse_yaml(path: &Path, text: &str, campaign: &str) -> Result<BetaPrior, ImportError> {
        let mut current: Option<String> = None;
        let mut list: Option<&'static str> = None;
        let mut alpha: Option<Vec<f64>> = None;
        let mut beta: Option<Vec<f64>> = None;
        for (n, raw) in text.lines().enumerate() {
            let line_no = n as u64 + 1;
            let line = raw.split('#').next().unwrap_or("");
            if line.trim().is_empty() {
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            let content = line.trim();
            if indent == 0 {
                let Some(key) = content.strip_suffix(':') else {
                    return Err(ImportError::field(
                        path,
                        line_no,
                        "campaign",
                        format!("expected `<campaign>:`, found `{content}`"),
                    ));
                };
                current = Some(key.trim().to_owned());
                list = None;
                continue;
            }
            if current.as_deref() != Some(campaign) {
                continue;
            }
            if let Some(value) = content.strip_prefix('-') {
                let Some(which) = list else {
                    return Err(ImportError::field(
                        path,
                        line_no,
                        "list",
                        "a list item outside `alpha:` or `beta:`",
                    ));
                };
                let number = parse_positive(path, line_no, which, value.trim())?;
                let target = if which == "alpha" {
                    &mut alpha
                } else {
                    &mut beta
                };
                target.get_or_insert_with(Vec::new).push(number);
                continue;
            }
            let Some((key, rest)) = content.split_once(':') else {
                return Err(ImportError::field(
                    path,
                    line_no,
                    "key",
                    format!("expected `alpha:` or `beta:`, found `{content}`"),
                ));
            };
            let which = match key.trim() {
                "alpha" => "alpha",
                "beta" => "beta",
                other => {
                    return Err(ImportError::field(
                        path,
                        line_no,
                        other,
                        "expected `alpha` or `beta`",
                    ));
                }
            };
            list = Some(which);
            let target = if which == "alpha" {
                &mut alpha
            } else {
                &mut beta
            };
            *target = Some(Vec::new());
            let rest = rest.trim();
            if let Some(inner) = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                let values = target.get_or_insert_with(Vec::new);
                for item in inner.split(',').filter(|s| !s.trim().is_empty()) {
                    values.push(parse_positive(path, line_no, which, item.trim())?);
                }
                list = None;
            } else if !rest.is_empty() {
                return Err(ImportError::field(
                    path,
                    line_no,
                    which,
                    format!("expected a list, found `{rest}`"),
                ));
            }
        }
        let (Some(alpha), Some(beta)) = (alpha, beta) else {
            return Err(ImportError::field(
                path,
                0,
                campaign,
                format!("campaign `{campaign}` with both `alpha` and `beta` lists not found"),
            ));
        };
        if alpha.len() != beta.len() || alpha.is_empty() {
            return Err(ImportError::field(
                path,
                0,
                campaign,
                format!(
                    "`alpha` has {} values and `beta` {}; expected one each per action",
                    alpha.len(),
                    beta.len()
                ),
            ));
        }
        Ok(BetaPrior { alpha, beta })
    }
}

fn parse_positive(path: &Path, line: u64, field: &str, text: &str) -> Result<f64, ImportError> {
    match text.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(ImportError::field(
            path,
            line,
            field,
            format!("expected a positive number, found `{text}`"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prior_yaml_block_and_flow_lists() {
        let text = "all:\n  alpha:\n    - 47.0\n    - 8.0\n  beta:\n    - 100.0\n    - 200\nmen:\n  alpha: [1, 2]\n  beta: [3, 4]\n";
        let p = BetaPrior::parse_yaml(Path::new("prior.yaml"), text, "all").unwrap();
        assert_eq!(p.alpha, vec![47.0, 8.0]);
        assert_eq!(p.beta, vec![100.0, 200.0]);
        let p = BetaPrior::parse_yaml(Path::new("prior.yaml"), text, "men").unwrap();
        assert_eq!(p.beta, vec![3.0, 4.0]);
        let err = BetaPrior::parse_yaml(Path::new("prior.yaml"), text, "kids").unwrap_err();
        assert!(err.to_string().contains("campaign `kids`"), "{err}");
        let bad = "all:\n  alpha:\n    - -1\n  beta:\n    - 1\n";
        let err = BetaPrior::parse_yaml(Path::new("p.yaml"), bad, "all").unwrap_err();
        assert_eq!(
            err.to_string(),
            "p.yaml:3: field `alpha`: expected a positive number, found `-1`"
        );
    }
}
