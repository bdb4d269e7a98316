//! Normalization layers: `LayerNorm`, `RmsNorm`, `BatchNorm1d`, `BatchNorm2d`.

use crate::cost::{Activations, Cost};
use crate::cost_helpers::{dim_mul, textbook_elems};
use crate::params::Params;

/// `nn.LayerNorm(D, bias=BIAS)`: normalize each token over its `D` features, then scale (and
/// shift).
///
/// Parameters: weight `D` and bias `D`: the seed's `2d` (`D` without bias).
///
/// Saved for backward (`native_layer_norm`): the input (`D` per token, in the residual stream's
/// dtype) and the fp32 mean and
/// reciprocal standard deviation (2 per token). Korthikanti et al. count the input only (`2sbh`
/// bytes at 16 bits).
///
/// ```
/// use estimator::prelude::*;
/// assert_eq!(LayerNorm::<768>::PARAMS, 2 * 768);
/// assert_eq!(LayerNorm::<768, false>::PARAMS, 768);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct LayerNorm<const D: u64, const BIAS: bool = true>;

/// The cost of [`LayerNorm`] as a value.
#[must_use]
pub const fn layer_norm(d: u64, bias: bool) -> Cost {
    let w = Cost::parameter(&[d]);
    let c = if bias {
        w.add(Cost::parameter(&[d]))
    } else {
        w
    };
    c.saves(Activations {
        residual_per_token: d,
        f32_per_token: 2,
        textbook_per_token: textbook_elems(d),
        textbook_replicated_per_token: textbook_elems(d),
        ..Activations::ZERO
    })
    .widths(d, d)
}

/// The cost of a LayerNorm without parameters (`elementwise_affine=False`, OLMo 1) as a
/// value: what [`layer_norm`] saves, no weights.
#[must_use]
pub const fn non_parametric_norm(d: u64) -> Cost {
    Cost::ZERO.saves(layer_norm(d, false).act).widths(d, d)
}

impl<const D: u64, const BIAS: bool> Params for LayerNorm<D, BIAS> {
    const COST: Cost = layer_norm(D, BIAS);
    const KIND: &'static str = "LayerNorm";
}

/// `RMSNorm(D)` as Llama, Mistral and Qwen2 write it: `w · (x / √(mean(x²) + ε))` computed in
/// fp32.
///
/// Parameters: the scale, `D`.
///
/// Saved for backward (Hugging Face's `LlamaRMSNorm`, op by op): the fp32 input (`D` per token,
/// kept by `pow` and the multiply), the fp32 `rsqrt` (1 per token), and the normalized tensor in
/// the residual stream's dtype (`D` per token, kept by the weight multiply for the weight's
/// gradient).
/// Korthikanti et al.'s rule (the input, 16-bit) gives `2·D` textbook bytes.
///
/// ```
/// use estimator::prelude::*;
/// assert_eq!(RmsNorm::<4096>::PARAMS, 4096);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct RmsNorm<const D: u64>;

/// The cost of [`RmsNorm`] as a value.
#[must_use]
pub const fn rms_norm(d: u64) -> Cost {
    Cost::parameter(&[d])
        .saves(Activations {
            residual_weight_input_per_token: d,
            f32_per_token: d.saturating_add(1),
            textbook_per_token: textbook_elems(d),
            textbook_replicated_per_token: textbook_elems(d),
            ..Activations::ZERO
        })
        .widths(d, d)
        // the fp32 copy, the normalized tensor and the output
        .live(dim_mul(3, d))
}

impl<const D: u64> Params for RmsNorm<D> {
    const COST: Cost = rms_norm(D);
    const KIND: &'static str = "RmsNorm";
}

/// `norm` (one module of some width) applied to each of `rows` slices of a token: its parameters
/// once, its saved tensors and working set `rows` times (a q/k norm over every head).
pub(crate) const fn per_row(norm: Cost, rows: u64) -> Cost {
    Cost {
        act: norm.act.times(rows),
        live_per_token: norm.live_per_token.saturating_mul(rows),
        ..norm
    }
}

/// The cost of [`HeadRmsNorm`] as a value.
#[must_use]
pub const fn head_rms_norm(head_dim: u64, heads: u64) -> Cost {
    per_row(rms_norm(head_dim), heads)
}

/// One `RMSNorm(HEAD_DIM)` shared by the `HEADS` heads it normalizes, per token: Qwen3's and
/// Gemma 3's `q_norm` / `k_norm` (applied to `[.., heads, head_dim]`). Parameters: `HEAD_DIM`;
/// saved for backward: what [`RmsNorm`] saves, for every head.
///
/// ```
/// use estimator::prelude::*;
/// // Qwen3-8B's q_norm over 32 heads of 128
/// assert_eq!(HeadRmsNorm::<128, 32>::PARAMS, 128);
/// assert_eq!(HeadRmsNorm::<128, 32>::COST.act.f32_per_token, 32 * 129);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct HeadRmsNorm<const HEAD_DIM: u64, const HEADS: u64>;

impl<const HEAD_DIM: u64, const HEADS: u64> Params for HeadRmsNorm<HEAD_DIM, HEADS> {
    const COST: Cost = head_rms_norm(HEAD_DIM, HEADS);
    const KIND: &'static str = "HeadRmsNorm";
}

/// The cost of [`BatchNorm1d`] and [`BatchNorm2d`] as a value.
///
/// Parameters: weight and bias, `2C`. Buffers (PyTorch): `running_mean` and `running_var`, `C`
/// fp32 each, and `num_batches_tracked`, one int64: `2C + 1` elements, `8C + 8` bytes.
/// Saved for backward: the input (`C` per position); the `2C` fp32 batch statistics do not grow
/// with the batch and are not counted.
#[must_use]
pub const fn batch_norm(c: u64) -> Cost {
    Cost::parameter(&[c])
        .add(Cost::parameter(&[c]))
        .add(Cost::buffer(c, 4))
        .add(Cost::buffer(c, 4))
        .add(Cost::buffer(1, 8))
        .saves(Activations {
            per_token: c,
            textbook_per_token: textbook_elems(c),
            textbook_replicated_per_token: textbook_elems(c),
            ..Activations::ZERO
        })
        .widths(c, c)
}

/// `nn.BatchNorm1d(C)` over `(batch, C, length)`; a "token" is one position along the length.
/// See [`batch_norm`] for what it counts.
///
/// ```
/// use estimator::prelude::*;
/// assert_eq!(BatchNorm1d::<256>::PARAMS, 512);
/// assert_eq!(BatchNorm1d::<256>::BUFFERS, 513);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct BatchNorm1d<const C: u64>;

impl<const C: u64> Params for BatchNorm1d<C> {
    const COST: Cost = batch_norm(C);
    const KIND: &'static str = "BatchNorm1d";
}

/// `nn.BatchNorm2d(C)` over `(batch, C, height, width)`; a "token" is one pixel position. See
/// [`batch_norm`] for what it counts.
///
/// ```
/// use estimator::prelude::*;
/// assert_eq!(BatchNorm2d::<64>::PARAMS, 128);
/// // running_mean + running_var (fp32) + num_batches_tracked (int64)
/// assert_eq!(BatchNorm2d::<64>::COST.buffer_bytes, 64 * 4 * 2 + 8);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct BatchNorm2d<const C: u64>;

impl<const C: u64> Params for BatchNorm2d<C> {
    const COST: Cost = batch_norm(C);
    const KIND: &'static str = "BatchNorm2d";
}
