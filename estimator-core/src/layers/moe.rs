//! `Moe`: a mixture of experts (Mixtral's sparse MoE block).

use core::marker::PhantomData;

use crate::cost::{Activations, Cost};
use crate::cost_helpers::{dim_add, dim_mul, textbook_elems};
use crate::layers::linear::linear;
use crate::params::Params;

const fn max(a: u64, b: u64) -> u64 {
    if a >= b { a } else { b }
}

/// The cost of [`Moe`] as a value: a bias-free router `Linear(d, e)` and `e` copies of
/// `expert`, of which `top_k` run for each token.
///
/// Parameters: `d·e + e · expert` are stored; `d·e + top_k · expert` are active per token.
/// Each expert tensor is stacked along a leading expert dimension (`[e, rows, cols]`), as
/// Hugging Face transformers 5 and grouped-GEMM kernels store them: the layer has the router's
/// tensor plus one per expert tensor, and its largest tensor is `e` experts' worth.
/// (transformers 5 also fuses Mixtral's `gate` and `up` into one `[e, 2·ffn, d]` tensor; a
/// `GatedFeedForward` expert counts them as two.)
///
/// Saved for backward per token (Hugging Face's `MixtralSparseMoeBlock`): the router's input
/// (`d`) and its fp32 softmax (`e`) and normalized top-k weights (`top_k`); for each of the
/// `top_k` experts a token visits, what the expert saves (its input is a gathered copy) and its
/// output (`d`, kept by the multiply with the routing weight).
#[must_use]
pub const fn moe(d: u64, e: u64, top_k: u64, expert: Cost) -> Cost {
    assert!(
        e > 0 && top_k > 0 && top_k <= e,
        "estimator: Moe<D, E, TOP_K, ..> needs 1 <= TOP_K <= E"
    );
    let router = linear(d, e, false);
    let stored = router.add(expert.times(e));
    let visited = expert.act.times(top_k).add(Activations {
        per_token: dim_mul(top_k, d),
        f32_per_token: dim_add(e, top_k),
        textbook_per_token: textbook_elems(dim_mul(top_k, d)),
        ..Activations::ZERO
    });
    Cost {
        tensors: dim_add(router.tensors, expert.tensors),
        trainable_tensors: dim_add(router.trainable_tensors, expert.trainable_tensors),
        largest_tensor: max(router.largest_tensor, dim_mul(e, expert.largest_tensor)),
        active: dim_add(router.params, dim_mul(top_k, expert.active)),
        act: router.act.add(visited),
        checkpointed: expert.checkpointed.times(top_k),
        ..stored
    }
    .widths(d, d)
    // inference: the input, the router's logits, the output, and the intermediates of every
    // token's `top_k` visits at once (the experts run as one grouped computation over all the
    // routed pairs, as transformers 5 does)
    .live(dim_add(
        dim_add(dim_mul(2, d), e),
        dim_mul(top_k, expert.live_per_token),
    ))
}

/// A mixture of `E` experts of type `EXPERT` over `D` features, `TOP_K` active per token
/// (Mixtral-8x7B: `Moe<4096, 8, 2, GatedFeedForward<4096, 14336>>`). See [`moe`].
///
/// ```
/// use estimator::prelude::*;
/// type Block = Moe<4096, 8, 2, GatedFeedForward<4096, 14336>>;
/// // router 4096·8 + 8 experts of 3·4096·14336
/// assert_eq!(Block::PARAMS, 4096 * 8 + 8 * 176_160_768);
/// assert_eq!(Block::COST.active, 4096 * 8 + 2 * 176_160_768);
/// ```
pub struct Moe<const D: u64, const E: u64, const TOP_K: u64, EXPERT>(PhantomData<fn() -> EXPERT>);

impl<const D: u64, const E: u64, const TOP_K: u64, EXPERT: Params> Params
    for Moe<D, E, TOP_K, EXPERT>
{
    const COST: Cost = moe(D, E, TOP_K, EXPERT::COST);
    const KIND: &'static str = "Moe";
}
