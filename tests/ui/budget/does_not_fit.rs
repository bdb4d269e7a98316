use estimator::prelude::*;

#[derive(Params)]
struct Block {
    input_layernorm: RmsNorm<4096>,
    self_attn: MultiHeadAttention<4096, 32, 32, false>,
    post_attention_layernorm: RmsNorm<4096>,
    mlp: GatedFeedForward<4096, 11008>,
}

#[derive(Params)]
struct Llama2_7B {
    embed_tokens: Embedding<32000, 4096>,
    layers: [Block; 32],
    norm: RmsNorm<4096>,
    lm_head: Linear<4096, 32000, false>,
}

// full fine-tuning of 6.7B parameters at 16 bytes each does not fit a 24 GB card
assert_fits!(Training::of::<Llama2_7B>().batch(1).seq(4096).estimate(), GB24);

fn main() {}
