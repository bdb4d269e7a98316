//! Attention: `MultiHeadAttention`, its parameter-free core `AttentionCore`, and the rotary
//! embedding's buffers `Rotary`.

use crate::cost::{Activations, Cost};
use crate::cost_helpers::{dim_add, dim_mul, textbook_elems};
use crate::layers::linear::linear;
use crate::layers::norm::rms_norm;
use crate::params::Params;

/// The cost of [`AttentionCore`] as a value: `softmax(Q·Kᵀ/√d)·V` over `h` query heads and
/// `kv` key/value heads of width `head_dim`, keys and values cached for at most `window` tokens
/// (0: no window).
///
/// Saved for backward, per token: the query (`h·head_dim`), key and value (`kv·head_dim` each)
/// — both kernels keep them. Eager attention also keeps the softmax output (`s × s` per head,
/// [`Activations::score_heads`]), with dropout on its mask and output
/// ([`Activations::score_dropout_heads`]), and for grouped-query attention the keys and values
/// repeated to every head ([`Activations::eager_per_token`]). A flash kernel keeps an fp32
/// log-sum-exp per head and token instead, and its output, which is the storage the output
/// projection keeps as its input (flash writes `[b, s, h, d]`, so the transpose back is free).
///
/// KV cache: `2·kv·head_dim` elements per cached token.
///
/// Textbook (Korthikanti et al.): `Q`, `K`, `V` at 2 bytes each per element, and `5·h` bytes
/// per token·position (softmax output 2, dropout mask 1, dropout output 2).
#[must_use]
pub const fn attention_core(h: u64, kv: u64, head_dim: u64, window: u64) -> Cost {
    attention_core_with(h, kv, head_dim, window, true)
}

/// [`attention_core`] whose eager softmax runs in fp32 (`softmax_fp32`, as Llama, Mistral and
/// Qwen2 write it) or in the activation dtype (GPT-2, BERT).
#[must_use]
pub const fn attention_core_with(
    h: u64,
    kv: u64,
    head_dim: u64,
    window: u64,
    softmax_fp32: bool,
) -> Cost {
    assert!(
        h > 0 && kv > 0 && h.is_multiple_of(kv),
        "estimator: attention needs at least one head, and the KV heads must divide the query heads"
    );
    assert!(
        head_dim > 0,
        "estimator: attention's head_dim must be at least 1"
    );
    let q = dim_mul(h, head_dim);
    let kv_width = dim_mul(kv, head_dim);
    let saved = dim_add(q, dim_mul(2, kv_width));
    Cost::ZERO
        .saves(Activations {
            attention_per_token: saved,
            eager_per_token: dim_mul(2, q - kv_width),
            score_heads: h,
            score_dropout_heads: h,
            score_dtype_heads: if softmax_fp32 { 0 } else { h },
            textbook_per_token: textbook_elems(saved),
            textbook_per_token_seq: dim_mul(5, h),
            ..Activations::ZERO
        })
        .caches(dim_mul(2, kv_width), window)
        .attends(h, kv)
        .widths(q, q)
        // inference: q, k, v in, the output out
        .live(dim_add(saved, q))
}

/// The parameter-free part of attention, `softmax(Q·Kᵀ/√HEAD_DIM)·V` with `H` query heads and
/// `KV` key/value heads, caching keys and values for at most `WINDOW` tokens (0: all), its eager
/// softmax in fp32 (`SOFTMAX_FP32`, the default, as Llama-family models compute it) or in the
/// activation dtype (`false`: Hugging Face's GPT-2 and BERT).
///
/// Compose it with your own projections when [`MultiHeadAttention`] does not fit, e.g. Qwen2's
/// biased `q`, `k`, `v` and bias-free `o`. See [`attention_core`] for what it saves and caches.
///
/// ```
/// use estimator::prelude::*;
/// assert_eq!(AttentionCore::<32, 8, 128>::PARAMS, 0);
/// // K and V of 8 heads of 128: 2048 elements per cached token
/// assert_eq!(AttentionCore::<32, 8, 128>::COST.kv_per_token, 2048);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct AttentionCore<
    const H: u64,
    const KV: u64,
    const HEAD_DIM: u64,
    const WINDOW: u64 = 0,
    const SOFTMAX_FP32: bool = true,
