use estimator::prelude::*;

#[derive(Params)]
struct Model {
    #[params]
    wte: Embedding<100, 8>,
    #[params = "tied"]
    lm_head: Linear<8, 100, false>,
}

fn main() {}
