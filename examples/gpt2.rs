//! GPT-2 small (124M) written with `#[derive(Params)]`: its parameter count is checked by the
//! compiler against PyTorch's, its per-layer summary printed, and what training it takes on a
//! 24 GB card worked out at compile time.
//!
//! Run: `cargo run --example gpt2`

use estimator::prelude::*;

/// One GPT-2 block (pre-norm): `ln_1 → attn → ln_2 → mlp`, residual dropouts after both.
#[derive(Params)]
struct Block {
    ln_1: LayerNorm<768>,
    attn: MultiHeadAttention<768, 12>,
    attn_dropout: Dropout<768>,
    ln_2: LayerNorm<768>,
    mlp: FeedForward<768, 3072>,
    mlp_dropout: Dropout<768>,
}

/// `GPT2LMHeadModel(GPT2Config())`: token and position embeddings, 12 blocks, a final layer
/// norm, and the language-model head that shares the token embedding's weight.
#[derive(Params)]
struct Gpt2 {
    wte: Embedding<50257, 768>,
    wpe: PositionEmbedding<1024, 768>,
    drop: Dropout<768>,
    h: [Block; 12],
    ln_f: LayerNorm<768>,
    #[params(tied)]
    lm_head: Linear<768, 50257, false>,
}

// PyTorch: sum(p.numel() for p in GPT2LMHeadModel(GPT2Config()).parameters()) = 124,439,808
// (tests/fixtures/params.json, "gpt2-small").
const _: () = assert!(Gpt2::PARAMS == 124_439_808);
// The seed tutorial's transformer layer: 12d² + 13d = 7,087,872 at d = 768.
const _: () = assert!(Block::PARAMS == 12 * 768 * 768 + 13 * 768);
// lm_head's 50257 × 768 weight is wte's: counted once (params.json: tied_parameters).
const _: () = assert!(Gpt2::COST.tied == 38_597_376);

/// Pre-training GPT-2 small: bf16 mixed precision, AdamW, 1024-token sequences, on an RTX 4090.
const TRAIN: Training = Training::of::<Gpt2>()
    .seq(1024)
    .precision(Precision::Mixed(DType::BF16))
    .optimizer(Optimizer::AdamW);
const CARD: Bytes = gpu::RTX_4090.usable();
/// The largest micro-batch that fits, found by the compiler.
const MAX_BATCH: u64 = TRAIN.max_batch(CARD);
assert_fits!(TRAIN.batch(MAX_BATCH).estimate(), CARD);
const_assert!(!TRAIN.batch(MAX_BATCH + 1).fits(CARD));

fn main() {
    println!(
        "GPT-2 small: {} parameters, {} of them shared by wte and lm_head\n",
        Gpt2::PARAMS,
        Gpt2::COST.tied
    );
    print!("{}", Summary::of::<Gpt2>().depth(2));
    println!("\nTraining at batch 8 × 1024 tokens (bf16 mixed precision, AdamW, flash attention):");
    print!("{}", TRAIN.batch(8).estimate());
    println!(
        "\nLargest micro-batch on an {} ({} usable): {MAX_BATCH}",
        gpu::RTX_4090.name,
        CARD
    );
}
