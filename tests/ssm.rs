//! State-space models: the per-sequence states that replace the KV cache, and the training
//! activations of the two paths a mixer runs by (`mamba_ssm`'s kernels, transformers' PyTorch
//! reference).

use estimator::config::ModelConfig;
use estimator::prelude::*;
use estimator::{Phase, Precision};

fn config(text: &str) -> ModelConfig {
    ModelConfig::from_json(text).expect("a bundled config reads")
}

/// mamba-130m (configs/mamba-130m.json): 24 layers, inner width 1536, state 16, kernel 4.
/// transformers 5.24's DynamicCache keeps per layer a conv state [b, e, K] in the activation
/// dtype and an SSM state [b, e, N] in fp32 (cache_utils.py, LinearAttentionLayer), whatever
/// the length.
#[test]
fn a_mamba_caches_states_not_tokens() {
    let cost = config(include_str!("../configs/mamba-130m.json")).cost();
    assert_eq!(cost.kv_per_token, 0);
    assert_eq!(cost.conv_state, 24 * 1536 * 4);
    assert_eq!(cost.ssm_state, 24 * 1536 * 16);
    let serve = |prompt: u64| {
        Inference::new(cost, "mamba-130m")
            .batch(8)
            .prompt(prompt)
            .generate(256)
            .at(Phase::Decode)
            .kv_cache
            .get()
    };
    // bf16: 8 · 24 · 1536 · (4 · 2 + 16 · 4) bytes, at 512 tokens as at 32k
    assert_eq!(serve(512), 8 * 24 * 1536 * (4 * 2 + 16 * 4));
    assert_eq!(serve(32_768), serve(512));
}

/// jamba-v0.1 (configs/jamba-v0.1.json): attention in 4 of 32 layers (8 KV heads of 128), a
/// Mamba mixer (inner 8192, state 16, kernel 4) in the other 28.
#[test]
fn a_hybrid_caches_its_attention_layers_and_the_mixers_states() {
    let cost = config(include_str!("../configs/jamba-v0.1.json")).cost();
    assert_eq!(cost.kv_per_token, 4 * 2 * 8 * 128);
    assert_eq!(cost.ssm_state, 28 * 8192 * 16);
    let m = Inference::new(cost, "jamba")
        .prompt(1024)
        .generate(0)
        .at(Phase::Prefill);
    // bf16 K and V of 1024 tokens, and the states
    assert_eq!(
        m.kv_cache.get(),
        1024 * 4 * 2 * 8 * 128 * 2 + 28 * 8192 * (4 * 2 + 16 * 4)
    );
}

/// One Mamba layer's mixer alone (mamba-130m's: d 768, e 1536, N 16, K 4, R 48), fp32, one
/// sequence of 2048 tokens.
#[derive(Params)]
struct Fused {
    mixer: MambaMixer<768, 1536, 16, 4, 48>,
}

#[derive(Params)]
struct Reference {
    mixer: MambaMixer<768, 1536, 16, 4, 48, false>,
}

#[test]
fn the_kernels_keep_no_state_per_token() {
    let (d, e, n, r, t) = (768, 1536, 16, 48, 2048);
    let saved = |m: Training| {
        m.precision(Precision::Fp32)
            .seq(t)
            .at(Phase::Forward)
            .activations
            .get()
    };
    // mamba_ssm 2.3's MambaInnerFn (selective_scan_interface.py, its save_for_backward with
    // checkpoint_lvl 1): xz's contiguous copy 2e, x_dbl R + 2N, copies of B and C, out e — plus
    // in_proj's input d outside it, 4d + 12e + 4R + 16N bytes per token; A and exp(A_log)
    // 8eN; the scan's fp32 intermediates [b, e, ⌈L/2048⌉, 2N]
    assert_eq!(
        saved(Training::of::<Fused>()),
        t * (4 * d + 12 * e + 4 * r + 16 * n) + 8 * e * n + 8 * e * n
    );
    // transformers' slow_forward, measured (tests/fixtures/memory-families.json, mamba):
    // 4d + 40e + 4(R + 2N) + 12eN per token, the conv's K − 1 padded positions and the zero
    // initial state per sample, A twice
    assert_eq!(
        saved(Training::of::<Reference>()),
        t * (4 * d + 40 * e + 4 * (r + 2 * n) + 12 * e * n) + 4 * (e * 3 + e * n) + 8 * e * n
    );
}
