use estimator::prelude::*;

#[derive(Params)]
struct Gpt2 {
    wte: Embedding<50257, 768>,
    wpe: PositionEmbedding<1024, 768>,
    h: [TransformerLayer<768, 12>; 12],
    #[params(tied)]
    lm_head: Linear<768, 50257, false>,
}

// GPT-2 reads 1024 positions: a 2048-token prompt is refused, not priced
const M: Memory = Inference::of::<Gpt2>().prompt(2048).estimate();

fn main() {}
