use estimator::prelude::*;

#[derive(Params)]
struct Model {
    #[params(crate = estimator)]
    wte: Embedding<100, 8>,
}

fn main() {}
