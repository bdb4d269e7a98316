use estimator::prelude::*;

// 10,000 stacks of a billion layers overflow the parameter count inside the library's `[T; N]`
// impl; the error points at this constant, the estimate asked of it
const M: Memory = Training::of::<[[TransformerLayer<12288, 96>; 1_000_000_000]; 10_000]>().estimate();

fn main() {}
