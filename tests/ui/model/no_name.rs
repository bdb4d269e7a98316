use estimator::prelude::*;

model! {
    pub {
        wte: Embedding<100, 8>,
    }
}

fn main() {}
