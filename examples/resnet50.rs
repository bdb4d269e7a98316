//! ResNet-50 (torchvision) with `#[derive(Params)]`: convolutions without biases, BatchNorm's
//! fp32 running statistics and int64 counters as buffers, stages generic over their widths.
//!
//! Run: `cargo run --example resnet50`

use estimator::prelude::*;

/// A bottleneck block without a projection: 1×1, 3×3, 1×1 convolutions, each with BatchNorm.
#[derive(Params)]
struct Bottleneck<const IN: u64, const MID: u64, const OUT: u64> {
    conv1: Conv2d<IN, MID, 1, 1, false>,
    bn1: BatchNorm2d<MID>,
    conv2: Conv2d<MID, MID, 3, 1, false>,
    bn2: BatchNorm2d<MID>,
    conv3: Conv2d<MID, OUT, 1, 1, false>,
    bn3: BatchNorm2d<OUT>,
    relu: Relu,
}

/// The first block of a stage: strided, with a 1×1 projection of the shortcut.
#[derive(Params)]
struct BottleneckDown<const IN: u64, const MID: u64, const OUT: u64, const STRIDE: u64> {
    conv1: Conv2d<IN, MID, 1, 1, false>,
    bn1: BatchNorm2d<MID>,
    conv2: Conv2d<MID, MID, 3, STRIDE, false>,
    bn2: BatchNorm2d<MID>,
    conv3: Conv2d<MID, OUT, 1, 1, false>,
    bn3: BatchNorm2d<OUT>,
    relu: Relu,
    downsample: (Conv2d<IN, OUT, 1, STRIDE, false>, BatchNorm2d<OUT>),
}

#[derive(Params)]
struct Stage<const IN: u64, const MID: u64, const OUT: u64, const STRIDE: u64, const REST: usize> {
    first: BottleneckDown<IN, MID, OUT, STRIDE>,
    rest: [Bottleneck<OUT, MID, OUT>; REST],
}

/// `torchvision.models.resnet50()`.
#[derive(Params)]
struct ResNet50 {
    conv1: Conv2d<3, 64, 7, 2, false>,
    bn1: BatchNorm2d<64>,
    relu: Relu,
    layer1: Stage<64, 64, 256, 1, 2>,
    layer2: Stage<256, 128, 512, 2, 3>,
    layer3: Stage<512, 256, 1024, 2, 5>,
    layer4: Stage<1024, 512, 2048, 2, 2>,
    fc: Linear<2048, 1000>,
}

// PyTorch: sum(p.numel() for p in resnet50().parameters()) = 25,557,032 and 53,173 buffer
// elements (53 BatchNorms: running_mean + running_var fp32, num_batches_tracked int64)
// (tests/fixtures/params.json).
const _: () = assert!(ResNet50::PARAMS == 25_557_032);
const _: () = assert!(ResNet50::BUFFERS == 53_173);
const _: () = assert!(ResNet50::COST.buffer_bytes == 26_560 * 4 * 2 + 53 * 8);

/// The model states of training with SGD + momentum in fp32 (activations of a CNN depend on
/// the image size, which the layers do not carry: count them per image as you need).
const STATES: Memory = Training::of::<ResNet50>()
    .precision(Precision::Fp32)
    .optimizer(Optimizer::SgdMomentum)
    .cross_entropy(false)
    .at(Phase::OptimizerStep);
assert_fits!(STATES, gpu::T4.usable());

fn main() {
    print!("{}", Summary::of::<ResNet50>().depth(2));
    println!("\nWeights, gradients and momentum in fp32:");
    print!("{STATES}");
}
