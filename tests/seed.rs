//! The seed tutorial's formulas, held by the layer vocabulary at several widths.
//!
//! Source: the seed article (shared/seed/): Linear `d² + d`; attention (Q, K, V, O) `4d² + 4d`;
//! FFN `d → 4d → d` `8d² + 5d`; LayerNorm `2d`; a transformer layer (attention, FFN, two
//! LayerNorms) `12d² + 13d`; and bytes per 1B parameters: fp32 4 GB, fp16/bf16 2 GB, int8 1 GB,
//! int4 0.5 GB.

mod common;
use common::GptBlock;
use estimator::prelude::*;

macro_rules! seed_formulas {
    ($($name:ident: d = $d:literal, heads = $h:literal, ff = $ff:literal;)+) => {$(
        #[test]
        fn $name() {
            const D: u64 = $d;
            const _: () = assert!($ff == 4 * $d, "the seed's FFN is d → 4d → d");
            assert_eq!(<Linear<$d, $d>>::PARAMS, D * D + D, "Linear d² + d");
            assert_eq!(<MultiHeadAttention<$d, $h>>::PARAMS, 4 * D * D + 4 * D, "attention 4d² + 4d");
            assert_eq!(<FeedForward<$d, $ff>>::PARAMS, 8 * D * D + 5 * D, "FFN 8d² + 5d");
            assert_eq!(<LayerNorm<$d>>::PARAMS, 2 * D, "LayerNorm 2d");
            assert_eq!(<GptBlock<$d, $h, $ff>>::PARAMS, 12 * D * D + 13 * D, "layer 12d² + 13d");
            assert_eq!(<TransformerLayer<$d, $h>>::PARAMS, 12 * D * D + 13 * D, "layer 12d² + 13d");
            // L layers: L · (12d² + 13d)
            assert_eq!(<[GptBlock<$d, $h, $ff>; 24]>::PARAMS, 24 * (12 * D * D + 13 * D));
        }
    )+};
}

seed_formulas! {
    d_512: d = 512, heads = 8, ff = 2048;
    d_768: d = 768, heads = 12, ff = 3072;
    d_1600: d = 1600, heads = 25, ff = 6400;
    d_4096: d = 4096, heads = 32, ff = 16384;
    d_12288: d = 12288, heads = 96, ff = 49152;
}

#[test]
fn bytes_per_billion_parameters() {
    const BILLION: u64 = 1_000_000_000;
    // the seed's table uses SI gigabytes
    assert_eq!(DType::F32.bytes_for(BILLION), Bytes::gb(4));
    assert_eq!(DType::F16.bytes_for(BILLION), Bytes::gb(2));
    assert_eq!(DType::BF16.bytes_for(BILLION), Bytes::gb(2));
    assert_eq!(DType::I8.bytes_for(BILLION), Bytes::gb(1));
    assert_eq!(DType::I4.bytes_for(BILLION), Bytes::mb(500));
}

/// The seed's 20Φ for mixed-precision AdamW, as bytes per parameter per part: fp16 and fp32
/// weights (2 + 4), fp16 and fp32 gradients (2 + 4), fp32 first and second moments (4 + 4).
#[test]
fn twenty_bytes_per_parameter() {
    let per_param = [
        DType::F16,
        DType::F32,
        DType::F16,
        DType::F32,
        DType::F32,
        DType::F32,
    ]
    .iter()
    .map(|d| d.bytes_for(1).get())
    .sum::<u64>();
    assert_eq!(per_param, 20);
}