>;

impl<const H: u64, const KV: u64, const HEAD_DIM: u64, const WINDOW: u64, const SOFTMAX_FP32: bool>
    Params for AttentionCore<H, KV, HEAD_DIM, WINDOW, SOFTMAX_FP32>
{
    const COST: Cost = attention_core_with(H, KV, HEAD_DIM, WINDOW, SOFTMAX_FP32);
    const KIND: &'static str = "AttentionCore";
}

/// The cost of [`MultiHeadAttention`] as a value: `q`, `k`, `v`, `o` projections around an
/// [`attention_core`] of `h` query heads and `kv` key/value heads of width `head_dim`.
///
/// Parameters: `q` and `o` are `d × h·head_dim`, `k` and `v` are `d × kv·head_dim`, plus biases:
/// the seed's `4d² + 4d` when `kv = h` and `h·head_dim = d`.
///
/// Saved for backward: the input once (the three projections read the same tensor), what the
/// core saves, and the core's output for `o`'s weight gradient. Textbook: Korthikanti et al.'s
/// attention block, `11·d` bytes per token (input 2, `Q`, `K` 4, `V` 2, output 2, dropout mask 1
/// — they place the block's output dropout here) and `5·h` per token·position.
#[must_use]
pub const fn attention(d: u64, h: u64, kv: u64, head_dim: u64, bias: bool, window: u64) -> Cost {
    let core = attention_core(h, kv, head_dim, window);
    let q_width = dim_mul(h, head_dim);
    let kv_width = dim_mul(kv, head_dim);
    // the query projection keeps the block's input for all three (replicated under tensor
    // parallelism without sequence parallelism, as the output's dropout mask is)
    linear(d, q_width, bias)
        .replicated()
        .add(linear(d, kv_width, bias).shares_input())
        .add(linear(d, kv_width, bias).shares_input())
        .add(core)
        .add(linear(q_width, d, bias))
        .saves(Activations {
            textbook_per_token: d,
            textbook_replicated_per_token: d,
            ..Activations::ZERO
        })
        .widths(d, d)
        // inference: the input stays alive while the core runs
        .live(dim_add(d, core.live_per_token))
}

/// Multi-head self-attention over `D` features with `H` query heads and `KV` key/value heads
/// (`KV = H`: multi-head; `1 < KV < H`: grouped-query, Llama-2-70B, Mistral; `KV = 1`:
/// multi-query), head width `D / H`, biases on all four projections when `BIAS`, keys and values
/// cached for at most `WINDOW` tokens (0: all; Mistral-7B: 4096).
///
/// See [`attention`] for the parameters and saved tensors. `H` must divide `D` and `KV` must
/// divide `H`; models whose head width is not `D / H` (Gemma) compose [`AttentionCore`] with
/// `Linear`s.
///
/// ```
/// use estimator::prelude::*;
/// // the seed's 4d² + 4d
/// assert_eq!(MultiHeadAttention::<768, 12>::PARAMS, 4 * 768 * 768 + 4 * 768);
/// // Mistral-7B: 32 query heads, 8 KV heads of 128, no biases
/// assert_eq!(MultiHeadAttention::<4096, 32, 8, false>::PARAMS, 41_943_040);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct MultiHeadAttention<
    const D: u64,
    const H: u64,
    const KV: u64 = H,
    const BIAS: bool = true,
    const WINDOW: u64 = 0,
>;

