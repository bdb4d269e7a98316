use estimator::prelude::*;

#[derive(Params)]
struct Model {
    #[params(skp)]
    name: u32,
    #[params(weights)]
    head: Linear<8, 8>,
}

fn main() {}
