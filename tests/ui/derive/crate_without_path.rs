use estimator::prelude::*;

#[derive(Params)]
#[params(crate)]
struct Model {
    wte: Embedding<100, 8>,
}

fn main() {}
