//! Encoder–decoder blocks: [`Encoder`] (layers that run over the source sequence),
//! [`CrossAttention`] (a decoder layer reading the encoder's output, with its cache),
//! [`EncoderOutput`] (the encoder's output, kept once for every cross-attention that reads it)
//! and [`AudioFrontEnd`] (Whisper's convolutions over log-mel frames).

use core::marker::PhantomData;

use crate::cost::{Activations, Cost, Source};
use crate::cost_helpers::{dim_add, dim_mul, textbook_elems};
use crate::layers::activation::keeps_input;
use crate::layers::attention::attention_core;
use crate::layers::conv::conv;
use crate::layers::linear::linear;
use crate::params::{Layer, Params};

/// `T` run over the source sequence of an encoder–decoder (its embeddings, front end or
/// layers): its activations are priced at the source length
/// ([`Training::source`](crate::Training::source)), its output is what the decoder's
/// cross-attention reads, and a learned position table in it bounds the source. See
/// [`Cost::encodes`].
///
/// ```
/// use estimator::prelude::*;
/// // two encoder layers of d 512 over the source, one decoder layer over the target
/// #[derive(Params)]
/// struct Tiny {
///     encoder: Encoder<[TransformerLayer<512, 8>; 2]>,
///     memory: EncoderOutput<512, 2>,
///     cross: CrossAttention<512, 8>,
/// }
/// // the encoder's per-token activations are the source's
/// assert_eq!(Tiny::COST.act.per_token, 0);
/// assert!(Tiny::COST.source.act.per_token > 0);
/// // K and V of 512 per source position for the decoder layer
/// assert_eq!(Tiny::COST.source.kv_per_token, 1024);
/// ```
pub struct Encoder<T>(PhantomData<fn() -> T>);

impl<T: Params> Params for Encoder<T> {
    const COST: Cost = T::COST.encodes();
    const KIND: &'static str = T::KIND;
    const REPEAT: u64 = T::REPEAT;
    const LAYERS: &'static [Layer<'static>] = T::LAYERS;
}

/// What cross-attention keeps of its scores when nothing masks them (BART's, Whisper's, T5's):
/// one softmax per head over (target, source) pairs in the activation dtype, its dropout.
#[must_use]
pub const fn cross_scores(h: u64, head_dim: u64) -> Activations {
    let core = attention_core(h, h, head_dim, 0).act;
    Activations {
        score_dtype_heads: h,
        ..core
    }
}

/// The cost of [`CrossAttention`] as a value: `q` (`d → h·head_dim`) over the target, `k`
/// and `v` (`source → h·head_dim`) over the encoder's output, `o` back to `d`; `biases` are
/// the query/value/output projections' and the key projection's (Whisper's has none).
///
/// Saved for backward: per target token the query's input, the query and the output
/// projection's input (and what `scores` adds per token, a fused kernel's copied output);
/// per source position the keys and values, `2·h·head_dim`; per (target, source) pair what
/// `scores` describes (see [`cross_scores`]). The projections' input — the encoder's output —
/// is kept once for all of them by [`EncoderOutput`]. Cached: keys and values of every source
/// position, computed once.
#[must_use]
pub const fn cross_attention_with(
    d: u64,
    source: u64,
    h: u64,
    head_dim: u64,
    (bias, key_bias): (bool, bool),
    scores: Activations,
) -> Cost {
    let w = dim_mul(h, head_dim);
    let kv = linear(source, w, key_bias).add(linear(source, w, bias));
    let kv = Cost {
        act: Activations::ZERO,
        source: Source {
            act: Activations {
                attention_per_token: dim_mul(2, w),
                textbook_per_token: textbook_elems(dim_mul(2, w)),
                ..Activations::ZERO
            },
            ..Source::ZERO
        },
        ..kv
    }
    .caches_source(dim_mul(2, w))
    .attends(h, h);
    let query = Cost::ZERO.saves(Activations {
        attention_per_token: w,
        flash_per_token: scores.flash_per_token,
        textbook_per_token: textbook_elems(w),
        ..Activations::ZERO
    });
    let pairs = Cost::ZERO
        .saves(Activations {
            score_heads: scores.score_heads,
            score_dropout_heads: scores.score_dropout_heads,
            score_dtype_heads: scores.score_dtype_heads,
            textbook_per_token_seq: scores.textbook_per_token_seq,
            ..Activations::ZERO
        })
        .crosses();
    linear(d, w, bias)
        .replicated()
        .add(kv)
        .add(query)
        .add(pairs)
        .add(linear(w, d, bias))
        .widths(d, d)
        // inference: the input, the query, the output and the projected output
        .live(dim_add(d, dim_mul(3, w)))
}

