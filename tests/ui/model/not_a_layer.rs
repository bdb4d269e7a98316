use estimator::prelude::*;

model! {
    pub Gpt {
        d_model = 768,
        wte: Embedding<50257, d_model>,
        name: String,
    }
}

fn main() {}
