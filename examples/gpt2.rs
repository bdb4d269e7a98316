//! GPT-2 small (124M) written with `#[derive(Params)]`: its parameter count is checked by the
//! compiler against PyTorch's, and the per-layer summary is printed.
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
    wpe: Embedding<1024, 768>,
    drop: Dropout<768>,
    h: [Block; 12],
    ln_f: LayerNorm<768>,
    #[params(tied)]
    lm_head: Linear<768, 50257, false>,
}

// PyTorch: sum(p.numel() for p in GPT2LMHeadModel(GPT2Config()).parameters()) = 124,439,808
// (shared/reference/params.json, "gpt2-small").
const _: () = assert!(Gpt2::PARAMS == 124_439_808);
// The seed tutorial's transformer layer: 12d² + 13d = 7,087,872 at d = 768.
const _: () = assert!(Block::PARAMS == 12 * 768 * 768 + 13 * 768);
// lm_head's 50257 × 768 weight is wte's: counted once (params.json: tied_parameters).
const _: () = assert!(Gpt2::COST.tied == 38_597_376);

fn main() {
    println!(
        "GPT-2 small: {} parameters ({} trainable, {} shared between wte and lm_head)\n",
        Gpt2::PARAMS,
        Gpt2::TRAINABLE,
        Gpt2::COST.tied
    );
    print!("{}", Summary::of::<Gpt2>().depth(2));
}
