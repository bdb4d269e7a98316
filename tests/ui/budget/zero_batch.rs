use estimator::prelude::*;

const M: Memory = Training::of::<Linear<768, 768>>().batch(0).estimate();

fn main() {}
