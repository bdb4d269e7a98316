//! Mixtral-8x7B from its `config.json`: a sparse mixture of experts stores all eight experts
//! but runs two per token — memory follows the stored parameters, compute the active ones.
//!
//! Run: `cargo run --example mixtral`

use estimator::prelude::*;

model!(pub Mixtral8x7B = "../configs/mixtral-8x7b.json");

// PyTorch: MixtralForCausalLM(mixtral-8x7b config) = 46,702,792,704 (params-extra.json)
const _: () = assert!(Mixtral8x7B::PARAMS == 46_702_792_704);
// Two of eight experts per token: 12,879,925,248 active (Mistral AI: "12.9B active")
const _: () = assert!(Mixtral8x7B::COST.active == 12_879_925_248);

/// Serving in int4 (matmul weights; embeddings and norms in 16 bits) on one 48 GB card.
const SERVE: Inference = Inference::of::<Mixtral8x7B>()
    .weights(DType::I4)
    .prompt(4096)
    .generate(512);
assert_fits!(SERVE.estimate(), gpu::L40S.usable());
// bf16 weights alone (93 GB) do not fit one 80 GB card
const_assert!(!Inference::of::<Mixtral8x7B>().fits(gpu::H100_80GB.usable()));

fn main() {
    print!(
        "{}",
        Summary::of::<Mixtral8x7B>().depth(3).dtype(DType::BF16)
    );
    println!(
        "\nStored: {} parameters; active per token: {}",
        Mixtral8x7B::PARAMS,
        Mixtral8x7B::COST.active
    );
    println!("\nServing in int4, 4096-token prompt:");
    print!("{}", SERVE.estimate());
    println!(
        "Concurrent sequences on an L40S: {}",
        SERVE.max_batch(gpu::L40S.usable())
    );
}
