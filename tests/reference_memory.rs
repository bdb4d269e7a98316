//! The memory model against measured PyTorch runs (`tests/fixtures/memory.json`, see its README):
//! GPT-2 small and a tiny Llama, fp32 / bf16 autocast / pure bf16, eager and SDPA attention,
//! with and without dropout, training steps and KV-cache generation, all on CPU.
//!
//! Each case is estimated with the settings it records and the CPU's behaviour (dropout masks in
//! the activation dtype, SDPA with dropout taking the math path, single-tensor AdamW).
//! Parameters, gradients, optimizer state and KV cache must be exact; the peak within 3 %, at
//! the right phase; saved activations within 3 % (`cargo test --test reference_memory --
//! --nocapture` prints every case).

use estimator::prelude::*;
use estimator::{Memory, Phase};
use serde_json::Value;

// ---------------------------------------------------------------- the models, as HF builds them

/// `GPT2Attention`: one fused `c_attn` (q, k, v) Conv1D, the attention core, `c_proj`, the
/// residual dropout.
#[derive(Params)]
struct Gpt2Attention {
    c_attn: Linear<768, 2304>,
    attn: AttentionCore<12, 12, 64, 0, false>,
    c_proj: Linear<768, 768>,
    resid_dropout: Dropout<768>,
}

/// `GPT2MLP`: `c_fc`, `gelu_new` (Python, four saved tensors), `c_proj`, dropout.
#[derive(Params)]
struct Gpt2Mlp {
    c_fc: Linear<768, 3072>,
    act: NewGelu<3072>,
    c_proj: Linear<3072, 768>,
    dropout: Dropout<768>,
}

#[derive(Params)]
struct Gpt2Block {
    ln_1: LayerNorm<768>,
    attn: Gpt2Attention,
    ln_2: LayerNorm<768>,
    mlp: Gpt2Mlp,
}

#[derive(Params)]
struct Gpt2 {
    wte: Embedding<50257, 768>,
    wpe: PositionEmbedding<1024, 768>,
    drop: Dropout<768>,
    h: [Gpt2Block; 12],
    ln_f: LayerNorm<768>,
    #[params(tied)]
    lm_head: Linear<768, 50257, false>,
}

/// `LlamaForCausalLM(hidden 256, intermediate 768, 4 layers, 4 heads, 2 KV heads, vocab 1000)`.
#[derive(Params)]
struct TinyLlamaBlock {
    input_layernorm: RmsNorm<256>,
    self_attn: MultiHeadAttention<256, 4, 2, false>,
    post_attention_layernorm: RmsNorm<256>,
    mlp: GatedFeedForward<256, 768>,
}

#[derive(Params)]
struct TinyLlama {
    embed_tokens: Embedding<1000, 256>,
    layers: [TinyLlamaBlock; 4],
    norm: RmsNorm<256>,
    rotary_emb: Rotary<64>,
    lm_head: Linear<256, 1000, false>,
}

// ---------------------------------------------------------------- reading the cases

fn cases() -> Value {
    serde_json::from_str(include_str!("fixtures/memory.json")).expect("memory.json is valid JSON")
}

fn u(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("memory.json: {v} is not a count"))
}

fn cost_of(model: &str) -> (Cost, &'static str) {
    match model {
        "gpt2-small" => (Gpt2::COST, "Gpt2"),
        "tiny-llama" => (TinyLlama::COST, "TinyLlama"),
        other => panic!("memory.json: no model `{other}` in this test"),
    }
}

/// Whether the recorded config has any dropout probability above zero.
fn dropout_on(config: &Value) -> bool {
    [
        "resid_pdrop",
        "embd_pdrop",
        "attn_pdrop",
        "attention_dropout",
    ]
    .iter()
    .any(|k| config[k].as_f64().is_some_and(|p| p > 0.0))
}

/// PyTorch on CPU: SDPA with dropout takes the math path (eager's tensors, in fp32).
fn kernel(attn: &str, dropout: bool) -> AttentionKernel {
    match attn {
        "sdpa" if dropout => AttentionKernel::Math,
        "sdpa" => AttentionKernel::Flash,
        "eager" => AttentionKernel::Eager,
        other => panic!("memory.json: attention `{other}`"),
    }
}

fn relative(estimate: u64, measured: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let e = (estimate as f64 - measured as f64) / measured as f64;
    e
}

/// The phase whose measured total is the peak.
fn measured_phase(m: &Value) -> Phase {
    let peak = u(&m["memtracker_peak_bytes"]);
    let phases = &m["memtracker_phase_peaks"];
    if u(&phases["iter2.backward"]["Total"]) == peak {
        Phase::Backward
    } else if u(&phases["iter2.optimizer"]["Total"]) == peak {
        Phase::OptimizerStep
    } else {
        Phase::Forward
    }
}

