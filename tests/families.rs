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
    let decoders = families::ALL.iter().filter(|f| f.encoder.is_none()).count();
    assert!(decoders >= 40, "{decoders} decoder families");
}

#[test]
fn every_bundled_config_counts_what_pytorch_counts() {
    // tests/fixtures/config-params.json: PyTorch's counts of every configs/*.json, made by
    // gen_config_params.py (meta device, torch 2.15.0, transformers 5.24.0)
    let reference: Value = serde_json::from_str(include_str!("fixtures/config-params.json"))
        .expect("config-params.json is valid JSON");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("configs/ is readable") {
        let path = entry.expect("a directory entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let want = &reference["configs"][&name];
        assert!(
            want.is_object(),
            "configs/{name} has no PyTorch count; run gen_config_params.py"
        );
        let text = std::fs::read_to_string(&path).expect("a readable config");
        let cost = ModelConfig::from_json(&text)
            .unwrap_or_else(|e| panic!("configs/{name}: {e}"))
            .cost();
        assert_eq!(
            (cost.params, cost.tensors, cost.buffers),
            (
                count(want, "total_params"),
                count(want, "param_tensors"),
                count(want, "buffers_numel")
            ),
            "configs/{name}: (params, tensors, buffers)"
        );
        seen += 1;
    }
    assert!(seen >= 50, "{seen} bundled configs");
}

/// Every key a description reads, in order, each once.
fn keys_read(f: &families::Family) -> Vec<&'static str> {
    use families::{DenseRule, Dim, Flag, SharedRule};
    let mut keys: Vec<&'static str> = Vec::new();
    let dim = |d: Dim| match d {
        Dim::Key(k) | Dim::Or(k, _) | Dim::TimesHidden(k, _) => k.to_vec(),
    };
    let flag = |x: Flag| match x {
        Flag::Fixed(_) => vec![],
        Flag::Key(k, _) => vec![k],
        Flag::Keys(k, _) => k.to_vec(),
    };
    keys.extend(f.vocab);
    keys.extend(f.hidden);
    keys.extend(dim(f.intermediate));
    keys.extend(f.layers);
    keys.extend(f.heads);
    keys.extend(f.kv_heads);
    keys.extend(f.multi_query.map(|(k, _)| k));
    if let Some(k) = f.new_decoder_key {
        keys.extend([k, "num_ln_in_parallel_attn"]);
    }
    if f.head_dim_key {
        keys.push("head_dim");
    }
    keys.extend(dim(f.max_positions));
    keys.extend(f.norm_bias_key.map(|(k, _)| k));
    if let families::PositionRule::Rotary { .. } = f.positions {
        keys.push("partial_rotary_factor");
    }
    if let families::PositionRule::RotaryTable = f.positions {
        keys.push("rotary_dim");
    }
    keys.extend(f.parallel.map(|(k, _, _)| k));
    keys.extend(flag(f.qkv_bias));
    keys.extend(flag(f.o_bias));
    keys.extend(f.qk_norm_key.map(|(k, _)| k));
    keys.extend(f.softcap_key);
    if f.mla {
        keys.extend([
            "q_lora_rank",
            "kv_lora_rank",
            "qk_nope_head_dim",
            "qk_rope_head_dim",
            "v_head_dim",
        ]);
    }
    keys.extend(flag(f.mlp_bias));
    keys.extend(f.act_keys);
    if let Some(m) = f.moe {
        keys.extend(m.experts);
        keys.extend(m.top_k);
        keys.extend(dim(m.width));
        match m.shared {
            SharedRule::None => {}
            SharedRule::Count(k) | SharedRule::Width(k) => keys.push(k),
        }
        match m.dense {
            DenseRule::None => {}
            DenseRule::First(k) => keys.push(k),
            DenseRule::SparseStep => keys.extend(["decoder_sparse_step", "mlp_only_layers"]),
            DenseRule::Period => keys.extend(["expert_layer_period", "expert_layer_offset"]),
        }
    }
    keys.extend(sliding_keys(f.sliding));
    keys.extend(flag(f.tie));
    keys.extend(flag(f.head_bias));
    keys.extend(layout_keys(f));
    keys.extend(f.dropout_keys);
    keys.extend(f.refuse.iter().map(|r| match *r {
        families::Refuse::True(k)
        | families::Refuse::Present(k)
        | families::Refuse::NotHidden(k) => k,
    }));
    keys.push("architectures");
    let mut seen = std::collections::HashSet::new();
    keys.retain(|k| seen.insert(*k));
    keys
}

