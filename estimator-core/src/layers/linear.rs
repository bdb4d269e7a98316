//! Dense layers: `Linear`, `Embedding`, and raw parameters and buffers.

use crate::cost::{Activations, Cost};
use crate::cost_helpers::textbook_elems;
use crate::params::Params;

/// `nn.Linear(IN, OUT, bias=BIAS)`: `y = x·Wᵀ + b`.
///
/// Parameters: `W` is `OUT × IN`, `b` is `OUT`: `IN·OUT + OUT` (the seed's `d² + d` for
/// `d → d`). `W` is a matmul weight (what weight quantization applies to).
///
/// Saved for backward: the input `x` (`IN` per token), needed only for `W`'s gradient.
///
/// ```
/// use estimator::prelude::*;
/// assert_eq!(Linear::<768, 768>::PARAMS, 768 * 768 + 768);
/// assert_eq!(Linear::<4096, 11008, false>::PARAMS, 4096 * 11008);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Linear<const IN: u64, const OUT: u64, const BIAS: bool = true>;

/// The cost of [`Linear`] as a value, for composite layers whose widths are computed
/// (`Linear<D, {4 * D}>` is not stable Rust).
#[must_use]
pub const fn linear(inp: u64, out: u64, bias: bool) -> Cost {
    let w = Cost::parameter(&[out, inp]).matmul();
    let c = if bias {
        w.add(Cost::parameter(&[out]))
    } else {
        w
    };
    c.saves(Activations {
        weight_input_per_token: inp,
        textbook_per_token: textbook_elems(inp),
        ..Activations::ZERO
    })
    .widths(inp, out)
}

impl<const IN: u64, const OUT: u64, const BIAS: bool> Params for Linear<IN, OUT, BIAS> {
    const COST: Cost = linear(IN, OUT, BIAS);
    const KIND: &'static str = "Linear";
}

/// `nn.Embedding(N, D)`: a lookup table of `N` vectors of width `D`.
///
/// Parameters: `N·D`, one tensor, not a matmul weight (quantizers leave embeddings in 16 bits).
/// Saved for backward: nothing but the token ids, which are the model's input.
///
/// ```
/// use estimator::prelude::*;
/// assert_eq!(Embedding::<50257, 768>::PARAMS, 38_597_376);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Embedding<const N: u64, const D: u64>;

/// The cost of [`Embedding`] as a value.
#[must_use]
pub const fn embedding(n: u64, d: u64) -> Cost {
    Cost::parameter(&[n, d]).widths(0, d)
}

impl<const N: u64, const D: u64> Params for Embedding<N, D> {
    const COST: Cost = embedding(N, D);
    const KIND: &'static str = "Embedding";
}

/// A learned position table, `nn.Embedding(N, D)` indexed by position (GPT-2's `wpe`, BERT's
/// `position_embeddings`): an [`Embedding`] that also bounds the sequence to `N` tokens, so that
/// an estimate past the table is refused ([`EstimateError::SequenceTooLong`]) instead of
/// priced.
///
/// [`EstimateError::SequenceTooLong`]: crate::EstimateError::SequenceTooLong
///
/// ```
/// use estimator::prelude::*;
/// assert_eq!(PositionEmbedding::<1024, 768>::PARAMS, 1024 * 768);
/// assert_eq!(PositionEmbedding::<1024, 768>::COST.positions, 1024);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct PositionEmbedding<const N: u64, const D: u64>;

impl<const N: u64, const D: u64> Params for PositionEmbedding<N, D> {
    const COST: Cost = embedding(N, D).positions(N);
    const KIND: &'static str = "Embedding";
}

/// A free-standing trainable tensor of `N` elements (`nn.Parameter(torch.empty(N))`): a class
/// token, a learned position table flattened, a tied bias.
///
/// ```
/// use estimator::prelude::*;
/// assert_eq!(Parameter::<768>::PARAMS, 768);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Parameter<const N: u64>;

impl<const N: u64> Params for Parameter<N> {
    const COST: Cost = Cost::parameter(&[N]);
    const KIND: &'static str = "Parameter";
}

/// `N` buffer elements of `BYTES` bytes each (`register_buffer`): state that is not trained,
/// e.g. BERT's `position_ids` (`Buffer<512, 8>`, int64).
///
/// ```
/// use estimator::prelude::*;
/// assert_eq!(Buffer::<512, 8>::BUFFERS, 512);
/// assert_eq!(Buffer::<512, 8>::COST.buffer_bytes, 4096);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Buffer<const N: u64, const BYTES: u64 = 4>;

impl<const N: u64, const BYTES: u64> Params for Buffer<N, BYTES> {
    const COST: Cost = Cost::buffer(N, BYTES);
    const KIND: &'static str = "Buffer";
}
