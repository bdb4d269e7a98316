//! Blocks several test files build their models from (each test file is its own crate and uses
//! some of them).
#![allow(dead_code)]

use estimator::prelude::*;

/// A GPT-2 / BERT-style transformer block: `ln_1`, attention, `ln_2`, a `d → ffn → d` GELU MLP;
/// the seed tutorial's `12d² + 13d` parameters when `FF = 4·D`.
#[derive(Params)]
pub(crate) struct GptBlock<const D: u64, const H: u64, const FF: u64> {
    ln_1: LayerNorm<D>,
    attn: MultiHeadAttention<D, H>,
    ln_2: LayerNorm<D>,
    mlp: FeedForward<D, FF>,
}

/// A Llama-style decoder block: RMSNorm, bias-free (grouped-query) attention with an optional
/// sliding window, RMSNorm, SwiGLU MLP.
#[derive(Params)]
pub(crate) struct LlamaBlock<
    const D: u64,
    const H: u64,
    const KV: u64,
    const FF: u64,
    const WINDOW: u64 = 0,
> {
    input_layernorm: RmsNorm<D>,
    self_attn: MultiHeadAttention<D, H, KV, false, WINDOW>,
    post_attention_layernorm: RmsNorm<D>,
    mlp: GatedFeedForward<D, FF>,
}
