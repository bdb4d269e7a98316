//! Current families written by hand as Rust types, from the same building blocks the config
//! importer uses (per-head q/k norms, latent attention, stacked experts with shared experts,
//! attention sinks, a sliding/global layer pattern), each equal to PyTorch's count in
//! `tests/fixtures/families.json` (`gen_families.py`: torch 2.15.0, transformers 5.24.0, meta
//! device) and to what `ModelConfig::cost()` reads from the same config.

use estimator::config::ModelConfig;
use estimator::prelude::*;

/// PyTorch's (params, tensors, buffers) for a case of families.json, and the config importer's
/// cost of the same config.
fn reference(family: &str, case: &str) -> ((u64, u64, u64), Cost) {
    let all: serde_json::Value = serde_json::from_str(include_str!("fixtures/families.json"))
        .expect("families.json is valid JSON");
    let c = &all["families"][family][case];
    let n = |k: &str| {
        c[k].as_u64()
            .unwrap_or_else(|| panic!("families.json: {family} / {case}: no `{k}`"))
    };
    let config = ModelConfig::from_json(&c["config"].to_string()).expect("the config reads");
    (
        (n("total_params"), n("param_tensors"), n("buffers_numel")),
        config.cost(),
    )
}

fn counts(c: Cost) -> (u64, u64, u64) {
    (c.params, c.tensors, c.buffers)
}

// ---------------------------------------------------------------- Qwen3-8B: per-head q/k norms

#[derive(Params)]
struct Qwen3Attention {
    q_proj: Linear<4096, 4096, false>,
    #[params(shares_input)]
    k_proj: Linear<4096, 1024, false>,
    #[params(shares_input)]
    v_proj: Linear<4096, 1024, false>,
    q_norm: HeadRmsNorm<128, 32>,
    k_norm: HeadRmsNorm<128, 8>,
    attn: AttentionCore<32, 8, 128>,
    o_proj: Linear<4096, 4096, false>,
}

#[derive(Params)]
struct Qwen3Block {
    input_layernorm: RmsNorm<4096>,
    self_attn: Qwen3Attention,
    post_attention_layernorm: RmsNorm<4096>,
    mlp: GatedFeedForward<4096, 12288>,
}

#[derive(Params)]
struct Qwen3_8B {
    embed_tokens: Embedding<151_936, 4096>,
    layers: [Qwen3Block; 36],
    norm: RmsNorm<4096>,
    rotary_emb: Rotary<128>,
    lm_head: Linear<4096, 151_936, false>,
}

#[test]
fn qwen3_8b_by_hand() {
    let (pytorch, read) = reference("qwen3", "qwen3-8b");
    assert_eq!(counts(Qwen3_8B::COST), pytorch);
    // the PyTorch account is the recipe's; the textbook one differs by what bare Linears cannot
    // say (Korthikanti et al.'s output-dropout mask, 1 byte per feature in 36 layers of 4096, and
    // which projection is column-parallel)
    let pytorch_account = |a: estimator::Activations| estimator::Activations {
        textbook_per_token: 0,
        textbook_replicated_per_token: 0,
        ..a
    };
    assert_eq!(
        pytorch_account(Qwen3_8B::COST.act),
        pytorch_account(read.act)
    );
    assert_eq!(
        Qwen3_8B::COST.act.textbook_per_token + 36 * 4096,
        read.act.textbook_per_token
    );
    assert_eq!(Qwen3_8B::COST.kv_per_token, read.kv_per_token);
}

// ------------------------------------- Gemma-3-12B: sandwich norms, 40 sliding : 8 global layers

#[derive(Params)]
struct Gemma3Attention<const WINDOW: u64> {
    q_proj: Linear<3840, 4096, false>,
    #[params(shares_input)]
    k_proj: Linear<3840, 2048, false>,
    #[params(shares_input)]
    v_proj: Linear<3840, 2048, false>,
    q_norm: HeadRmsNorm<256, 16>,
    k_norm: HeadRmsNorm<256, 8>,
    attn: AttentionCore<16, 8, 256, WINDOW>,
    o_proj: Linear<4096, 3840, false>,
}

#[derive(Params)]
struct Gemma3Block<const WINDOW: u64> {
    input_layernorm: RmsNorm<3840>,
    self_attn: Gemma3Attention<WINDOW>,
    post_attention_layernorm: RmsNorm<3840>,
    pre_feedforward_layernorm: RmsNorm<3840>,
    mlp: GatedFeedForward<3840, 15360>,
    post_feedforward_layernorm: RmsNorm<3840>,
}

#[derive(Params)]
struct Gemma3_12B {
    embed_tokens: Embedding<262_208, 3840>,
    /// `sqrt(hidden_size)`, an fp32 buffer
    normalizer: Buffer<1, 4>,
    // layer_types: every sixth layer global (transformers' `_sliding_window_pattern` 6)
    sliding_layers: [Gemma3Block<4096>; 40],
    layers: [Gemma3Block<0>; 8],
    norm: RmsNorm<3840>,
    /// one table per layer type
    rotary_emb: [Rotary<256>; 2],
    #[params(tied)]
    lm_head: Linear<3840, 262_208, false>,
}

