use estimator::prelude::*;

const _: u64 = <MultiHeadAttention<768, 7>>::PARAMS;

fn main() {}
