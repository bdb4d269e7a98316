//! Input a careless or hostile user gives: impossible plans, sequences past the position table,
//! contradictory flags, unbounded files, text that would break the one-line error. Each class
//! is refused at its root with one line that says what is wrong and what to do; none yields a
//! confident number.

use std::io::Write as _;

mod common;

use common::{fails_with as fails, json, ok};
use serde_json::Value;

fn kv_cache(args: &[&str]) -> u64 {
    let mut all = vec!["estimate", "--json", "--mode", "infer", "--generate", "0"];
    all.extend_from_slice(args);
    json(&all)["parts"]["kv_cache"]
        .as_u64()
        .expect("kv_cache bytes")
}

#[test]
fn parallel_degrees_divide_what_they_split() {
    // Llama-2-7B: 32 heads, 32 KV heads, 32 layers (its config.json)
    fails(
        &["estimate", "--preset", "llama-2-7b", "--tp", "3"],
        &[
            "must divide the attention heads",
            "tensor parallel 3, 32 heads",
            "use 1, 2, 4, 8, 16 or 32",
        ],
    );
    fails(
        &["estimate", "--preset", "llama-2-7b", "--tp", "1000"],
        &["tensor parallel 1000, 32 heads"],
    );
    fails(
        &[
            "estimate",
            "--preset",
            "llama-2-7b",
            "--mode",
            "infer",
            "--tp",
            "7",
        ],
        &["tensor parallel 7, 32 heads"],
    );
    fails(
        &["estimate", "--preset", "llama-2-7b", "--pp", "33"],
        &[
            "pipeline-parallel degree must divide",
            "pipeline parallel 33, 32 layers",
        ],
    );
    // the plan that "fit" on a T4 at a thousand stages
    fails(
        &[
            "estimate",
            "--preset",
            "llama-2-7b",
            "--pp",
            "1000",
            "--gpu",
            "t4",
        ],
        &["pipeline parallel 1000, 32 layers"],
    );
    // GPT-2: 12 layers
    fails(
        &["estimate", "--preset", "gpt2", "--pp", "5"],
        &["pipeline parallel 5, 12 layers; use 1, 2, 3, 4, 6 or 12"],
    );
    ok(&["estimate", "--preset", "gpt2", "--pp", "4"]);
    // Llama-3-8B has 8 KV heads: Megatron-LM refuses tensor parallelism 16 to train
    // (`num_query_groups must be a multiple of tensor_model_parallel_size`)
    fails(
        &["estimate", "--preset", "llama-3-8b", "--tp", "16"],
        &[
            "key/value heads to train",
            "tensor parallel 16, 8 key/value heads",
        ],
    );
}

#[test]
fn serving_replicates_kv_heads_beyond_the_tensor_parallel_degree() {
    // Llama-3-8B: 2 (K, V) · 8 heads · 128 · 32 layers = 65,536 elements per token, 2 bytes
    // each in bf16: 128 KiB per token, 256 MiB for a 2048-token prompt
    let one = kv_cache(&["--preset", "llama-3-8b"]);
    assert_eq!(one, 256 << 20);
    // tp 8: one KV head per GPU
    assert_eq!(kv_cache(&["--preset", "llama-3-8b", "--tp", "8"]), one / 8);
    // tp 16: vLLM keeps max(1, 8 / 16) = 1 KV head per GPU, replicated: the same as tp 8, not
    // half of it
    assert_eq!(kv_cache(&["--preset", "llama-3-8b", "--tp", "16"]), one / 8);
    // DeepSeek-V3's latent cache is one per token, shared by every head: each GPU keeps it whole
    let latent = kv_cache(&["--preset", "deepseek-v3"]);
    assert_eq!(kv_cache(&["--preset", "deepseek-v3", "--tp", "8"]), latent);
}

