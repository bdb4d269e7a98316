//! `TransformerLayer`: PyTorch's `nn.TransformerEncoderLayer(D, H, dim_feedforward = 4·D)`.

use crate::cost::{Activations, Cost};
use crate::cost_helpers::{dim_add, dim_mul};
use crate::layers::attention::attention_core;
use crate::params::Params;

/// The cost of [`TransformerLayer`] as a value.
///
/// Parameters, as PyTorch names them (the seed's `12d² + 13d`):
/// `self_attn.in_proj_weight` `3d × d` and `in_proj_bias` `3d`; `self_attn.out_proj` `d × d + d`;
/// `linear1` `4d × d + 4d`; `linear2` `d × 4d + d`; `norm1`, `norm2` `2d` each.
///
/// Saved for backward per token (post-norm, ReLU, dropout 0.1, the defaults), op by op: the
/// input (`d`, for `in_proj`'s weight gradient); `q`, `k`, `v` (`3d`, one contiguous copy);
/// what the attention kernel keeps (scores or the flash output and log-sum-exp); the attention
/// output (`d`, for `out_proj`); `dropout1`'s mask (`d`); `norm1`'s input (`d`) and fp32
/// statistics (2); `linear1`'s input (`d`); the ReLU output (`4d`); the inner dropout's mask and
/// output (`4d` each, the output being what `linear2` keeps); `dropout2`'s mask (`d`); `norm2`'s
/// input (`d`) and statistics (2). KV cache when used as a decoder layer: `2d` per token.
///
/// Textbook: Korthikanti et al.'s transformer layer exactly, `34·d` bytes per token and `5·h`
/// per token·position.
#[must_use]
pub const fn transformer_layer(d: u64, h: u64) -> Cost {
    assert!(
        h > 0 && d.is_multiple_of(h),
        "estimator: TransformerLayer<D, H> needs the heads H to divide d_model D"
    );
    let ff = dim_mul(4, d);
    let params = Cost::parameter(&[dim_mul(3, d), d])
        .matmul()
        .add(Cost::parameter(&[dim_mul(3, d)]))
        .add(Cost::parameter(&[d, d]).matmul())
        .add(Cost::parameter(&[d]))
        .add(Cost::parameter(&[ff, d]).matmul())
        .add(Cost::parameter(&[ff]))
        .add(Cost::parameter(&[d, ff]).matmul())
        .add(Cost::parameter(&[d]))
        .add(Cost::parameter(&[d]))
        .add(Cost::parameter(&[d]))
        .add(Cost::parameter(&[d]))
        .add(Cost::parameter(&[d]));
    let core = attention_core(h, h, d / h, 0);
    let own = Activations {
        // the ReLU output
        per_token: ff,
        // norm1 and norm2 inputs
        residual_per_token: dim_mul(2, d),
        // in_proj, out_proj and linear1 inputs
        weight_input_per_token: dim_mul(3, d),
        f32_per_token: 4,
        mask_per_token: dim_mul(6, d),
        dropout_per_token: ff,
        ..Activations::ZERO
    };
    let act = Activations {
        textbook_per_token: dim_mul(34, d),
        // Korthikanti et al.'s Eq. 2: two norm inputs, the attention's and the MLP's inputs,
        // their two dropout masks
        textbook_replicated_per_token: dim_mul(10, d),
        textbook_per_token_seq: dim_mul(5, h),
        ..core.act.add(own)
    };
    Cost {
        act,
        kv_per_token: core.kv_per_token,
        kv_layers: core.kv_layers,
        heads: core.heads,
        kv_heads: core.kv_heads,
        ..params
    }
    .widths(d, d)
    // inference: attention with its input, or the input, linear1's and the ReLU's outputs
    .live(dim_add(d, core.live_per_token))
    .live(dim_mul(9, d))
}

/// A whole transformer layer, exactly PyTorch's `nn.TransformerEncoderLayer(D, H)` with its
/// default `dim_feedforward` fixed at `4·D` (a const-generic default cannot compute `4·D`;
/// compose other widths with `#[derive(Params)]`). See [`transformer_layer`].
///
/// ```
/// use estimator::prelude::*;
/// // PyTorch: sum(p.numel() for p in nn.TransformerEncoderLayer(512, 8, 2048).parameters())
/// assert_eq!(TransformerLayer::<512, 8>::PARAMS, 3_152_384);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct TransformerLayer<const D: u64, const H: u64>;

impl<const D: u64, const H: u64> Params for TransformerLayer<D, H> {
    const COST: Cost = transformer_layer(D, H);
    const KIND: &'static str = "TransformerLayer";
}
