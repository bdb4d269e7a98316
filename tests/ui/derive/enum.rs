use estimator::prelude::*;

#[derive(Params)]
enum Model {
    Small(Linear<8, 8>),
    Large(Linear<16, 16>),
}

fn main() {}
