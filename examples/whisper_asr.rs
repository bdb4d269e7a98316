//! Whisper-small (openai/whisper-small: d_model 768, 12 encoder and 12 decoder layers of 12
//! heads, feed-forward 3072, 80 mel bins, a 51,865-token vocabulary) fine-tuned for speech
//! recognition on a 24 GB card with bitsandbytes' 8-bit AdamW — the attention encoder–decoder
//! sibling of `conformer_asr`, written as Rust types.
//!
//! Whisper's encoder reads exactly 30 s of audio (3000 log-mel frames, shorter clips padded):
//! after the convolutional front end (stride 2) that is 1500 encoder positions, the source
//! length below. The decoder reads the transcript's tokens: 128 here (at most 448).
//!
//! Run: `cargo run --example whisper_asr`

use estimator::prelude::*;

const D: u64 = 768;
const H: u64 = 12;
const HEAD: u64 = D / H;
const FFN: u64 = 3072;
const MELS: u64 = 80;
const VOCAB: u64 = 51_865;

/// The encoder's `WhisperAttention`: q, v and out with biases, k without; no mask, so its
/// eager softmax keeps the activation dtype; nothing cached (inside [`Encoder`]).
#[derive(Params)]
struct EncoderSelfAttention {
    q_proj: Linear<D, D>,
    #[params(shares_input)]
    k_proj: Linear<D, D, false>,
    #[params(shares_input)]
    v_proj: Linear<D, D>,
    core: AttentionCore<H, H, HEAD, 0, false>,
    out_proj: Linear<D, D>,
}

/// The decoder's causal self-attention, keys and values cached per generated token.
#[derive(Params)]
struct DecoderSelfAttention {
    q_proj: Linear<D, D>,
    #[params(shares_input)]
    k_proj: Linear<D, D, false>,
    #[params(shares_input)]
    v_proj: Linear<D, D>,
    core: AttentionCore<H, H, HEAD>,
    out_proj: Linear<D, D>,
}

/// `fc1`, GELU, `fc2`.
#[derive(Params)]
struct Mlp {
    fc1: Linear<D, FFN>,
    act: Gelu<FFN>,
    fc2: Linear<FFN, D>,
}

/// A pre-norm encoder layer.
#[derive(Params)]
struct EncoderLayer {
    self_attn_layer_norm: LayerNorm<D>,
    self_attn: EncoderSelfAttention,
    final_layer_norm: LayerNorm<D>,
    mlp: Mlp,
}

/// A pre-norm decoder layer: self-attention, cross-attention to the encoder's output (its
/// key projection without bias), the MLP.
#[derive(Params)]
struct DecoderLayer {
    self_attn_layer_norm: LayerNorm<D>,
    self_attn: DecoderSelfAttention,
    encoder_attn_layer_norm: LayerNorm<D>,
    encoder_attn: CrossAttention<D, H, D, true, false>,
    final_layer_norm: LayerNorm<D>,
    mlp: Mlp,
}

/// The encoder: the convolutions over mel frames, the frozen sinusoidal positions, 12 layers,
/// the final norm.
#[derive(Params)]
struct WhisperEncoder {
    conv: AudioFrontEnd<MELS, D>,
    #[params(frozen)]
    embed_positions: PositionEmbedding<1500, D>,
    layers: [EncoderLayer; 12],
    layer_norm: LayerNorm<D>,
}

/// The decoder: token and learned position embeddings (448 positions), 12 layers, the norm.
#[derive(Params)]
struct WhisperDecoder {
    embed_tokens: Embedding<VOCAB, D>,
    embed_positions: PositionEmbedding<448, D>,
    layers: [DecoderLayer; 12],
    layer_norm: LayerNorm<D>,
}

/// `WhisperForConditionalGeneration`: the encoder over the source, its output kept once for
/// the 24 cross-attention projections that read it, the decoder, and `proj_out` tied to the
/// token embeddings.
#[derive(Params)]
struct WhisperSmall {
    encoder: Encoder<WhisperEncoder>,
    memory: EncoderOutput<D, { 2 * 12 }>,
    decoder: WhisperDecoder,
    #[params(tied)]
    proj_out: Linear<D, VOCAB, false>,
}

// PyTorch on the meta device (tests/fixtures/families.json, whisper / whisper-small):
// 241,734,912 parameters, of which 240,582,912 train (the encoder's 1500 × 768 positions are
// frozen)
const _: () = assert!(WhisperSmall::PARAMS == 241_734_912);
const _: () = assert!(WhisperSmall::TRAINABLE == 240_582_912);

/// 30 s clips (1500 encoder positions), transcripts of 128 tokens, fp16 autocast over fp32
/// weights (the Trainer's `fp16=True`), 8-bit AdamW, no dropout (Whisper's default).
const TRAIN: Training = Training::of::<WhisperSmall>()
    .source(1500)
    .seq(128)
    .precision(Precision::Autocast(DType::F16))
    .optimizer(Optimizer::AdamW8bit)
    .dropout(false);
const CARD: Bytes = GB24;
const BATCH: u64 = TRAIN.max_batch(CARD);
const BATCH_ADAMW: u64 = TRAIN.optimizer(Optimizer::AdamW).max_batch(CARD);
const BATCH_RECOMPUTE: u64 = TRAIN.recompute(Recompute::Full).max_batch(CARD);
const_assert!(BATCH >= BATCH_ADAMW);
const_assert!(BATCH_RECOMPUTE >= BATCH);
assert_fits!(TRAIN.batch(BATCH).estimate(), CARD);

fn main() {
    print!("{}", Summary::of::<WhisperSmall>().depth(2));
    println!(
        "\nwhisper-small, 30 s clips, 128-token transcripts, fp16 autocast on {:.1} GiB:",
        CARD.as_gib()
    );
    println!("  8-bit AdamW:                      batch {BATCH}");
    println!("  AdamW (32-bit states):            batch {BATCH_ADAMW}");
    println!("  8-bit AdamW, full recomputation:  batch {BATCH_RECOMPUTE}");
    print!("{}", TRAIN.batch(BATCH).estimate());
    let serve = Inference::of::<WhisperSmall>()
        .source(1500)
        .prompt(4)
        .generate(444)
        .batch(16)
        .weights(DType::F16);
    print!(
        "\nServing 16 clips at once, 448 tokens each:\n{}",
        serve.estimate()
    );
}
