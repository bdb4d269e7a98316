use estimator::prelude::*;

#[derive(Params)]
union Model {
    a: u32,
    b: f32,
}

fn main() {}