impl<const D: u64, const H: u64, const KV: u64, const BIAS: bool, const WINDOW: u64> Params
    for MultiHeadAttention<D, H, KV, BIAS, WINDOW>
{
    const COST: Cost = {
        assert!(
            H > 0 && D.is_multiple_of(H),
            "estimator: MultiHeadAttention<D, H, ..> needs the heads H to divide d_model D"
        );
        attention(D, H, KV, D / H, BIAS, WINDOW)
    };
    const KIND: &'static str = "MultiHeadAttention";
}

/// Rotary position embedding (`RoPE`) tables: no parameters; Hugging Face keeps `inv_freq` and
/// `original_inv_freq` as non-persistent fp32 buffers of `HEAD_DIM / 2` each (transformers 5).
///
/// ```
/// use estimator::prelude::*;
/// assert_eq!(Rotary::<128>::BUFFERS, 128);
/// assert_eq!(Rotary::<128>::COST.buffer_bytes, 512);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Rotary<const HEAD_DIM: u64>;

impl<const HEAD_DIM: u64> Params for Rotary<HEAD_DIM> {
    const COST: Cost = {
        assert!(
            HEAD_DIM.is_multiple_of(2),
            "estimator: Rotary<HEAD_DIM> needs an even head width"
        );
        Cost::buffer(HEAD_DIM / 2, 4).add(Cost::buffer(HEAD_DIM / 2, 4))
    };
    const KIND: &'static str = "Rotary";
}

/// The parameter-free core of multi-head latent attention (DeepSeek-V2/V3) as Hugging Face
/// runs it: `h` heads whose queries and keys are `qk_dim` wide (the non-rotary part from the
/// latent, plus the shared rotary key) and whose values are `v_dim` wide; the cache holds the
/// compressed latent, `latent` elements per token (`kv_lora_rank + qk_rope_head_dim`), and every
/// head's keys and values are expanded from it for each forward.
///
/// Saved for backward per token: the query and key (`h·qk_dim` each) and value (`h·v_dim`);
/// eager attention also keeps the softmax output. KV cache: `latent` per token — what
/// transformers 5's `DeepseekV3Attention` passes to `cache.update` (measured: a tiny
/// DeepSeek-V3 with `kv_lora_rank` 32 and `qk_rope_head_dim` 16 caches 48 elements per token and
/// layer, `tests/fixtures/memory-families.json`), as vLLM and SGLang do too.
#[must_use]
pub const fn latent_attention_core(
    h: u64,
    qk_dim: u64,
    v_dim: u64,
    latent: u64,
    window: u64,
) -> Cost {
    assert!(
        h > 0 && qk_dim > 0 && v_dim > 0,
        "estimator: latent attention needs at least one head and non-zero head widths"
    );
    let q = dim_mul(h, qk_dim);
    let v = dim_mul(h, v_dim);
    let saved = dim_add(dim_mul(2, q), v);
    Cost::ZERO
        .saves(Activations {
            attention_per_token: saved,
            score_heads: h,
            score_dropout_heads: h,
            textbook_per_token: textbook_elems(saved),
            textbook_per_token_seq: dim_mul(5, h),
            ..Activations::ZERO
        })
        .caches(latent, window)
        // one latent per token, shared by every head: not split by head, each GPU keeps it whole
        .attends(h, 0)
        .widths(q, v)
        .live(dim_add(saved, v))
}

