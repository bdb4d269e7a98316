use estimator::prelude::*;

model! {
    pub Gpt {
        wte: Embedding<100, 8>
        wpe: Embedding<100, 8>,
    }
}

fn main() {}
