use estimator::prelude::*;

#[derive(Params)]
struct Model {
    wte: Embedding<100, 8>,
    #[params(tied = true)]
    lm_head: Linear<8, 100, false>,
}

fn main() {}
