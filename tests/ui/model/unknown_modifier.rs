use estimator::prelude::*;

model! {
    pub Gpt {
        wte: Embedding<100, 8>,
        tide lm_head: Linear<8, 100, false>,
    }
}

fn main() {}