#[test]
fn gemma_3_12b_by_hand() {
    let (pytorch, read) = reference("gemma3_text", "gemma-3-12b");
    assert_eq!(counts(Gemma3_12B::COST), pytorch);
    // 8 global layers cache every token, 40 sliding ones at most 4096
    assert_eq!(Gemma3_12B::COST.kv_per_token, read.kv_per_token);
    assert_eq!(
        Gemma3_12B::COST.kv_window_per_token,
        read.kv_window_per_token
    );
    assert_eq!(Gemma3_12B::COST.window, 4096);
}

// ------------------- DeepSeek-V3 (671B): latent attention, 256 routed + 1 shared expert, 3 dense

#[derive(Params)]
struct DeepSeekV3Moe {
    experts: StackedMoe<7168, 256, 8, 2048>,
    /// `e_score_correction_bias`, an fp32 buffer per expert
    e_score_correction_bias: Buffer<256, 4>,
    #[params(shares_input)]
    shared_experts: GatedFeedForward<7168, 2048>,
}

#[derive(Params)]
struct DeepSeekV3Dense {
    input_layernorm: RmsNorm<7168>,
    self_attn: LatentAttention<7168, 128, 1536, 512, 128, 64, 128>,
    post_attention_layernorm: RmsNorm<7168>,
    mlp: GatedFeedForward<7168, 18432>,
}

#[derive(Params)]
struct DeepSeekV3Sparse {
    input_layernorm: RmsNorm<7168>,
    self_attn: LatentAttention<7168, 128, 1536, 512, 128, 64, 128>,
    post_attention_layernorm: RmsNorm<7168>,
    mlp: DeepSeekV3Moe,
}

#[derive(Params)]
struct DeepSeekV3 {
    embed_tokens: Embedding<129_280, 7168>,
    // first_k_dense_replace = 3
    layers: [DeepSeekV3Dense; 3],
    moe_layers: [DeepSeekV3Sparse; 58],
    norm: RmsNorm<7168>,
    rotary_emb: Rotary<64>,
    lm_head: Linear<7168, 129_280, false>,
}

#[test]
fn deepseek_v3_by_hand() {
    let (pytorch, read) = reference("deepseek_v3", "default");
    assert_eq!(counts(DeepSeekV3::COST), pytorch);
    // DeepSeek's published total, 671B (the multi-token-prediction module aside)
    assert_eq!(DeepSeekV3::PARAMS / 1_000_000_000, 671);
    // the cache holds the latent, 576 per token and layer, in all 61 layers
    assert_eq!(DeepSeekV3::COST.kv_per_token, 61 * 576);
    assert_eq!(DeepSeekV3::COST.kv_per_token, read.kv_per_token);
    assert_eq!(DeepSeekV3::COST.active, read.active);
}

// ------------ gpt-oss-20b: attention sinks, biased stacked experts, alternating 128-token window

#[derive(Params)]
struct GptOssAttention<const WINDOW: u64> {
    q_proj: Linear<2880, 4096, true>,
    #[params(shares_input)]
    k_proj: Linear<2880, 512, true>,
    #[params(shares_input)]
    v_proj: Linear<2880, 512, true>,
    /// one learned sink logit per head
    sinks: Parameter<64>,
    attn: AttentionCore<64, 8, 64, WINDOW>,
    o_proj: Linear<4096, 2880, true>,
}

#[derive(Params)]
struct GptOssMlp {
    experts: StackedMoe<2880, 32, 4, 2880, true>,
    router_bias: Parameter<32>,
}

#[derive(Params)]
struct GptOssBlock<const WINDOW: u64> {
    input_layernorm: RmsNorm<2880>,
    self_attn: GptOssAttention<WINDOW>,
    post_attention_layernorm: RmsNorm<2880>,
    mlp: GptOssMlp,
}

#[derive(Params)]
struct GptOss20B {
    embed_tokens: Embedding<201_088, 2880>,
    sliding_layers: [GptOssBlock<128>; 12],
    layers: [GptOssBlock<0>; 12],
    norm: RmsNorm<2880>,
    rotary_emb: Rotary<64>,
    lm_head: Linear<2880, 201_088, false>,
}

#[test]
fn gpt_oss_20b_by_hand() {
    let (pytorch, read) = reference("gpt_oss", "gpt-oss-20b");
    assert_eq!(counts(GptOss20B::COST), pytorch);
    assert_eq!(GptOss20B::COST.kv_per_token, read.kv_per_token);
    assert_eq!(
        GptOss20B::COST.kv_window_per_token,
        read.kv_window_per_token
    );
    // OpenAI's model card: 21B parameters, 3.6B active per token (it counts the unembedding but
    // not the embedding table, of which a token reads one row; `active` counts both)
    assert_eq!((GptOss20B::PARAMS + 500_000_000) / 1_000_000_000, 21);
    let embedding = <Embedding<201_088, 2880>>::PARAMS;
    assert_eq!(
        (GptOss20B::COST.active - embedding + 50_000_000) / 100_000_000,
        36
    );
}
