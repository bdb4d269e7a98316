//! Every family of the config importer against PyTorch: each `model_type` in the family table,
//! at its transformers defaults and at realistic variants, counts exactly what PyTorch counts.
//!
//! The counts are PyTorch's own (`tests/fixtures/families.json`, made by
//! `tests/fixtures/gen_families.py`: torch 2.15.0, transformers 5.24.0, models built on the meta
//! device from `AutoConfig.for_model(model_type, **variant)`); each case stores the config
//! exactly as `config.to_dict()` writes it, so this reads what a user's `config.json` holds.

use estimator::config::{ModelConfig, families};
use serde_json::Value;

fn fixtures() -> serde_json::Map<String, Value> {
    let all: Value = serde_json::from_str(include_str!("fixtures/families.json"))
        .expect("families.json is valid JSON");
    all["families"]
        .as_object()
        .expect("families.json has a `families` object")
        .clone()
}

fn count(case: &Value, key: &str) -> u64 {
    case[key]
        .as_u64()
        .unwrap_or_else(|| panic!("families.json: a case has no `{key}`"))
}

#[test]
fn every_family_counts_what_pytorch_counts() {
    let mut failures = Vec::new();
    let mut cases = 0;
    for (family, variants) in fixtures() {
        for (name, case) in variants.as_object().expect("cases are objects") {
            cases += 1;
            let text = case["config"].to_string();
            let config = match ModelConfig::from_json(&text) {
                Ok(c) => c,
                Err(e) => {
                    failures.push(format!("{family} / {name}: refused: {e}"));
                    continue;
                }
            };
            let cost = config.cost();
            let got = (cost.params, cost.tensors, cost.buffers);
            let want = (
                count(case, "total_params"),
                count(case, "param_tensors"),
                count(case, "buffers_numel"),
            );
            if got != want {
                failures.push(format!(
                    "{family} / {name}: (params, tensors, buffers) = {got:?}, PyTorch {want:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn no_family_without_pytorch_counts() {
    let fixtures = fixtures();
    for f in families::ALL {
        let cases = fixtures
            .get(f.name)
            .and_then(Value::as_object)
            .map_or(0, serde_json::Map::len);
        // the defaults and at least two variants, each PyTorch's count
        assert!(
            cases >= 3,
            "family `{}` has {cases} PyTorch cases in tests/fixtures/families.json; add its defaults and two variants to gen_families.py",
            f.name
        );
    }
    for name in fixtures.keys() {
        assert!(
            families::find(name).is_some(),
            "families.json has `{name}`, which the family table does not"
        );
    }
}

#[test]
fn at_least_forty_decoder_families() {
    // the decoder issue's bar: 40 or more causal-LM model types
    let decoders = families::ALL.iter().filter(|f| !f.encoder).count();
    assert!(decoders >= 40, "{decoders} decoder families");
}
