// A mistake in the derive is reported once; the uses of the model's counts add one error that
// points back at the derive (not a wrong number).
use estimator::prelude::*;

#[derive(Params)]
struct Model {
    #[params(tide)]
    lm_head: Linear<8, 100, false>,
}

const _: u64 = Model::PARAMS;

fn main() {}
