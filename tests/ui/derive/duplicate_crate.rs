use estimator::prelude::*;

#[derive(Params)]
#[params(crate = estimator, crate = estimator)]
struct Model {
    wte: Embedding<100, 8>,
}

fn main() {}