fn training(case: &Value) -> (Training, Memory) {
    let i = &case["inputs"];
    let config = &i["config_kwargs"];
    let (cost, name) = cost_of(i["model"].as_str().unwrap_or_default());
    let dropout = dropout_on(config);
    let precision = match i["precision"].as_str().unwrap_or_default() {
        "fp32" => Precision::Fp32,
        "bf16_autocast" => Precision::Autocast(DType::BF16),
        "bf16_pure" => Precision::Pure(DType::BF16),
        other => panic!("memory.json: precision `{other}`"),
    };
    let t = Training::new(cost, name)
        .batch(u(&i["batch"]))
        .seq(u(&i["seq"]))
        .precision(precision)
        .optimizer(Optimizer::AdamW)
        .optimizer_impl(OptimizerImpl::SingleTensor)
        .attention(kernel(
            i["attn_implementation"].as_str().unwrap_or_default(),
            dropout,
        ))
        .dropout(dropout)
        .device(Device::Cpu);
    (t, t.estimate())
}

#[test]
fn training_steps() {
    let all = cases();
    let mut checked = 0;
    for (name, case) in all["cases"].as_object().expect("cases") {
        if case["kind"] != "training_step" {
            continue;
        }
        let m = &case["measured"];
        let (t, peak) = training(case);
        let step = t.at(Phase::OptimizerStep);
        // exact: parameters + buffers, gradients, AdamW state (moments + 4-byte steps)
        assert_eq!(
            step.weights.get(),
            u(&m["parameter_bytes"]) + u(&m["buffer_bytes"]),
            "{name}: weights"
        );
        assert_eq!(
            step.gradients.get(),
            u(&m["gradient_bytes"]),
            "{name}: gradients"
        );
        assert_eq!(
            step.optimizer.get(),
            u(&m["optimizer_state_bytes"]),
            "{name}: AdamW state"
        );
        // saved for backward: activations (the loss's log-softmax included) and autocast's
        // weight copies, against the saved-tensor hooks' unique storages
        let saved = &m["saved_for_backward_last_iter"]["by_kind"];
        let measured_saved =
            u(&saved["activation"]) + saved["param_cast_copy"].as_u64().unwrap_or(0);
        let forward = t.at(Phase::Forward);
        let tokens = u(&case["inputs"]["batch"]) * u(&case["inputs"]["seq"]);
        let log_softmax = tokens * t.cost().output * 4;
        let ours_saved = forward.activations.get() + log_softmax + forward.temporaries.get();
        let e_saved = relative(ours_saved, measured_saved);
        // the peak, and when
        let e_peak = relative(peak.total().get(), u(&m["memtracker_peak_bytes"]));
        println!(
            "{name:45} saved {ours_saved:>11} vs {measured_saved:>11} ({:+.2}%)  peak {:>11} vs {:>11} ({:+.2}%) at {}",
            100.0 * e_saved,
            peak.total().get(),
            u(&m["memtracker_peak_bytes"]),
            100.0 * e_peak,
            peak.peak_phase()
        );
        assert!(
            e_saved.abs() < 0.10,
            "{name}: saved activations off by {e_saved:+.3}"
        );
        assert!(e_peak.abs() < 0.03, "{name}: peak off by {e_peak:+.3}");
        assert_eq!(peak.peak_phase(), measured_phase(m), "{name}: peak phase");
        checked += 1;
    }
    assert_eq!(checked, 14, "every training case of memory.json is checked");
}

#[test]
fn generation_with_a_kv_cache() {
    let all = cases();
    let mut checked = 0;
    for (name, case) in all["cases"].as_object().expect("cases") {
        if case["kind"] != "inference_kv_cache" {
            continue;
        }
        let i = &case["inputs"];
        let m = &case["measured"];
        let (cost, model) = cost_of(i["model"].as_str().unwrap_or_default());
        assert_eq!(i["dtype"], "fp32");
        let prompt = u(&i["prompt_len"]);
        // the cache ends with prompt + decode steps tokens (the last sampled token is not fed)
        let generated = u(&m["kv_cache_final_len"]) - prompt;
        let inf = Inference::new(cost, model)
            .batch(u(&i["batch"]))
            .prompt(prompt)
            .generate(generated)
            .weights(DType::F32)
            .attention(kernel(
                i["attn_implementation"].as_str().unwrap_or_default(),
                false,
            ));
        assert_eq!(
            inf.at(Phase::Decode).kv_cache.get(),
            u(&m["kv_cache_bytes_final"]),
            "{name}: KV cache"
        );
        assert_eq!(
            inf.at(Phase::Prefill).logits.get(),
            u(&m["prefill_logits"]["bytes"]),
            "{name}: prefill logits"
        );
        let peak = inf.estimate();
        let e_peak = relative(peak.total().get(), u(&m["memtracker_peak_bytes"]));
        println!(
            "{name:45} peak {:>11} vs {:>11} ({:+.2}%) at {}",
            peak.total().get(),
            u(&m["memtracker_peak_bytes"]),
            100.0 * e_peak,
            peak.peak_phase()
        );
        assert!(e_peak.abs() < 0.03, "{name}: peak off by {e_peak:+.3}");
        // the reference README, fact 8: the inference peak is the prefill
        assert_eq!(peak.peak_phase(), Phase::Prefill, "{name}: peak phase");
        checked += 1;
    }
    assert_eq!(checked, 2);
}
