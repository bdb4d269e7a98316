use estimator::prelude::*;

model! {
    pub Gpt {
        d_model = 8,
        d_model = 16,
        block Block { norm: LayerNorm<d_model> }
        block Block { norm: RmsNorm<d_model> }
        wte: Embedding<100, d_model>,
        wte: Embedding<100, d_model>,
        tied tied lm_head: Linear<d_model, 100, false>,
    }
}

fn main() {}
