//! In-process estimates per second: a Llama-2-7B training estimate with every part and phase,
//! an inference estimate, and the `max_batch` solver. Run: `cargo bench --bench estimate`.
//! Figures and the machine in `docs/performance.md`.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use estimator::prelude::*;

model!(pub Llama2_7B = "../configs/llama-2-7b.json");

fn estimates(c: &mut Criterion) {
    let train = Training::of::<Llama2_7B>()
        .seq(4096)
        .precision(Precision::Mixed(DType::BF16))
        .optimizer(Optimizer::AdamW)
        .zero(ZeroStage::Three, 8)
        .recompute(Recompute::Full);
    c.bench_function("llama-2-7b training estimate", |b| {
        b.iter(|| black_box(train).batch(black_box(4)).estimate());
    });
    let serve = Inference::of::<Llama2_7B>().prompt(4096).generate(512);
    c.bench_function("llama-2-7b inference estimate", |b| {
        b.iter(|| black_box(serve).batch(black_box(8)).estimate());
    });
    let budget = gpu::A100_80GB.usable();
    c.bench_function("llama-2-7b max_batch (ZeRO-3, 8 GPUs)", |b| {
        b.iter(|| black_box(train).max_batch(black_box(budget)));
    });
}

criterion_group!(benches, estimates);
criterion_main!(benches);