#[test]
fn learned_positions_bound_the_sequence() {
    // GPT-2: n_positions 1024; BERT: max_position_embeddings 512
    fails(
        &["estimate", "--preset", "gpt2", "--seq", "2048"],
        &[
            "longer than the model's learned position table",
            "2048 tokens, 1024 positions",
        ],
    );
    fails(
        &["estimate", "--preset", "bert-base-uncased", "--seq", "513"],
        &["513 tokens, 512 positions"],
    );
    fails(
        &[
            "estimate",
            "--preset",
            "gpt2",
            "--mode",
            "infer",
            "--prompt",
            "1000",
            "--generate",
            "100",
        ],
        &["1100 tokens, 1024 positions"],
    );
    // the defaults stay inside the table, and say so
    let train = json(&["estimate", "--preset", "gpt2", "--json"]);
    let assumed = train["assumed"].to_string();
    assert!(
        assumed.contains("seq 1024 (the model's position table)"),
        "{assumed}"
    );
    let serve = json(&["estimate", "--preset", "gpt2", "--mode", "infer", "--json"]);
    let assumed = serve["assumed"].to_string();
    assert!(assumed.contains("prompt 768"), "{assumed}");
    // the longest sequence that fits on 141 GB is the table's end, not 12,105 tokens
    for (preset, table) in [("gpt2", 1024), ("bert-base-uncased", 512)] {
        let r = json(&["estimate", "--preset", preset, "--gpu", "h200", "--json"]);
        assert_eq!(r["max_seq"].as_u64(), Some(table), "{preset}");
    }
    let r = json(&[
        "estimate",
        "--preset",
        "gpt2",
        "--mode",
        "infer",
        "--generate",
        "24",
        "--gpu",
        "h200",
        "--json",
    ]);
    assert_eq!(r["max_seq"].as_u64(), Some(1000));
    let text = ok(&["estimate", "--preset", "gpt2", "--gpu", "h200"]);
    assert!(
        text.contains("1024 tokens (the end of the position table)"),
        "{text}"
    );
}

#[test]
fn the_plot_sweep_stops_at_the_position_table() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().join("gpt2.svg");
    let out = out.to_str().expect("a UTF-8 path");
    let said = ok(&[
        "plot", "--preset", "gpt2", "--sweep", "seq", "--max", "100000", "--out", out,
    ]);
    assert!(
        said.contains("1 to 1024; the position table ends at 1024 tokens"),
        "{said}"
    );
}

#[test]
fn rotary_models_past_their_context_get_a_note() {
    // Llama-2-7B: max_position_embeddings 4096, rotary: nothing bounds the memory
    let r = json(&[
        "estimate",
        "--preset",
        "llama-2-7b",
        "--seq",
        "8192",
        "--json",
    ]);
    let notes = r["notes"].to_string();
    assert!(
        notes.contains("8192 tokens is past the 4096 positions"),
        "{notes}"
    );
    let r = json(&[
        "estimate",
        "--preset",
        "llama-2-7b",
        "--seq",
        "4096",
        "--json",
    ]);
    assert_eq!(r["notes"], serde_json::json!([]));
}

#[test]
fn contradictions_name_both_flags() {
    fails(
        &[
            "estimate",
            "--preset",
            "gpt2",
            "--precision",
            "fp32",
            "--dtype",
            "fp16",
        ],
        &["`--dtype fp16`", "`--precision fp32`"],
    );
    fails(
        &["estimate", "--preset", "gpt2", "--zero", "3"],
        &["`--zero 3`", "`--gpus N`"],
    );
    fails(
        &["estimate", "--preset", "gpt2", "--zero", "2", "--gpus", "1"],
        &["`--zero 2`", "`--gpus 1`"],
    );
    fails(
        &[
            "plot", "--preset", "gpt2", "--sweep", "batch", "--out", "x.png",
        ],
        &["`--out x.png`", ".svg"],
    );
    // the defaults of the parallel plan are named too
    let r = json(&["estimate", "--preset", "gpt2", "--json"]);
    let assumed = r["assumed"].to_string();
    for default in ["gpus 1", "zero 0", "tp 1", "pp 1"] {
        assert!(assumed.contains(default), "{default}: {assumed}");
    }
}

