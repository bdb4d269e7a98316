// Budget checks that hold compile, in const items, through both macros; the solvers evaluate in
// a const.
use estimator::prelude::*;

#[derive(Params)]
struct Block {
    ln_1: LayerNorm<768>,
    attn: MultiHeadAttention<768, 12>,
    ln_2: LayerNorm<768>,
    mlp: FeedForward<768, 3072>,
}

#[derive(Params)]
struct Gpt2 {
    wte: Embedding<50257, 768>,
    wpe: Embedding<1024, 768>,
    h: [Block; 12],
    ln_f: LayerNorm<768>,
    #[params(tied)]
    lm_head: Linear<768, 50257, false>,
}

const TRAIN: Memory = Training::of::<Gpt2>()
    .batch(4)
    .seq(1024)
    .precision(Precision::Mixed(DType::BF16))
    .optimizer(Optimizer::AdamW)
    .estimate();

assert_fits!(TRAIN, GB24);
const_assert!(TRAIN.fits(GB24));
assert_fits!(Inference::of::<Gpt2>().batch(8).prompt(1024).generate(0).estimate(), gpu::T4.usable());

const MAX_BATCH: u64 = Training::of::<Gpt2>().seq(1024).max_batch(gpu::RTX_4090.usable());
const_assert!(MAX_BATCH >= 4);
const_assert!(Training::of::<Gpt2>().seq(1024).batch(MAX_BATCH).fits(gpu::RTX_4090.usable()));
const_assert!(!Training::of::<Gpt2>().seq(1024).batch(MAX_BATCH + 1).fits(gpu::RTX_4090.usable()));

fn main() {}
