use estimator::prelude::*;

const _: u64 = <MultiHeadAttention<768, 12, 5>>::PARAMS;

fn main() {}
