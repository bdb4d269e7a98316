//! Serving as people run it: what the prompt's pass keeps (the logits policy), and the working
//! set of a long prompt.

use estimator::config::ModelConfig;
use estimator::{Inference, Phase};

fn config(text: &str) -> ModelConfig {
    ModelConfig::from_json(text).expect("a bundled config reads")
}

/// The prompt's logits: `generate()` passes `logits_to_keep=1` (transformers'
/// `GenerationMixin`: one token's logits per step), what engines do too; a forward call on the
/// whole prompt computes every token's. Llama-3-8B (configs/llama-3-8b.json, vocabulary
/// 128,256) at batch 4 × 8192, bf16.
#[test]
fn the_prompt_keeps_the_logits_the_plan_says() {
    use estimator::Logits;
    let cost = config(include_str!("../configs/llama-3-8b.json")).cost();
    let prefill = |l: Logits| {
        Inference::new(cost, "llama-3-8b")
            .batch(4)
            .prompt(8192)
            .logits(l)
            .at(Phase::Prefill)
            .logits
            .get()
    };
    assert_eq!(prefill(Logits::Last), 4 * 128_256 * 2);
    assert_eq!(prefill(Logits::Prompt), 4 * 8192 * 128_256 * 2);
    // the default is generate()'s
    assert_eq!(
        Inference::new(cost, "llama-3-8b")
            .batch(4)
            .prompt(8192)
            .at(Phase::Prefill)
            .logits
            .get(),
        prefill(Logits::Last)
    );
}

/// vLLM's paper (Kwon et al. 2023), §3: "the KV cache of a single token demands 800 KB of
/// space, calculated as 2 (key and value vectors) × 5120 (hidden state size) × 40 (number of
/// layers) × 2 (bytes per FP16)" for OPT-13B; Table 1: OPT-13B on one A100-40GB holds 26 GB of
/// parameters and 12 GB of KV cache, 15.7K token slots (the KV row in GiB: 12 GiB / 800 KiB is
/// 15,729 slots, 12·10⁹ B would be 14,648).
#[test]
fn vllm_table_1_opt_13b() {
    use estimator::{Vllm, gpu};
    let cost = config(include_str!("../configs/opt-13b.json")).cost();
    let base =
        Vllm::new(cost, "opt-13b", gpu::A100_40GB.capacity).gpu_memory_utilization_permille(1000);
    let plan = base.checked_plan().expect("fits");
    assert_eq!(plan.bytes_per_token, 819_200);
    // 26 GB of fp16 parameters: within 3 % (in integers: |w − 26e9| · 100 < 3 · 26e9)
    let weights = plan.weights.get();
    assert!(
        weights.abs_diff(26_000_000_000) * 100 < 3 * 26_000_000_000,
        "{weights}"
    );
    // given the paper's split (12 GiB left for the KV cache), the slots within 3 % of 15.7K
    let other = plan.requested.get() - plan.weights.get() - plan.activations.get() - (12 << 30);
    let split = base
        .other(estimator::Bytes::new(other))
        .checked_plan()
        .expect("fits");
    assert_eq!(split.kv_cache.get(), 12 << 30);
    assert!(
        split.tokens.abs_diff(15_700) * 100 < 3 * 15_700,
        "{}",
        split.tokens
    );
}

/// The block arithmetic of vLLM 0.33's V1 engine, for Llama-3-8B (configs/llama-3-8b.json:
/// 32 layers, 8 KV heads of 128) on an H100 80GB at `max_model_len` 8192: a page is
/// `block_size × kv_heads × (head_size + head_size_v) × 2 bytes` = 16 × 8 × 256 × 2 = 65,536 B
/// per layer (v1/kv_cache_interface.py), `num_blocks = available // (32 × page)`
/// (v1/core/kv_cache_planning.py), a request of 8192 tokens `cdiv(8192, 16)` = 512 blocks,
/// "Maximum concurrency" `num_blocks / 512` (v1/core/kv_cache_utils.py), and the longest
/// `max_model_len` that starts `(num_blocks − 1) × 16` (the null block set aside).
#[test]
fn vllm_blocks_for_llama_3_8b() {
    use estimator::{Vllm, gpu};
    let cost = config(include_str!("../configs/llama-3-8b.json")).cost();
    let vllm = Vllm::new(cost, "llama-3-8b", gpu::H100_80GB.capacity).max_model_len(8192);
    let plan = vllm.checked_plan().expect("fits");
    assert_eq!(plan.bytes_per_token, 32 * 65_536 / 16);
    assert_eq!(plan.bytes_per_block, 32 * 65_536);
    assert_eq!(plan.blocks, plan.kv_cache.get() / (32 * 65_536));
    assert_eq!(plan.tokens, plan.blocks * 16);
    assert_eq!(plan.blocks_per_request, 512);
    assert_eq!(plan.concurrency_milli, plan.blocks * 1000 / 512);
    assert!(plan.starts);
    // ⌈total × 0.92⌉ (v1/worker/utils.py), less the weights and the profile
    assert_eq!(
        plan.requested.get(),
        (gpu::H100_80GB.capacity.get() * 92).div_ceil(100)
    );
    // at 64× the context vLLM refuses to start, and says the longest that would
    let long = vllm.max_model_len(8192 * 64).checked_plan().expect("plans");
    assert!(!long.starts);
    assert_eq!(long.max_model_len, (long.blocks - 1) * 16);
    // tensor parallel 16 over 8 KV heads: one head per GPU (max(1, 8 / 16), config/model.py),
    // replicated, so the cache per token stops shrinking at 8
    let tp16 = vllm.tensor_parallel(16).checked_plan().expect("fits");
    assert_eq!(tp16.bytes_per_token, plan.bytes_per_token / 8);
}

/// A latent (MLA) page is `block_size × (kv_lora_rank + qk_rope_head_dim) × dtype`, one "head"
/// and no separate V (v1/kv_cache_interface.py, MLAAttentionSpec): DeepSeek-V2-Lite
/// (configs/deepseek-v2-lite.json: 27 layers, kv_lora_rank 512, rope 64), bf16; the same on
/// every tensor-parallel rank. Models with several KV-cache groups are refused.
#[test]
fn vllm_latent_pages_and_what_is_refused() {
    use estimator::{EstimateError, Vllm, gpu};
    let lite = config(include_str!("../configs/deepseek-v2-lite.json")).cost();
    let plan = Vllm::new(lite, "lite", gpu::H100_80GB.capacity)
        .max_model_len(4096)
        .tensor_parallel(2)
        .checked_plan()
        .expect("fits");
    assert_eq!(plan.bytes_per_token, 27 * (512 + 64) * 2);
    // Mistral-7B's sliding window: its own KV-cache group in vLLM's hybrid allocator
    let mistral = config(include_str!("../configs/mistral-7b.json")).cost();
    assert_eq!(
        Vllm::new(mistral, "mistral", gpu::H100_80GB.capacity)
            .max_model_len(8192)
            .checked_plan(),
        Err(EstimateError::EngineNotModeled)
    );
}
