use estimator::prelude::*;

#[derive(Params)]
struct Model {
    wte: Embedding<100, 8>,
    vocab_size: u64,
}

fn main() {}
