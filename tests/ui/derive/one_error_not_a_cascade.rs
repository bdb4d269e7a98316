// A mistake in the derive is reported once; uses of the model's counts add no errors.
use estimator::prelude::*;

#[derive(Params)]
struct Model {
    #[params(tide)]
    lm_head: Linear<8, 100, false>,
}

const _: u64 = Model::PARAMS;

fn main() {}