/// Cross-attention of a decoder layer over `D` features with `H` heads of `D / H`, reading an
/// encoder output of `SOURCE` features, biases on the query, value and output projections when
/// `BIAS` (BART; T5 has none) and on the key projection when `KEY_BIAS` too (Whisper's has
/// none). See [`cross_attention_with`]; pair the decoder's cross-attentions with one
/// [`EncoderOutput`].
///
/// ```
/// use estimator::prelude::*;
/// // BART-large's encoder_attn: four 1024 × 1024 projections with biases
/// assert_eq!(CrossAttention::<1024, 16>::PARAMS, 4 * (1024 * 1024 + 1024));
/// // K and V of every source position: 2 · 1024 elements each
/// assert_eq!(CrossAttention::<1024, 16>::COST.source.kv_per_token, 2048);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct CrossAttention<
    const D: u64,
    const H: u64,
    const SOURCE: u64 = D,
    const BIAS: bool = true,
    const KEY_BIAS: bool = true,
>;

impl<const D: u64, const H: u64, const SOURCE: u64, const BIAS: bool, const KEY_BIAS: bool> Params
    for CrossAttention<D, H, SOURCE, BIAS, KEY_BIAS>
{
    const COST: Cost = {
        assert!(
            H > 0 && D.is_multiple_of(H),
            "estimator: CrossAttention<D, H, ..> needs H to divide D"
        );
        cross_attention_with(
            D,
            SOURCE,
            H,
            D / H,
            (BIAS, BIAS && KEY_BIAS),
            cross_scores(H, D / H),
        )
    };
    const KIND: &'static str = "CrossAttention";
}

/// The cost of [`EncoderOutput`] as a value: the encoder's output of `d` features per source
/// position, read by `readers` projections (a decoder's `k` and `v` in every layer). In full
/// precision one storage is kept for all of them; under autocast each projection keeps its own
/// 16-bit copy (measured: T5, BART, Whisper in `tests/fixtures/memory-families.json`).
#[must_use]
pub const fn encoder_output(d: u64, readers: u64) -> Cost {
    assert!(
        readers > 0,
        "estimator: EncoderOutput<D, READERS> needs at least one reader"
    );
    Cost {
        source: Source {
            act: Activations {
                weight_input_per_token: d,
                shared_input_per_token: dim_mul(readers - 1, d),
                textbook_per_token: textbook_elems(d),
                textbook_replicated_per_token: textbook_elems(d),
                ..Activations::ZERO
            },
            ..Source::ZERO
        },
        ..Cost::ZERO
    }
}

/// The encoder's output of `D` features, kept for backward once for the `READERS` projections
/// that read it (two per decoder layer: its cross-attention's `k` and `v`). See
/// [`encoder_output`].
#[derive(Clone, Copy, Debug, Default)]
pub struct EncoderOutput<const D: u64, const READERS: u64>;

impl<const D: u64, const READERS: u64> Params for EncoderOutput<D, READERS> {
    const COST: Cost = encoder_output(D, READERS);
    const KIND: &'static str = "EncoderOutput";
}

/// The cost of [`AudioFrontEnd`] as a value: Whisper's `conv1` (`mel → d`, kernel 3) and GELU
/// over the frames, then `conv2` (`d → d`, kernel 3, stride 2) and GELU, so that an encoder
/// position is two frames. Saved per position: `conv1`'s input (two frames of `mel`), the
/// GELUs' inputs and `conv2`'s input, `2·mel + 5·d`.
#[must_use]
pub const fn audio_front_end(mel: u64, d: u64) -> Cost {
    let conv1 = conv(1, mel, d, 3, 1, true, 1).add(keeps_input(d));
    let conv1 = Cost {
        act: conv1.act.times(2),
        live_per_token: dim_mul(conv1.live_per_token, 2),
        ..conv1
    };
    conv1
        .add(conv(1, d, d, 3, 2, true, 1))
        .add(keeps_input(d))
        .widths(dim_mul(2, mel), d)
}

/// Whisper's convolutional front end over `MEL` log-mel channels to `D` features (see
/// [`audio_front_end`]); wrap it in [`Encoder`] with the encoder's layers.
///
/// ```
/// use estimator::prelude::*;
/// // whisper-tiny: conv1 384·80·3 + 384, conv2 384·384·3 + 384
/// assert_eq!(AudioFrontEnd::<80, 384>::PARAMS, 384 * 80 * 3 + 384 + 384 * 384 * 3 + 384);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct AudioFrontEnd<const MEL: u64, const D: u64>;

impl<const MEL: u64, const D: u64> Params for AudioFrontEnd<MEL, D> {
    const COST: Cost = audio_front_end(MEL, D);
    const KIND: &'static str = "AudioFrontEnd";
}
