//! Feed-forward blocks: `FeedForward` (two linears around a GELU) and `GatedFeedForward`
//! (SwiGLU, as in Llama and Mistral).

use crate::cost::{Activations, Cost};
use crate::cost_helpers::{dim_add, dim_mul, textbook_elems};
use crate::layers::activation::keeps_input;
use crate::layers::linear::linear;
use crate::params::Params;

/// The cost of [`FeedForward`] as a value: `Linear(d, hidden) → GELU → Linear(hidden, d)`.
///
/// Parameters: `2·d·hidden + hidden + d` with biases: the seed's `8d² + 5d` at `hidden = 4d`.
/// Saved for backward: the input (`d`), the GELU input (`hidden`) and the second linear's input
/// (`hidden`) per token. Textbook: Korthikanti et al.'s MLP block, `3·d + 4·hidden` bytes per
/// token (input 2, GELU input 2·4, second input 2·4, dropout mask 1: `19·d` at `hidden = 4d`).
#[must_use]
pub const fn feed_forward(d: u64, hidden: u64, bias: bool) -> Cost {
    linear(d, hidden, bias)
        .replicated()
        .add(keeps_input(hidden))
        .add(linear(hidden, d, bias))
        .saves(Activations {
            textbook_per_token: d,
            textbook_replicated_per_token: d,
            ..Activations::ZERO
        })
        // inference: the input, the first linear's output and the GELU's
        .live(dim_add(d, dim_mul(2, hidden)))
}

/// The transformer MLP: `Linear<D, HIDDEN>`, GELU, `Linear<HIDDEN, D>` (see [`feed_forward`]).
///
/// ```
/// use estimator::prelude::*;
/// // the seed's 8d² + 5d
/// assert_eq!(FeedForward::<768, 3072>::PARAMS, 8 * 768 * 768 + 5 * 768);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct FeedForward<const D: u64, const HIDDEN: u64, const BIAS: bool = true>;

impl<const D: u64, const HIDDEN: u64, const BIAS: bool> Params for FeedForward<D, HIDDEN, BIAS> {
    const COST: Cost = feed_forward(D, HIDDEN, BIAS);
    const KIND: &'static str = "FeedForward";
}

/// The cost of [`GatedFeedForward`] as a value: `down(silu(gate(x)) · up(x))`, no biases.
///
/// Parameters: `3·d·hidden`. Saved for backward per token: the input once (`gate` and `up` read
/// the same tensor), the SiLU input (`hidden`), both factors of the product (`2·hidden`), and
/// `down`'s input (`hidden`). Textbook (Korthikanti et al.'s rules, extended): `3·d + 8·hidden`
/// bytes per token.
#[must_use]
pub const fn gated_feed_forward(d: u64, hidden: u64) -> Cost {
    gated(
        linear(d, hidden, false).add(linear(d, hidden, false).shares_input()),
        linear(hidden, d, false),
        d,
        hidden,
    )
}

/// A gated MLP of `hidden` features over `d` from its projections: `gate_up` (the gate and up
/// projections, separate or fused, LoRA-adapted or frozen) and `down`. What the product between
/// them keeps is the same whatever the projections are: the activation's input (`hidden`), both
/// factors of the product (`2·hidden`), and `down`'s input (kept by `down` itself).
pub(crate) const fn gated(gate_up: Cost, down: Cost, d: u64, hidden: u64) -> Cost {
    gate_up
        .replicated()
        .add(keeps_input(hidden))
        .saves(Activations {
            per_token: dim_mul(2, hidden),
            textbook_per_token: textbook_elems(dim_mul(2, hidden)),
            ..Activations::ZERO
        })
        .add(down)
        .saves(Activations {
            textbook_per_token: d,
            textbook_replicated_per_token: d,
            ..Activations::ZERO
        })
        // inference: the input, gate, up and SiLU outputs
        .live(dim_add(d, dim_mul(3, hidden)))
}

/// The SwiGLU MLP of Llama, Mistral and Qwen2: `gate` and `up` (`D → HIDDEN`), SiLU, product,
/// `down` (`HIDDEN → D`), no biases (see [`gated_feed_forward`]).
///
/// ```
/// use estimator::prelude::*;
/// // Llama-2-7B: 3 · 4096 · 11008
/// assert_eq!(GatedFeedForward::<4096, 11008>::PARAMS, 135_266_304);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct GatedFeedForward<const D: u64, const HIDDEN: u64>;

impl<const D: u64, const HIDDEN: u64> Params for GatedFeedForward<D, HIDDEN> {
    const COST: Cost = gated_feed_forward(D, HIDDEN);
    const KIND: &'static str = "GatedFeedForward";
}