#[test]
fn files_are_read_through_a_limit() {
    if std::path::Path::new("/dev/zero").exists() {
        fails(
            &["estimate", "--config", "/dev/zero"],
            &["larger than 4 MiB", "a config.json"],
        );
        fails(&["validate", "/dev/zero"], &["larger than 64 MiB"]);
    }
    let mut big = tempfile::NamedTempFile::new().expect("a temporary file");
    let padding = " ".repeat(5 << 20);
    write!(big, "{{\"model_type\": \"llama\"{padding}}}").expect("writes");
    let path = big.path().to_str().expect("a UTF-8 path").to_owned();
    fails(&["estimate", "--config", &path], &["larger than 4 MiB"]);
}

#[test]
fn echoed_text_stays_one_short_printable_line() {
    // a 10 MB model_type: the error quotes 40 characters of it
    let mut f = tempfile::NamedTempFile::new().expect("a temporary file");
    let huge = "x".repeat(3 << 20);
    write!(f, "{{\"model_type\": \"{huge}\"}}").expect("writes");
    let err = fails(
        &["estimate", "--config", f.path().to_str().expect("UTF-8")],
        &["unsupported model_type"],
    );
    assert!(err.len() < 2500, "{} bytes", err.len());
    // newlines and terminal escapes in arguments and in files come back escaped
    fails(
        &["estimate", "--preset", "x\ny\u{1b}[31m"],
        &["unknown preset `x\\ny\\u{1b}[31m`"],
    );
    let mut f = tempfile::NamedTempFile::new().expect("a temporary file");
    write!(f, "{{\"model_type\": \"lla\\nma\\u001b[2J\"}}").expect("writes");
    fails(
        &["estimate", "--config", f.path().to_str().expect("UTF-8")],
        &["lla\\nma\\u{1b}[2J"],
    );
    fails(
        &[
            "estimate",
            "--preset",
            "gpt2",
            "--lora-targets",
            "c_attn\n--rm",
        ],
        &["unknown LoRA target"],
    );
}

