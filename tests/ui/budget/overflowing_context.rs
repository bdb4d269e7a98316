use estimator::prelude::*;

// a trillion parameters' worth of layers at a million-token context: far beyond u64 bytes
const M: Memory = Training::of::<[TransformerLayer<65536, 512>; 20000]>()
    .batch(1_000_000)
    .seq(1_000_000)
    .attention(AttentionKernel::Eager)
    .estimate();

fn main() {}
