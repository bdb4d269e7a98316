use estimator::prelude::*;

// 10,000 stacks of a billion 12,288-wide layers (1.8·10^9 parameters each): beyond u64
const _: u64 = <[[TransformerLayer<12288, 96>; 1_000_000_000]; 10_000]>::PARAMS;

fn main() {}
