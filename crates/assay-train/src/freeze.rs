//! Layer freezing: which named variables the optimiser may change.

use std::collections::BTreeMap;

use candle_core::Var;
use candle_nn::VarMap;

/// Every variable of `varmap` by name, in name order (a `VarMap` is a hash map; a sorted view
/// keeps the optimiser's and the checkpoint's order independent of hashing).
pub fn sorted_vars(varmap: &VarMap) -> BTreeMap<String, Var> {
    let data = varmap.data().lock().unwrap_or_else(|e| e.into_inner());
    data.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The variables whose name `trainable` accepts, in name order; the rest stay frozen.
pub fn select_vars(
    vars: &BTreeMap<String, Var>,
    trainable: impl Fn(&str) -> bool,
) -> Vec<(String, Var)> {
    vars.iter()
        .filter(|(name, _)| trainable(name))
        .map(|(name, var)| (name.clone(), var.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};
    use candle_nn::Init;

    #[test]
    fn selects_by_name_in_order() {
        let varmap = VarMap::new();
        for name in ["layer.1.w", "embeddings.w", "layer.0.w"] {
            varmap
                .get(2, name, Init::Const(0.0), DType::F32, &Device::Cpu)
                .unwrap();
        }
        let all = sorted_vars(&varmap);
        let names: Vec<&str> = all.keys().map(String::as_str).collect();
        assert_eq!(names, ["embeddings.w", "layer.0.w", "layer.1.w"]);
        let picked = select_vars(&all, |n| n.starts_with("layer."));
        let picked: Vec<&str> = picked.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(picked, ["layer.0.w", "layer.1.w"]);
    }
}
