//! Convolutions: `Conv1d`, `Conv2d`.
//!
//! A convolution's "token" is one *output* position (a frame of a 1-D signal, a pixel of a
//! feature map): its saved input is `IN · STRIDE^dims` elements per output position, exact when
//! the input length is a multiple of the stride and padding keeps `out = in / stride`.

use crate::cost::{Activations, Cost};
use crate::cost_helpers::{dim_add, dim_mul, textbook_elems};
use crate::params::Params;

/// The cost of a convolution as a value: `dims` spatial dimensions (1 or 2), square kernel `k`.
///
/// Parameters: the weight `[out, in/groups, k, (k)]` and the bias `out`:
/// `out · in/groups · k^dims (+ out)`. Convolution weights are not matmul weights here: int8 and
/// 4-bit quantizers (bitsandbytes, GPTQ, AWQ) replace `nn.Linear` only.
///
/// Saved for backward: the input, needed for the weight's gradient.
#[must_use]
pub const fn conv(
    dims: u32,
    inp: u64,
    out: u64,
    k: u64,
    stride: u64,
    bias: bool,
    groups: u64,
) -> Cost {
    assert!(
        groups > 0 && inp.is_multiple_of(groups) && out.is_multiple_of(groups),
        "estimator: a convolution's GROUPS must be at least 1 and divide both IN and OUT"
    );
    assert!(
        k > 0 && stride > 0,
        "estimator: a convolution's kernel size K and STRIDE must be at least 1"
    );
    let w = if dims == 1 {
        Cost::parameter(&[out, inp / groups, k])
    } else {
        Cost::parameter(&[out, inp / groups, k, k])
    };
    let c = if bias {
        w.add(Cost::parameter(&[out]))
    } else {
        w
    };
    let per_output = if dims == 1 {
        stride
    } else {
        dim_mul(stride, stride)
    };
    let saved = dim_mul(inp, per_output);
    c.saves(Activations {
        weight_input_per_token: saved,
        textbook_per_token: textbook_elems(saved),
        ..Activations::ZERO
    })
    .widths(inp, out)
    .live(dim_add(saved, out))
}

/// `nn.Conv1d(IN, OUT, K, stride=STRIDE, bias=BIAS, groups=GROUPS)` (padding does not change
/// the parameters). See [`conv`].
///
/// ```
/// use estimator::prelude::*;
/// // a depthwise convolution over 512 channels, kernel 31 (Conformer)
/// assert_eq!(Conv1d::<512, 512, 31, 1, true, 512>::PARAMS, 512 * 31 + 512);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Conv1d<
    const IN: u64,
    const OUT: u64,
    const K: u64,
    const STRIDE: u64 = 1,
    const BIAS: bool = true,
    const GROUPS: u64 = 1,
>;

impl<
    const IN: u64,
    const OUT: u64,
    const K: u64,
    const STRIDE: u64,
    const BIAS: bool,
    const GROUPS: u64,
> Params for Conv1d<IN, OUT, K, STRIDE, BIAS, GROUPS>
{
    const COST: Cost = conv(1, IN, OUT, K, STRIDE, BIAS, GROUPS);
    const KIND: &'static str = "Conv1d";
}

/// `nn.Conv2d(IN, OUT, K, stride=STRIDE, bias=BIAS, groups=GROUPS)` with a square `K × K`
/// kernel (padding does not change the parameters). See [`conv`].
///
/// ```
/// use estimator::prelude::*;
/// // ViT-B/16's patch embedding: 3 → 768 channels, 16 × 16 patches
/// assert_eq!(Conv2d::<3, 768, 16, 16>::PARAMS, 3 * 768 * 256 + 768);
/// // ResNet's stem: 7 × 7, stride 2, no bias
/// assert_eq!(Conv2d::<3, 64, 7, 2, false>::PARAMS, 9408);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Conv2d<
    const IN: u64,
    const OUT: u64,
    const K: u64,
    const STRIDE: u64 = 1,
    const BIAS: bool = true,
    const GROUPS: u64 = 1,
>;

impl<
    const IN: u64,
    const OUT: u64,
    const K: u64,
    const STRIDE: u64,
    const BIAS: bool,
    const GROUPS: u64,
> Params for Conv2d<IN, OUT, K, STRIDE, BIAS, GROUPS>
{
    const COST: Cost = conv(2, IN, OUT, K, STRIDE, BIAS, GROUPS);
    const KIND: &'static str = "Conv2d";
}
