use estimator::prelude::*;

// 32 layers do not make 5 equal pipeline stages
const M: Memory = Training::of::<[TransformerLayer<4096, 32>; 32]>()
    .pipeline_parallel(5)
    .estimate();

fn main() {}
