//! Will Llama-2-7B fine-tune on a 24 GB card? With QLoRA — the base frozen in 4-bit NormalFloat,
//! LoRA adapters of rank 16 on q and v — yes, and the compiler finds the batch; with a 16-bit
//! base or full fine-tuning, no.
//!
//! Run: `cargo run --example qlora_llama`

use estimator::prelude::*;

model! {
    /// Llama-2-7B with peft's LoRA (r = 16 on `q_proj` and `v_proj`); everything else frozen.
    pub LoraLlama2_7B {
        vocab_size = 32000,
        d_model = 4096,
        n_heads = 32,
        d_ff = 11008,
        n_layers = 32,

        block Attention {
            q_proj: Linear<d_model, d_model, false>,
            shares_input k_proj: Linear<d_model, d_model, false>,
            shares_input v_proj: Linear<d_model, d_model, false>,
            core: AttentionCore<n_heads, n_heads, { d_model / n_heads }>,
            o_proj: Linear<d_model, d_model, false>,
        }
        block Layer {
            input_layernorm: RmsNorm<d_model>,
            self_attn: Attention,
            post_attention_layernorm: RmsNorm<d_model>,
            mlp: GatedFeedForward<d_model, d_ff>,
        }

        embed_tokens: Embedding<vocab_size, d_model>,
        layers: [Layer; n_layers],
        norm: RmsNorm<d_model>,
        rotary_emb: Rotary<{ d_model / n_heads }>,
        // bitsandbytes leaves the head in its dtype (transformers' get_keys_to_not_convert)
        unquantized lm_head: Linear<d_model, vocab_size, false>,
        lora(rank = 16, targets = [q_proj, v_proj]),
    }
}

// peft's print_trainable_parameters(): "trainable params: 8,388,608 || all params: 6,746,804,224"
const _: () = assert!(LoraLlama2_7B::TRAINABLE == 8_388_608);
const _: () = assert!(LoraLlama2_7B::PARAMS == 6_746_804_224);

/// QLoRA as bitsandbytes and peft run it (Dettmers et al. 2023): every Linear but the head in
/// NF4 with double quantization; `prepare_model_for_kbit_training` casts the rest of the base to
/// fp32 and turns gradient checkpointing on, the adapters are fp32 (`autocast_adapter_dtype`),
/// the Trainer computes under bf16 autocast; 512-token sequences, no dropout in Llama.
const QLORA: Training = Training::of::<LoraLlama2_7B>()
    .seq(512)
    .precision(Precision::Autocast(DType::BF16))
    .recompute(Recompute::Full)
    .frozen_weights(DType::NF4DoubleQuant)
    .dropout(false);
const CARD: Bytes = gpu::RTX_4090.usable();
/// The largest micro-batch that fits, found at compile time.
const BATCH: u64 = QLORA.max_batch(CARD);
const_assert!(BATCH >= 4);
assert_fits!(QLORA.batch(BATCH).estimate(), CARD);

/// The same LoRA on a bf16 base does not fit at that batch...
const LORA_BF16: Training = Training::of::<LoraLlama2_7B>()
    .seq(512)
    .precision(Precision::Mixed(DType::BF16))
    .dropout(false)
    .batch(BATCH);
const_assert!(!LORA_BF16.fits(CARD));

model!(pub Llama2_7B = "../configs/llama-2-7b.json");
// ...and full fine-tuning does not fit even one sequence.
const_assert!(
    !Training::of::<Llama2_7B>()
        .seq(512)
        .batch(1)
        .dropout(false)
        .optimizer_impl(OptimizerImpl::Fused)
        .fits(CARD)
);

fn main() {
    print!("{}", Summary::of::<LoraLlama2_7B>().depth(2));
    println!("\nQLoRA on an RTX 4090 ({CARD} usable): largest micro-batch of 512 tokens = {BATCH}");
    print!("{}", QLORA.batch(BATCH).estimate());
    println!("\nThe same LoRA on a bf16 base at batch {BATCH}:");
    print!("{}", LORA_BF16.estimate());
    println!("\nFull fine-tuning, one 512-token sequence:");
    print!(
        "{}",
        Training::of::<Llama2_7B>()
            .seq(512)
            .dropout(false)
            .optimizer_impl(OptimizerImpl::Fused)
            .estimate()
    );
}
