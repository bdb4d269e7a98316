use estimator::prelude::*;

#[derive(Params)]
#[params(frozen)]
struct Model {
    wte: Embedding<100, 8>,
}

fn main() {}