#[test]
fn validate_names_the_case_and_refuses_wrapping_sums() {
    let write = |v: &Value| {
        let mut f = tempfile::NamedTempFile::new().expect("a temporary file");
        write!(f, "{v}").expect("writes");
        f
    };
    let case = |measured: Value| {
        serde_json::json!({"cases": {"crafted_case": {
            "kind": "training_step",
            "inputs": {
                "config_kwargs": {"model_type": "gpt2", "n_embd": 64, "n_head": 2, "n_layer": 2,
                                  "vocab_size": 128, "n_positions": 64},
                "batch": 2, "seq": 32, "precision": "fp32", "optimizer": "AdamW",
            },
            "measured": measured,
        }}})
    };
    // a case refused is reported under its name, the others still compared, and the run
    // fails (exit 1, as outside the tolerance)
    let refused = |v: &Value, needles: &[&str]| {
        let f = write(v);
        let out = common::estimator()
            .args(["validate", f.path().to_str().expect("UTF-8")])
            .output()
            .expect("runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(out.status.code(), Some(1), "{text}");
        for needle in needles {
            assert!(text.contains(needle), "expected `{needle}` in {text}");
        }
        assert!(text.contains("1 refused"), "{text}");
    };
    // parameter + buffer bytes that wrap u64 to a small number would look like a match
    refused(
        &case(serde_json::json!({
            "parameter_bytes": u64::MAX, "buffer_bytes": 2, "gradient_bytes": 0,
            "optimizer_state_bytes": 0, "memtracker_peak_bytes": 0,
        })),
        &["refused: case `crafted_case`", "past u64 bytes"],
    );
    // an estimate error names the case too: 32 tokens past a 16-position table
    let mut v = case(serde_json::json!({}));
    v["cases"]["crafted_case"]["inputs"]["config_kwargs"]["n_positions"] = 16.into();
    refused(&v, &["case `crafted_case`", "32 tokens, 16 positions"]);
    // a setting validate does not read, an optimizer it does not price, a LoRA with dropout
    let mut v = case(serde_json::json!({}));
    v["cases"]["crafted_case"]["inputs"]["fsdp"] = true.into();
    refused(&v, &["`inputs.fsdp` is a setting validate does not read"]);
    let mut v = case(serde_json::json!({}));
    v["cases"]["crafted_case"]["inputs"]["optimizer"] = "torch.optim.RMSprop(lr=1e-3)".into();
    refused(
        &v,
        &["optimizer `torch.optim.RMSprop(lr=1e-3)` is not one validate reads"],
    );
    v["cases"]["crafted_case"]["inputs"]["optimizer"] = "torch.optim.AdamW(amsgrad=True)".into();
    refused(&v, &["is not one validate reads"]);
    v["cases"]["crafted_case"]["inputs"]
        .as_object_mut()
        .expect("an object")
        .remove("optimizer");
    refused(&v, &["no `optimizer`"]);
    let mut v = case(serde_json::json!({}));
    v["cases"]["crafted_case"]["inputs"]["lora"] =
        serde_json::json!({"r": 8, "dropout": 0.05, "target_modules": ["c_attn"]});
    refused(&v, &["LoRA with dropout"]);
    let f = write(&v);
    fails(
        &[
            "validate",
            f.path().to_str().expect("UTF-8"),
            "--tolerance",
            "-1",
        ],
        &["`--tolerance` must be a non-negative number"],
    );
}

#[test]
fn qwen2_slides_only_from_max_window_layers() {
    // transformers' Qwen2Config: with `use_sliding_window`, layer i slides when
    // i >= max_window_layers (no `layer_types` given). Qwen2.5-7B's shape: 28 layers, 4 KV
    // heads of 128; a 32,768-token prompt in bf16.
    let config = |max_window_layers: u64| {
        let mut f = tempfile::NamedTempFile::new().expect("a temporary file");
        let json = serde_json::json!({
            "model_type": "qwen2", "hidden_size": 3584, "intermediate_size": 18944,
            "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4,
            "vocab_size": 152_064, "max_position_embeddings": 32768,
            "use_sliding_window": true, "sliding_window": 4096,
            "max_window_layers": max_window_layers,
        });
        write!(f, "{json}").expect("writes");
        f
    };
    let per_token_layer = 2 * 4 * 128 * 2; // K and V, 4 heads of 128, 2 bytes
    for (from, full, sliding) in [(28u64, 28u64, 0u64), (14, 14, 14), (0, 0, 28)] {
        let f = config(from);
        let kv = kv_cache(&[
            "--config",
            f.path().to_str().expect("UTF-8"),
            "--prompt",
            "32768",
        ]);
        // a sliding layer keeps window - 1 = 4095 tokens
        assert_eq!(
            kv,
            (full * 32768 + sliding * 4095) * per_token_layer,
            "max_window_layers {from}"
        );
    }
}

#[test]
fn a_byte_order_mark_is_not_an_error() {
    let mut f = tempfile::NamedTempFile::new().expect("a temporary file");
    write!(
        f,
        "\u{feff}{}",
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/gpt2.json"))
            .expect("bundled")
    )
    .expect("writes");
    ok(&["estimate", "--config", f.path().to_str().expect("UTF-8")]);
    let mut m = tempfile::NamedTempFile::new().expect("a temporary file");
    write!(m, "\u{feff}{{\"cases\": {{}}}}").expect("writes");
    fails(
        &["validate", m.path().to_str().expect("UTF-8")],
        &["has no cases"],
    );
}
