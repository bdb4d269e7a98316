// A mistake in the derive is reported once more at most, however many items use the model:
// asserts on its count, a budget check and a model that contains it.
use estimator::prelude::*;

#[derive(Params)]
struct Model {
    #[params(tide)]
    lm_head: Linear<8, 100, false>,
}

#[derive(Params)]
struct Outer {
    inner: Model,
    proj: Linear<8, 8>,
}

estimator::const_assert!(Model::PARAMS == 800);
estimator::const_assert!(Outer::PARAMS == 872);
estimator::assert_fits!(Training::of::<Model>().estimate(), GB24);
const M: Memory = Inference::of::<Outer>().estimate();

fn main() {}
