use estimator::prelude::*;

model! {
    pub Broken {
        wte: Embedding<100, 8>,
        block Block { norm: LayerNorm<8>,
    }
}

fn main() {}
