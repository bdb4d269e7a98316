// A mistake in `model!` is reported at the mistake; the uses of the model add one error that
// points back at it, not "cannot find type" at each.
use estimator::prelude::*;

model! {
    pub Broken {
        d = 768,
        layer: Linear<d, d>,
        oops = 1 - 2,
    }
}

estimator::const_assert!(Broken::PARAMS == 590_592);
const M: Memory = Training::of::<Broken>().estimate();

fn main() {}
