use estimator::prelude::*;

// 2^40 × 2^40 elements do not fit in a u64
const _: u64 = <Linear<1_099_511_627_776, 1_099_511_627_776>>::PARAMS;

fn main() {}
