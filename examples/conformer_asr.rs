//! A Conformer-CTC speech encoder of the size NeMo ships as "Large" (d_model 512, 17 layers,
//! 8 heads, feed-forward 2048, depthwise kernel 31, 80 mel bins, 4× striding subsampling, a CTC
//! head over 128 tokens + blank), trained with bitsandbytes' 8-bit AdamW on a 24 GB card: the
//! largest batch of 20-second utterances that fits, and what the 8-bit optimizer buys.
//!
//! A 20-second utterance is 2000 frames of 10 ms; after the 4× subsampling the encoder sees
//! 500 — the sequence length below counts those encoder frames.
//!
//! Run: `cargo run --example conformer_asr`

use estimator::prelude::*;
use estimator::{Activations, Cost};

const D: u64 = 512;
const MELS: u64 = 80;

/// NeMo's `ConvSubsampling` ("striding", channels = d_model): two 3×3 stride-2 `Conv2d`s with
/// ReLU over (time, mel), then a `Linear` from the flattened 512 × 20 features to d_model.
/// Written by hand to show a layer whose activations live at another rate than its output:
/// per *encoder* frame it keeps the first convolution's input (4 frames × 80 mels), the first
/// ReLU's output (512 channels × 2 frames × 40 mels, which the second convolution keeps too),
/// the second ReLU's output (512 × 20) and its transposed copy that the `Linear` keeps.
struct ConvSubsampling;

impl Params for ConvSubsampling {
    const COST: Cost = Cost::parameter(&[D, 1, 3, 3])
        .add(Cost::parameter(&[D]))
        .add(Cost::parameter(&[D, D, 3, 3]))
        .add(Cost::parameter(&[D]))
        .add(Cost::parameter(&[D, D * MELS / 4]).matmul())
        .add(Cost::parameter(&[D]))
        .saves(Activations {
            weight_input_per_token: 4 * MELS + D * 2 * MELS / 2 + D * MELS / 4,
            per_token: D * MELS / 4,
            textbook_per_token: 0,
            ..Activations::ZERO
        })
        .widths(4 * MELS, D);
    const KIND: &'static str = "ConvSubsampling";
}

/// NeMo's relative-position self-attention: q, k, v, out with biases, the position projection
/// (no bias) and the two learned position biases `u`, `v` (heads × head width each).
#[derive(Params)]
struct RelPositionAttention {
    attn: MultiHeadAttention<D, 8>,
    linear_pos: Linear<D, D, false>,
    pos_bias_u: Parameter<D>,
    pos_bias_v: Parameter<D>,
}

/// `ConformerFeedForward`: Linear, Swish, dropout, Linear (used twice, macaron style).
#[derive(Params)]
struct FeedForwardModule {
    norm: LayerNorm<D>,
    linear1: Linear<D, 2048>,
    activation: Silu<2048>,
    dropout: Dropout<2048>,
    linear2: Linear<2048, D>,
    residual_dropout: Dropout<D>,
}

/// `ConformerConvolution`: pointwise (2·d, GLU), depthwise (kernel 31), BatchNorm, Swish,
/// pointwise.
#[derive(Params)]
struct ConvolutionModule {
    norm: LayerNorm<D>,
    pointwise_conv1: Conv1d<D, { 2 * D }, 1>,
    glu: Silu<D>,
    depthwise_conv: Conv1d<D, D, 31, 1, true, D>,
    batch_norm: BatchNorm1d<D>,
    activation: Silu<D>,
    pointwise_conv2: Conv1d<D, D, 1>,
    dropout: Dropout<D>,
}

/// One `ConformerLayer`: ½ FF, self-attention, convolution, ½ FF, final norm.
#[derive(Params)]
struct ConformerLayer {
    feed_forward1: FeedForwardModule,
    norm_self_att: LayerNorm<D>,
    self_attn: RelPositionAttention,
    attn_dropout: Dropout<D>,
    conv: ConvolutionModule,
    feed_forward2: FeedForwardModule,
    norm_out: LayerNorm<D>,
}

/// Conformer-CTC: subsampling, 17 layers, and the CTC decoder (a 1×1 convolution to the
/// vocabulary + blank).
#[derive(Params)]
struct ConformerCtcLarge {
    pre_encode: ConvSubsampling,
    layers: [ConformerLayer; 17],
    decoder: Conv1d<D, 129, 1>,
}

// Counted from NeMo's module definitions (no PyTorch run here): per layer two feed-forwards
// 2·(2·512·2048 + 2048 + 512), five LayerNorms 5·1024, attention 4·(512² + 512) + 512² + 2·512,
// convolution (512·1024 + 1024) + (512·31 + 512) + 1024 + (512² + 512) = 6,323,712; 17 layers,
// subsampling 7,608,320, decoder 66,177.
const _: () = assert!(ConformerLayer::PARAMS == 6_323_712);
const _: () = assert!(ConformerCtcLarge::PARAMS == 17 * 6_323_712 + 7_608_320 + 66_177);
// BatchNorm1d keeps 2·512 + 1 buffer elements per layer
const _: () = assert!(ConformerCtcLarge::BUFFERS == 17 * 1025);

/// 20-second utterances (500 encoder frames), fp16 autocast, CTC loss (no vocabulary-wide
/// logits kept beyond the decoder's 129), 8-bit AdamW, eager attention as NeMo runs it.
const TRAIN: Training = Training::of::<ConformerCtcLarge>()
    .seq(500)
    .precision(Precision::Autocast(DType::F16))
    .optimizer(Optimizer::AdamW8bit)
    .attention(AttentionKernel::Eager);
const CARD: Bytes = GB24;
const BATCH_8BIT: u64 = TRAIN.max_batch(CARD);
const BATCH_ADAMW: u64 = TRAIN.optimizer(Optimizer::AdamW).max_batch(CARD);
const_assert!(BATCH_8BIT >= BATCH_ADAMW);
assert_fits!(TRAIN.batch(BATCH_8BIT).estimate(), CARD);

fn main() {
    print!("{}", Summary::of::<ConformerCtcLarge>().depth(2));
    println!("\nTraining on 20-second utterances (500 encoder frames), batch {BATCH_8BIT}:");
    print!("{}", TRAIN.batch(BATCH_8BIT).estimate());
    let states = |o: Optimizer| TRAIN.optimizer(o).at(Phase::OptimizerStep).optimizer;
    println!(
        "\nOptimizer state: AdamW {}, 8-bit AdamW {} ({:.0} % of it)",
        states(Optimizer::AdamW),
        states(Optimizer::AdamW8bit),
        100.0 * states(Optimizer::AdamW8bit).as_gib() / states(Optimizer::AdamW).as_gib()
    );
    println!(
        "Largest batch of 20 s utterances on 24 GiB: {BATCH_8BIT} with 8-bit AdamW, {BATCH_ADAMW} with AdamW"
    );
}
