//! Llama-2-7B read from its Hugging Face `config.json` at compile time (edit the file and the
//! crate rebuilds): full fine-tuning versus inference, and what fits where.
//!
//! Run: `cargo run --example llama2_7b`

use estimator::prelude::*;

model!(pub Llama2_7B = "../configs/llama-2-7b.json");

// PyTorch: LlamaForCausalLM(llama-2-7b config) = 6,738,415,616 (tests/fixtures/params.json)
const _: () = assert!(Llama2_7B::PARAMS == 6_738_415_616);

/// Full fine-tuning: bf16 mixed precision (16 bytes per parameter), AdamW, 4096 tokens.
const FULL: Training = Training::of::<Llama2_7B>()
    .seq(4096)
    .dropout(false)
    .optimizer_impl(OptimizerImpl::Fused);
// It needs more than one 80 GB card...
const_assert!(!FULL.fits(gpu::A100_80GB.usable()));
// ...and fits on eight with ZeRO-3 and full recomputation.
assert_fits!(
    FULL.zero(ZeroStage::Three, 8)
        .recompute(Recompute::Full)
        .estimate(),
    gpu::A100_80GB.usable()
);

/// Serving in bf16 with a 4096-token context.
const SERVE: Inference = Inference::of::<Llama2_7B>().prompt(3584).generate(512);
assert_fits!(SERVE.estimate(), gpu::RTX_4090.usable());

fn main() {
    print!("{}", Summary::of::<Llama2_7B>().depth(2).dtype(DType::BF16));
    println!("\nFull fine-tuning on one GPU (bf16 mixed precision, fused AdamW, 1 × 4096 tokens):");
    print!("{}", FULL.estimate());
    println!("\nThe same on 8 GPUs with ZeRO-3 and full recomputation, per GPU:");
    print!(
        "{}",
        FULL.zero(ZeroStage::Three, 8)
            .recompute(Recompute::Full)
            .estimate()
    );
    println!("\nServing one 4096-token sequence in bf16:");
    print!("{}", SERVE.estimate());
    println!(
        "Concurrent 4096-token sequences on an A100 80GB: {}",
        SERVE.max_batch(gpu::A100_80GB.usable())
    );
}