/// The keys an encoder's, an encoder–decoder's or a vision tower's own description reads.
fn layout_keys(f: &families::Family) -> Vec<&'static str> {
    let mut keys = Vec::new();
    if let Some(e) = f.encoder {
        if e.token_types {
            keys.push("type_vocab_size");
        }
        keys.extend(e.embedding_size);
        if e.pad_offset {
            keys.push("pad_token_id");
        }
        keys.extend(e.pre_norm.map(|(k, _)| k));
        if e.deberta {
            keys.extend(families::DEBERTA_KEYS);
        }
    }
    match f.ssm {
        None => {}
        Some(families::SsmRule::Mamba) => keys.extend([
            "state_size",
            "conv_kernel",
            "expand",
            "time_step_rank",
            "use_bias",
            "use_conv_bias",
        ]),
        Some(families::SsmRule::Mamba2) => keys.extend([
            "num_heads",
            "head_dim",
            "n_groups",
            "state_size",
            "conv_kernel",
            "expand",
            "chunk_size",
            "use_bias",
            "use_conv_bias",
        ]),
        Some(families::SsmRule::Jamba) => keys.extend([
            "mamba_d_state",
            "mamba_d_conv",
            "mamba_expand",
            "mamba_dt_rank",
            "mamba_proj_bias",
            "mamba_conv_bias",
            "attn_layer_period",
            "attn_layer_offset",
        ]),
        Some(families::SsmRule::Bamba) => keys.extend([
            "mamba_n_heads",
            "mamba_d_head",
            "mamba_n_groups",
            "mamba_d_state",
            "mamba_d_conv",
            "mamba_expand",
            "mamba_chunk_size",
            "mamba_proj_bias",
            "mamba_conv_bias",
            "attn_layer_indices",
        ]),
    }
    if let Some(v) = f.vision {
        keys.extend(["image_size", "patch_size", "num_channels"]);
        keys.push(if v.clip {
            "projection_dim"
        } else {
            "pooler_output_size"
        });
    }
    if let Some(r) = f.seq2seq {
        keys.extend(r.encoder_layers);
        keys.extend(r.encoder_heads);
        keys.extend(r.encoder_ffn);
        keys.extend(r.head_dim_key);
        keys.extend(r.relative.map(|(k, _, _)| k));
        keys.extend(r.source_rows.map(|(k, _)| k));
        keys.extend(r.mel_bins.map(|(k, _)| k));
        keys.extend(r.ffn_proj);
        keys.extend(r.shared_key);
    }
    keys
}

/// The keys a sliding-window rule reads.
fn sliding_keys(rule: families::SlidingRule) -> Vec<&'static str> {
    use families::SlidingRule;
    match rule {
        SlidingRule::None => vec![],
        SlidingRule::All { gate, .. } => {
            let mut keys = vec!["sliding_window"];
            keys.extend(gate);
            keys
        }
        SlidingRule::EveryNth { keys: k, .. } | SlidingRule::FirstOfN { keys: k, .. } => {
            let mut keys = vec!["layer_types", "sliding_window"];
            keys.extend(k);
            keys
        }
        SlidingRule::FromMaxWindowLayers => vec![
            "layer_types",
            "use_sliding_window",
            "sliding_window",
            "max_window_layers",
        ],
    }
}

#[test]
fn the_reference_lists_every_family_with_its_keys() {
    use std::fmt::Write as _;
    let mut table = String::new();
    for f in families::ALL {
        let keys: Vec<String> = keys_read(f).iter().map(|k| format!("`{k}`")).collect();
        let _ = writeln!(
            table,
            "| `{}` | {} | {} |",
            f.name,
            f.about,
            keys.join(", ")
        );
    }
    let doc = include_str!("../docs/reference.md");
    assert!(
        doc.contains(&table),
        "docs/reference.md must hold the family table as generated; replace it with:\n{table}"
    );
}

#[test]
fn every_lora_module_name_adapts_something() {
    // a module name the architecture does not have must not be accepted as a silent no-op:
    // each name a family lists, where LoRA is supported, puts trainable adapters somewhere
    use estimator::config::Lora;
    let fixtures = fixtures();
    for f in families::ALL {
        let case = &fixtures[f.name]["default"];
        let config = ModelConfig::from_json(&case["config"].to_string())
            .unwrap_or_else(|e| panic!("{}: {e}", f.name));
        for (name, targets) in f.lora {
            if !config.supports_lora(*targets) {
                continue;
            }
            let lora = Lora {
                rank: 8,
                targets: *targets,
            };
            let trainable = config.architecture(Some(lora)).cost().trainable;
            assert!(trainable > 0, "{}: LoRA on `{name}` adapts nothing", f.name);
        }
    }
}

#[test]
fn a_huge_size_is_refused_as_it_is_read() {
    // gemma2 builds a per-layer list from `num_hidden_layers`: 10^15 layers must be an error
    // naming the key, not an allocation of 10^15 entries
    let text = r#"{"model_type": "gemma2", "vocab_size": 1000, "hidden_size": 256,
        "intermediate_size": 512, "num_attention_heads": 4, "num_hidden_layers": 1000000000000000}"#;
    let err = ModelConfig::from_json(text)
        .expect_err("absurd")
        .to_string();
    assert_eq!(
        err,
        "`num_hidden_layers` = 1000000000000000 is beyond any real model (the limit is 16777216); check the value"
    );
}
