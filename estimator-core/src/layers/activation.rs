//! Parameter-free operations that keep activations: `Dropout`, `Gelu`, `Silu`, `Relu`,
//! `Softmax`.
//!
//! Each takes the width `W` of the tensor it acts on (elements per token) so that it can count
//! what it saves; with the default `W = 0` it is a marker that counts nothing.

use crate::cost::{Activations, Cost};
use crate::cost_helpers::{dim_mul, textbook_elems};
use crate::params::Params;

/// The cost of [`Dropout`] as a value: a mask of `w` elements per token (1 byte on CUDA) when
/// dropout is on. Korthikanti et al. place their dropout masks inside the attention and MLP
/// blocks, so a free-standing dropout adds no textbook bytes.
#[must_use]
pub const fn dropout(w: u64) -> Cost {
    Cost::ZERO
        .saves(Activations {
            mask_per_token: w,
            ..Activations::ZERO
        })
        .widths(w, w)
}

/// `nn.Dropout` on a tensor of `W` features per token: no parameters, a mask (see [`dropout`]).
///
/// ```
/// use estimator::prelude::*;
/// assert_eq!(Dropout::<768>::COST.act.mask_per_token, 768);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Dropout<const W: u64 = 0>;

impl<const W: u64> Params for Dropout<W> {
    const COST: Cost = dropout(W);
    const KIND: &'static str = "Dropout";
}

/// The cost of an element-wise activation that keeps its input (GELU, SiLU) as a value:
/// `w` elements per token.
#[must_use]
pub const fn keeps_input(w: u64) -> Cost {
    Cost::ZERO
        .saves(Activations {
            per_token: w,
            textbook_per_token: textbook_elems(w),
            ..Activations::ZERO
        })
        .widths(w, w)
}

/// The cost of an element-wise operation that keeps its *output* (ReLU, softmax) as a value:
/// nothing of its own, because the layer that reads the output saves that same storage (a
/// `Linear` keeps its input) and a storage saved twice is stored once.
#[must_use]
pub const fn keeps_output(w: u64) -> Cost {
    Cost::ZERO.widths(w, w)
}

/// `nn.GELU` on `W` features per token: keeps its input (`W` per token).
///
/// ```
/// use estimator::prelude::*;
/// assert_eq!(Gelu::<3072>::COST.act.per_token, 3072);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Gelu<const W: u64 = 0>;

impl<const W: u64> Params for Gelu<W> {
    const COST: Cost = keeps_input(W);
    const KIND: &'static str = "Gelu";
}

/// Hugging Face's `gelu_new` (GPT-2's MLP activation, `NewGELUActivation`), written in Python
/// as `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`: autograd keeps four `W`-wide tensors per
/// token (`x` for the cube, the `tanh` output, `0.5·x` and `1 + tanh(…)` for the product) where a
/// fused GELU keeps one (shared/reference/README.md, fact 6). Textbook: the input only.
///
/// ```
/// use estimator::prelude::*;
/// assert_eq!(NewGelu::<3072>::COST.act.per_token, 4 * 3072);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct NewGelu<const W: u64 = 0>;

/// The cost of [`NewGelu`] as a value.
#[must_use]
pub const fn new_gelu(w: u64) -> Cost {
    Cost::ZERO
        .saves(Activations {
            per_token: dim_mul(4, w),
            textbook_per_token: textbook_elems(w),
            ..Activations::ZERO
        })
        .widths(w, w)
        .live(dim_mul(3, w))
}

impl<const W: u64> Params for NewGelu<W> {
    const COST: Cost = new_gelu(W);
    const KIND: &'static str = "NewGelu";
}

/// `nn.SiLU` (swish) on `W` features per token: keeps its input (`W` per token).
#[derive(Clone, Copy, Debug, Default)]
pub struct Silu<const W: u64 = 0>;

impl<const W: u64> Params for Silu<W> {
    const COST: Cost = keeps_input(W);
    const KIND: &'static str = "Silu";
}

/// `nn.ReLU` on `W` features per token: keeps its output, which the next layer keeps too (see
/// [`keeps_output`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Relu<const W: u64 = 0>;

impl<const W: u64> Params for Relu<W> {
    const COST: Cost = keeps_output(W);
    const KIND: &'static str = "Relu";
}

/// `nn.Softmax` on `W` features per token: keeps its output, which the next layer keeps too
/// (see [`keeps_output`]). Attention's `s × s` softmax is counted by [`crate::layers::AttentionCore`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Softmax<const W: u64 = 0>;

impl<const W: u64> Params for Softmax<W> {
    const COST: Cost = keeps_output(W);
    const KIND: &'static str = "Softmax";
}