/// The cost of [`LatentAttention`] as a value: DeepSeek-V2/V3's multi-head latent attention
/// over `d` features with `h` heads. The query goes through a low-rank bottleneck (`q_a_proj`
/// `d → q_lora_rank`, its RMSNorm, `q_b_proj` `→ h·(nope + rope)`), or through one `q_proj`
/// when `q_lora_rank` is 0; keys and values through `kv_a_proj_with_mqa`
/// (`d → kv_lora_rank + rope`), its RMSNorm over the latent, and `kv_b_proj`
/// (`kv_lora_rank → h·(nope + v)`); `o_proj` is `h·v → d`. `bias` (`attention_bias`) biases
/// `q_a_proj`, `kv_a_proj_with_mqa` and `o_proj`. The core is [`latent_attention_core`]: the
/// cache holds the latent.
#[must_use]
#[allow(
    clippy::too_many_arguments,
    clippy::similar_names,
    reason = "the five widths of DeepSeek's config, named as it names them"
)]
pub const fn latent_attention(
    d: u64,
    h: u64,
    q_lora_rank: u64,
    kv_lora_rank: u64,
    qk_nope_head_dim: u64,
    qk_rope_head_dim: u64,
    v_head_dim: u64,
    bias: bool,
    window: u64,
) -> Cost {
    let qk = dim_add(qk_nope_head_dim, qk_rope_head_dim);
    let q = if q_lora_rank == 0 {
        linear(d, dim_mul(h, qk), false).replicated()
    } else {
        linear(d, q_lora_rank, bias)
            .replicated()
            .add(rms_norm(q_lora_rank))
            .add(linear(q_lora_rank, dim_mul(h, qk), false))
    };
    let latent = dim_add(kv_lora_rank, qk_rope_head_dim);
    // kv_a reads the input q's first projection keeps
    let kv_a = linear(d, latent, bias).shares_input();
    let kv_b = rms_norm(kv_lora_rank).add(linear(
        kv_lora_rank,
        dim_mul(h, dim_add(qk_nope_head_dim, v_head_dim)),
        false,
    ));
    // the query is `torch.cat(q_pass, q_rot)`: a fused kernel's head-major output is copied for
    // `o_proj`
    let core = latent_attention_core(h, qk, v_head_dim, latent, window).saves(Activations {
        flash_per_token: dim_mul(h, v_head_dim),
        ..Activations::ZERO
    });
    q.add(kv_a)
        .add(kv_b)
        .add(core)
        .add(linear(dim_mul(h, v_head_dim), d, bias))
        // Korthikanti et al.'s dropout mask after the output projection, as in `attention`
        .saves(Activations {
            textbook_per_token: d,
            textbook_replicated_per_token: d,
            ..Activations::ZERO
        })
        .widths(d, d)
}

/// DeepSeek-V2/V3's multi-head latent attention over `D` features: `H` heads, the query
/// through a rank-`Q_LORA` bottleneck (0: one `q_proj`), keys and values through a rank-`KV_LORA`
/// latent plus a shared rotary key of `ROPE`, query/key heads of `NOPE + ROPE`, value heads of
/// `V`, biases when `BIAS` (`attention_bias`), keys cached for at most `WINDOW` tokens (0: all).
/// See [`latent_attention`].
///
/// ```
/// use estimator::prelude::*;
/// // DeepSeek-V3's attention (q 1536, kv 512, heads of 128 + 64, values of 128, 128 heads):
/// // PyTorch's DeepseekV3Attention at the default config has these seven tensors' elements
/// type Mla = LatentAttention<7168, 128, 1536, 512, 128, 64, 128>;
/// assert_eq!(Mla::PARAMS, 187_107_328);
/// // the cache holds the latent: 512 + 64 per token
/// assert_eq!(Mla::COST.kv_per_token, 576);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct LatentAttention<
    const D: u64,
    const H: u64,
    const Q_LORA: u64,
    const KV_LORA: u64,
    const NOPE: u64,
    const ROPE: u64,
    const V: u64,
    const BIAS: bool = false,
    const WINDOW: u64 = 0,
>;

impl<
    const D: u64,
    const H: u64,
    const Q_LORA: u64,
    const KV_LORA: u64,
    const NOPE: u64,
    const ROPE: u64,
    const V: u64,
    const BIAS: bool,
    const WINDOW: u64,
> Params for LatentAttention<D, H, Q_LORA, KV_LORA, NOPE, ROPE, V, BIAS, WINDOW>
{
    const COST: Cost = latent_attention(D, H, Q_LORA, KV_LORA, NOPE, ROPE, V, BIAS, WINDOW);
    const KIND: &'static str = "LatentAttention";
}
