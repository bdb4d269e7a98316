//! Mistral-7B from its `config.json`: grouped-query attention (8 KV heads for 32 query heads)
//! and a 4096-token sliding window, which together keep its KV cache small.
//!
//! Run: `cargo run --example mistral_7b`

use estimator::prelude::*;

model!(pub Mistral7B = "../configs/mistral-7b.json");

// PyTorch: MistralForCausalLM(mistral-7b-v0.1 config) = 7,241,732,096 (params.json)
const _: () = assert!(Mistral7B::PARAMS == 7_241_732_096);
// K and V of 8 heads of 128 in 32 layers: 65,536 elements (128 KiB in bf16) per cached token
const_assert!(Mistral7B::COST.kv_window_per_token == 65_536);

const SERVE: Inference = Inference::of::<Mistral7B>().generate(256);
/// The longest prompt an L4 holds: the window caps the cache, so the prefill logits decide.
const LONGEST: u64 = SERVE.max_seq(gpu::L4.usable());
const_assert!(LONGEST > 8192);
assert_fits!(SERVE.prompt(LONGEST).estimate(), gpu::L4.usable());

fn main() {
    print!("{}", Summary::of::<Mistral7B>().depth(2).dtype(DType::BF16));
    for prompt in [4096, 32_768] {
        println!("\nServing a {prompt}-token prompt in bf16:");
        print!("{}", SERVE.prompt(prompt).estimate());
    }
    println!(
        "\nLongest prompt on an L4 ({} usable): {LONGEST} tokens",
        gpu::L4.usable()
    );
    println!(
        "With int4 weights and an fp8 cache: {} tokens",
        SERVE
            .weights(DType::I4)
            .kv_cache(DType::F8E4M3)
            .max_seq(gpu::L4.usable())
    );
}
