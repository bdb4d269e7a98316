//! `Moe`: a mixture of experts (Mixtral's sparse MoE block).

use core::marker::PhantomData;

use crate::cost::{Activations, Cost};
use crate::cost_helpers::{dim_add, dim_mul, textbook_elems};
use crate::layers::ffn::gated;
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
    // the router and the experts read the block's input: whole on every tensor-parallel GPU
    let router = linear(d, e, false).replicated();
    let stored = router.add(expert.times(e));
    let visited = expert.act.times(top_k).add(Activations {
        per_token: dim_mul(top_k, d),
        f32_per_token: dim_add(e, top_k),
        textbook_per_token: textbook_elems(dim_mul(top_k, d)),
        textbook_replicated_per_token: textbook_elems(dim_mul(top_k, d)),
        ..Activations::ZERO
    });
    Cost {
        tensors: dim_add(router.tensors, expert.tensors),
        trainable_tensors: dim_add(router.trainable_tensors, expert.trainable_tensors),
        matmul_tensors: dim_add(router.matmul_tensors, expert.matmul_tensors),
        frozen_matmul_tensors: dim_add(router.frozen_matmul_tensors, expert.frozen_matmul_tensors),
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

/// One routed expert as transformers 5 stores it, stacked with the others: a fused
/// `gate_up_proj` (`[2·w, d]` per expert) and `down_proj` (`[d, w]`), with biases when `bias`
/// (gpt-oss), and the gated MLP's saved tensors between them.
#[must_use]
pub const fn fused_expert(d: u64, w: u64, bias: bool) -> Cost {
    gated(linear(d, dim_mul(2, w), bias), linear(w, d, bias), d, w)
}

/// The cost of [`StackedMoe`] as a value: [`moe`] over `expert` (one expert's cost, e.g.
/// [`fused_expert`]) as transformers 5 runs it. Its grouped experts do not autocast: what they
/// save, the gathered input and each visit's output stay in the parameters' dtype (fp32 under
/// autocast, the residual stream's dtype), and their weights get no 16-bit copy
/// ([`Cost::uncast_matmul`]) — measured on tiny Qwen3-MoE, DeepSeek-V3 and gpt-oss under bf16
/// autocast (`tests/fixtures/memory-families.json`).
#[must_use]
pub const fn stacked_moe(d: u64, e: u64, top_k: u64, expert: Cost) -> Cost {
    let a = expert.act;
    let expert = Cost {
        act: Activations {
            per_token: 0,
            weight_input_per_token: 0,
            residual_per_token: dim_add(a.residual_per_token, a.per_token),
            residual_weight_input_per_token: dim_add(
                a.residual_weight_input_per_token,
                a.weight_input_per_token,
            ),
            ..a
        },
        ..expert
    };
    let mut cost = moe(d, e, top_k, expert);
    cost.uncast_matmul = dim_mul(e, expert.matmul);
    // the gathered input and each visit's output, which `moe` books in the compute dtype
    let routed = dim_mul(top_k, d);
    cost.act.per_token -= routed;
    cost.act.residual_per_token = dim_add(cost.act.residual_per_token, routed);
    cost
}

/// A mixture of `E` experts of hidden width `WIDTH` over `D` features, `TOP_K` per token, as
/// transformers 5 stores them: the router `Linear<D, E, false>` and three stacked tensors
/// (`gate_up_proj`, `down_proj`, and with `BIAS` their biases). Qwen3-MoE, OLMoE, DeepSeek's
/// routed experts, gpt-oss (with `BIAS`; its router bias is a [`Parameter`](crate::layers::Parameter)
/// of `E`). Shared experts are a [`GatedFeedForward`](crate::layers::GatedFeedForward) beside it.
/// See [`stacked_moe`].
///
/// ```
/// use estimator::prelude::*;
/// // Qwen3-30B-A3B's MLP: 128 experts of 768 over 2048, 8 per token
/// type Mlp = StackedMoe<2048, 128, 8, 768>;
/// assert_eq!(Mlp::PARAMS, 2048 * 128 + 128 * 3 * 2048 * 768);
/// // the router and two stacked tensors (Adam keeps one `step` each)
/// assert_eq!(Mlp::COST.tensors, 3);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct StackedMoe<
    const D: u64,
    const E: u64,
    const TOP_K: u64,
    const WIDTH: u64,
    const BIAS: bool = false,
>;

impl<const D: u64, const E: u64, const TOP_K: u64, const WIDTH: u64, const BIAS: bool> Params
    for StackedMoe<D, E, TOP_K, WIDTH, BIAS>
{
    const COST: Cost = stacked_moe(D, E, TOP_K, fused_expert(D, WIDTH, BIAS));
    const KIND: &'static str = "StackedMoe";
}
