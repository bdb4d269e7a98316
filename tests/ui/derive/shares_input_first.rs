use estimator::prelude::*;

#[derive(Params)]
struct Model {
    #[params(shares_input)]
    q: Linear<8, 8>,
    #[params(shares_input)]
    k: Linear<8, 8>,
}

fn main() {}
