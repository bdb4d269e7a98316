use estimator::prelude::*;

// 32 heads do not split over 3 GPUs: refused with the words the command line uses
const M: Memory = Training::of::<[TransformerLayer<4096, 32>; 32]>()
    .tensor_parallel(3)
    .estimate();

fn main() {}
