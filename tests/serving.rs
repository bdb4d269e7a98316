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
/// every tensor-parallel rank. State-space layers without their states given
/// ([`estimator::Vllm::mamba`]) are refused.
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
    // state-space layers whose states are not given
    let jamba = config(include_str!("../configs/jamba-v0.1.json")).cost();
    assert_eq!(
        Vllm::new(jamba, "jamba", gpu::H100_80GB.capacity)
            .max_model_len(8192)
            .checked_plan(),
        Err(EstimateError::EngineNotModeled)
    );
}

/// A plan whose KV cache is exactly `kv` bytes: `other` takes up the rest of what vLLM
/// requests (on a GPU large enough to hold any of these models' weights).
fn vllm_with_kv(v: estimator::Vllm, kv: u64) -> estimator::KvPlan {
    let first = v.checked_plan().expect("plans");
    let used = first.requested.get() - first.weights.get() - first.activations.get();
    v.other(estimator::Bytes::new(used - kv))
        .checked_plan()
        .expect("plans")
}

/// vLLM 0.33's state-space groups, worked by hand from its source (paths under `vllm/`): the
/// states `model_executor/layers/mamba/mamba_utils.py:171-211`; prefix caching on for hybrids,
/// off for attention-free models `config/model.py:2275-2291`, hence `mamba_cache_mode` "align"
/// or "none" `model_executor/models/config.py:750-787`; the block `platforms/interface.py:1098-1135`
/// (`_align_hybrid_block_size`); the groups `v1/core/kv_cache_planning.py:521-555`, the block's
/// bytes `:574-605`, the blocks `:1567-1577`; a request's blocks `v1/kv_cache_interface.py:643-648`
/// (attention) and `:1135-1141` (Mamba: 1 in "none", 2 + prefill checkpoint blocks in "align",
/// Mamba-2's mixer declaring one, `mamba_mixer2.py:1108-1118`); the log line
/// `v1/core/kv_cache_utils.py:1061-1128`. With 40 GiB of KV cache, bf16, `max_model_len` 8192:
/// - Jamba-v0.1 (Mamba-1 mixers, attention in 4 of 32 layers, 8 KV heads of 128): a state is
///   conv (3, 8192) + SSM (8192, 16) = 311,296 B; the attention block rises to
///   16 · ⌈311,296 / (16 · 4096)⌉ = 80 tokens, its page 327,680 B (the state padded to it);
///   groups of 4 layers, 1 attention + 7 Mamba, 1,310,720 B a block, 32,768 blocks; prefix
///   caching is on for a hybrid ("align"), so a request takes ⌈8192 / 80⌉ + 7 × 2 = 117
///   blocks: 280.07x, 2,294,320 tokens.
/// - mamba-2.8b (attention-free, 64 layers of conv (3, 5120) + SSM (5120, 16) = 194,560 B): one
///   group, 12,451,840 B a block, 3,449 blocks, one a request: 3449.00x, 28,254,208 tokens.
/// - A Bamba-shaped Mamba-2 hybrid (Bamba-9B's dims, GraniteMoeHybrid's formula; vLLM 0.33 no
///   longer serves Bamba itself): a state of conv (3, 8448) + SSM (128, 64, 128) = 2,147,840 B,
///   the block 528 tokens, the page 2,162,688 B, groups of 3 layers (1 + 10 Mamba, one
///   padded), 6,488,064 B a block, 6,619 blocks, ⌈8192 / 528⌉ + 10 × 3 = 46 a request:
///   143.89x, 1,178,757 tokens.
#[test]
fn vllm_mamba_groups() {
    use estimator::{Bytes, Vllm};
    let kv = 40u64 << 30;
    let big = Bytes::new(400 << 30);
    let jamba = config(include_str!("../configs/jamba-v0.1.json")).cost();
    let p = vllm_with_kv(
        Vllm::new(jamba, "jamba", big)
            .max_model_len(8192)
            .mamba(28, 311_296, 0),
        kv,
    );
    assert_eq!(p.kv_cache.get(), kv);
    assert_eq!((p.block_size, p.state_bytes), (80, 327_680));
    assert_eq!(
        (p.groups, p.bytes_per_block, p.blocks),
        (8, 1_310_720, 32_768)
    );
    assert_eq!(p.blocks_per_request, 117);
    assert_eq!((p.concurrency_milli, p.tokens), (280_068, 2_294_320));
    assert!(p.starts);
    let mamba = config(include_str!("../configs/mamba-2.8b.json")).cost();
    let p = vllm_with_kv(
        Vllm::new(mamba, "mamba", big)
            .max_model_len(8192)
            .mamba(64, 194_560, 0),
        kv,
    );
    assert_eq!(
        (p.groups, p.bytes_per_block, p.blocks),
        (1, 12_451_840, 3_449)
    );
    assert_eq!((p.blocks_per_request, p.tokens), (1, 28_254_208));
    assert_eq!((p.concurrency_milli, p.block_size), (3_449_000, 8192));
    let bamba = config(include_str!("../configs/bamba-9b.json")).cost();
    let p = vllm_with_kv(
        Vllm::new(bamba, "bamba", big)
            .max_model_len(8192)
            .mamba(29, 2_147_840, 1),
        kv,
    );
    assert_eq!((p.block_size, p.state_bytes), (528, 2_162_688));
    assert_eq!(
        (p.groups, p.bytes_per_block, p.blocks),
        (11, 6_488_064, 6_619)
    );
    assert_eq!((p.blocks_per_request, p.tokens), (46, 1_178_757));
    assert_eq!(p.concurrency_milli, 143_891);
}

/// Sliding-window layers in vLLM 0.33's hybrid allocator, worked from its source
/// (`v1/core/kv_cache_planning.py`, `_get_kv_cache_groups_hybrid`; `v1/kv_cache_interface.py`,
/// `SlidingWindowSpec.max_admission_blocks_per_request`; `config/vllm.py`,
/// `max_in_flight_tokens` = 2 batches of `max_num_batched_tokens`, 8192 on an H100):
/// - Mistral-7B, every layer sliding (window 4096): one group of 32 layers × 16 tokens ×
///   8 KV heads × 128 × 2 (K, V) × 2 B = 2 MiB a block; a request of 8192 tokens holds
///   ⌈min(4095 + 16384, 8192) / 16⌉ + 1 = 513 blocks.
/// - Gemma-3-12B, 8 full and 40 sliding layers (window 1024) of 8 KV heads × 256: groups of 8
///   layers (40 ≥ 1.5 × 8), 1 full + 5 sliding, a block of 8 pages of 16 × 8192 B = 1 MiB; at
///   32768 tokens a request holds 2048 + 5 × (⌈17407 / 16⌉ + 1) = 7493 blocks.
/// - gpt-oss-20b, 12 full and 12 sliding (window 128) of 8 × 64: one group of each kind of 12
///   layers (12 < 1.5 × 12 takes the larger count), 12 × 16 × 2048 B = 384 KiB a block; at
///   131072 tokens 8192 + ⌈16511 / 16⌉ + 1 = 9225 blocks.
///
/// Concurrency = blocks / blocks a request (`kv_cache_utils.py`,
/// `get_max_concurrency_for_kv_cache_config`), the token capacity that times `max_model_len`.
#[test]
fn vllm_sliding_window_groups() {
    use estimator::{Vllm, gpu};
    let plan = |json: &str, len: u64| {
        Vllm::new(config(json).cost(), "m", gpu::H100_80GB.capacity)
            .max_model_len(len)
            .checked_plan()
            .expect("plans")
    };
    let mistral = plan(include_str!("../configs/mistral-7b.json"), 8192);
    assert_eq!(
        (
            mistral.groups,
            mistral.bytes_per_block,
            mistral.blocks_per_request
        ),
        (1, 2 << 20, 513)
    );
    let gemma = plan(include_str!("../configs/gemma-3-12b.json"), 32768);
    assert_eq!(
        (
            gemma.groups,
            gemma.bytes_per_block,
            gemma.blocks_per_request
        ),
        (6, 1 << 20, 7493)
    );
    let oss = plan(include_str!("../configs/gpt-oss-20b.json"), 131_072);
    assert_eq!(
        (oss.groups, oss.bytes_per_block, oss.blocks_per_request),
        (2, 384 << 10, 9225)
    );
    for p in [mistral, gemma, oss] {
        assert_eq!(p.blocks, p.kv_cache.get() / p.bytes_per_block);
        assert_eq!(p.concurrency_milli, p.blocks * 1000 / p.blocks_per_request);
        assert!(p.starts);
    }
    assert_eq!(gemma.tokens, gemma.blocks * 32768 / 7493);
    // a context that does not start: the longest that would leaves the null block, and the
    // sliding groups' fixed 5 × 1089 blocks, for the full group's ⌈len / 16⌉
    let long = plan(include_str!("../configs/gemma-3-12b.json"), 1 << 20);
    assert!(!long.starts);
    assert_eq!(long.max_model_len, (long.blocks - 1 - 5 * 1089) * 16);
}

/// vLLM's Table 1, the larger rows: OPT-66B on 4 A100s (40 GB each: 160 GB) holds 132 GB of
/// parameters and 21 GB of KV cache, 9.7K token slots; OPT-175B on 8 A100-80GB holds 346 GB
/// and 264 GB, 60.1K slots. Tensor parallelism splits each token's 2 × hidden × layers × 2 B
/// (2.25 MiB for 66B, 4.5 MiB for 175B) over the GPUs; given the paper's KV split (in GiB, as
/// the 13B row), the slots are 21 GiB / 2.25 MiB = 9,557 (1.5 % under the printed 9.7K) and
/// 264 GiB / 4.5 MiB = 60,074. OPT-175B's config is OPT's Table 1 (96 layers, 96 heads of
/// 128, FFN 49152) on OPT-66B's file; PyTorch counts it at 174,604,468,224 parameters
/// (tests/fixtures/config-params.json).
#[test]
fn vllm_table_1_opt_66b_and_175b() {
    use estimator::{Bytes, Vllm, gpu};
    let rows = [
        (
            include_str!("../configs/opt-66b.json"),
            4u64,
            gpu::A100_40GB.capacity,
            132_000_000_000u64,
            21u64 << 30,
            9_700u64,
        ),
        (
            include_str!("../configs/opt-175b.json"),
            8,
            gpu::A100_80GB.capacity,
            346_000_000_000,
            264 << 30,
            60_100,
        ),
    ];
    for (json, tp, capacity, weights, kv, slots) in rows {
        let base = Vllm::new(config(json).cost(), "opt", capacity)
            .gpu_memory_utilization_permille(1000)
            .max_model_len(2048)
            .tensor_parallel(tp);
        let plan = base.checked_plan().expect("plans");
        // the weights over the GPUs, within 3 % of the row
        let all = plan.weights.get() * tp;
        assert!(all.abs_diff(weights) * 100 < 3 * weights, "{all}");
        // the paper's split: what each GPU leaves to its share of the KV cache
        let share = kv / tp;
        let other = plan.requested.get() - plan.weights.get() - plan.activations.get() - share;
        let split = base.other(Bytes::new(other)).checked_plan().expect("plans");
        assert_eq!(split.kv_cache.get(), share);
        assert!(
            split.tokens.abs_diff(slots) * 100 < 3 * slots,
            "{}",
            split.tokens
        );
    }
}

/// Sizing for a target: the least `gpu_memory_utilization` and the least tensor-parallel degree
/// at which vLLM holds N requests of `max_model_len` at once — the smallest values whose
/// startup (pinned by the tests above) reaches the target, the next smaller ones not.
#[test]
fn vllm_sizes_for_a_target_concurrency() {
    use estimator::{Vllm, gpu};
    let llama = Vllm::new(
        config(include_str!("../configs/llama-3-8b.json")).cost(),
        "llama",
        gpu::H100_80GB.capacity,
    )
    .max_model_len(8192);
    let reached = |v: Vllm, milli: u64| {
        v.checked_plan()
            .is_ok_and(|p| p.starts && p.concurrency_milli >= milli)
    };
    let u = llama.utilization_for(16_000).expect("16 requests fit");
    assert!(reached(llama.gpu_memory_utilization_permille(u), 16_000));
    assert!(!reached(
        llama.gpu_memory_utilization_permille(u - 1),
        16_000
    ));
    // more than the whole GPU holds: no utilization, but more GPUs
    let full = llama.checked_plan().expect("plans").concurrency_milli;
    assert_eq!(llama.utilization_for(2 * full), None);
    let t = llama
        .tensor_parallel_for(2 * full)
        .expect("some TP reaches it");
    assert!(t > 1 && reached(llama.tensor_parallel(t), 2 * full));
    assert!(!reached(llama.tensor_parallel(t / 2), 2 * full));
    // Llama-3.1-70B's 140 GB of bf16 weights need more than one 80 GB GPU to start at all
    let big = Vllm::new(
        config(include_str!("../configs/llama-3.1-70b.json")).cost(),
        "llama-70b",
        gpu::H100_80GB.capacity,
    )
    .max_model_len(8192);
    assert_eq!(big.utilization_for(1000), None);
    assert!(big.tensor_parallel_for(1000).is_some_and(|t| t >= 2));
}

/// SGLang 0.5.23's default `mem_fraction_static` (`arg_groups/memory_hook.py`): these are the
/// values SGLang's own argument resolution gives for Llama-3-8B with each GPU's `nvidia-smi`
/// total patched in (run on CPU from the 0.5.23 package), at tensor parallel 1, 2, 4 and 8.
#[test]
fn sglang_default_mem_fraction_static() {
    use estimator::{Sglang, gpu};
    let cost = config(include_str!("../configs/llama-3-8b.json")).cost();
    let rows = [
        (gpu::H100_80GB, [830, 828, 819, 812]),
        (gpu::A100_80GB, [830, 829, 819, 813]),
        (gpu::A100_40GB, [823, 820, 807, 795]),
        (gpu::H200, [903, 902, 897, 893]),
        (gpu::L4, [684, 678, 658, 635]),
    ];
    for (g, expected) in rows {
        for (i, tp) in [1u64, 2, 4, 8].into_iter().enumerate() {
            let plan = Sglang::new(cost, "llama", g)
                .context_length(8192)
                .tensor_parallel(tp)
                .checked_plan()
                .expect("plans");
            assert_eq!(
                plan.mem_fraction_static_permille, expected[i],
                "{} tp {tp}",
                g.name
            );
        }
    }
}

/// SGLang's pool for Llama-3-8B on one H100 (worked from 0.5.23's source:
/// `kv_cache_configurator.py` `_profile_available_bytes`, `pool_configurator.py`): with the free
/// memory before the weights at 78.58 GiB, the budget is 0.83 × 78.58 GiB − 16,060,522,496 B of
/// bf16 weights, the cell 8 × 256 × 32 × 2 = 131,072 B, so 411,761 tokens ("KV Cache is
/// allocated. #tokens: 411761, K size: 25.13 GB, V size: 25.13 GB" with the padding page),
/// max_running_requests 4096. A latent cache is whole on every rank.
#[test]
fn sglang_pool() {
    use estimator::{Bytes, Sglang, gpu};
    let cost = config(include_str!("../configs/llama-3-8b.json")).cost();
    // 78.58 GiB, to the byte
    let free = Bytes::new(7858 * (1u64 << 30) / 100);
    // context_len: Llama-3-8B's max_position_embeddings
    let plan = Sglang::new(cost, "llama", gpu::H100_80GB)
        .context_length(8192)
        .free_memory(free)
        .checked_plan()
        .expect("plans");
    // and the rotary embedding's two fp32 buffers of 64
    assert_eq!(plan.weights.get(), 16_060_522_496 + 4 * 128);
    assert_eq!(plan.bytes_per_token, 131_072);
    assert!(plan.tokens.abs_diff(411_761) <= 1, "{}", plan.tokens);
    assert_eq!(plan.kv_cache.get(), (plan.tokens + 1) * 131_072);
    // 25.13 GiB each for K and V
    assert_eq!((plan.kv_cache.get() / 2 * 100 + (1 << 29)) >> 30, 2513);
    assert_eq!(plan.max_running_requests, 4096);
    // a set fraction and a cap
    let capped = Sglang::new(cost, "llama", gpu::H100_80GB)
        .context_length(8192)
        .mem_fraction_static_permille(900)
        .max_total_tokens(100_000)
        .checked_plan()
        .expect("plans");
    assert_eq!(capped.tokens, 100_000);
    assert_eq!(capped.reserve.get(), 0);
    // DeepSeek-V2-Lite's latent cache: 27 layers × (512 + 64) × 2 B, not split by tensor
    // parallelism (pool_configurator.py, `_compute_cell_size`)
    let lite = config(include_str!("../configs/deepseek-v2-lite.json")).cost();
    let mla = Sglang::new(lite, "lite", gpu::H100_80GB)
        .context_length(4096)
        .tensor_parallel(2)
        .checked_plan()
        .expect("plans");
    assert_eq!(mla.bytes_per_token, 27 * 576 * 2);
}

/// SGLang's split sliding-window pool for gpt-oss (on its hybrid-SWA list,
/// `configs/model_config.py` `SWA_SINK_ARCHS`), worked from `pool_configurator.py`
/// `HybridSWAPoolConfigurator` (SGLang 0.5.23): 12 full and 12 sliding layers of 8 KV heads ×
/// (64 + 64) × 2 B, so 24,576 B a token for each kind; the cell is 24,576 + 0.8 × 24,576 =
/// 44,236.8 B; on an H100 at a set 0.9 with 60 GiB free, the budget is 0.9 × 60 GiB less the
/// bf16 weights, `max_total_num_tokens = int(budget // cell)` is the full pool and
/// `int(full × 0.8)` the sliding one, each allocated with a padding page. A pool of 130 tokens
/// or fewer cannot hold a request of gpt-oss's 128-token window plus a page
/// (`validate_swa_pool_size`): startup fails.
#[test]
fn sglang_split_sliding_window_pool() {
    use estimator::{Bytes, Sglang, gpu};
    let cost = config(include_str!("../configs/gpt-oss-20b.json")).cost();
    let base = Sglang::new(cost, "oss", gpu::H100_80GB)
        .context_length(32_768)
        .mem_fraction_static_permille(900)
        .free_memory(Bytes::new(60 << 30))
        .split_sliding_window(800);
    let plan = base.checked_plan().expect("plans");
    let budget = u128::from(plan.budget.get());
    assert_eq!(
        budget,
        9 * (60u128 << 30) / 10 - u128::from(plan.weights.get())
    );
    // budget // 44,236.8, exactly: budget × 10 // 442,368
    assert_eq!(u128::from(plan.tokens), budget * 10 / 442_368);
    assert_eq!(plan.swa_tokens, plan.tokens * 4 / 5);
    assert_eq!(plan.bytes_per_token, 2 * 24_576);
    assert_eq!(
        plan.kv_cache.get(),
        (plan.tokens + 1) * 24_576 + (plan.swa_tokens + 1) * 24_576
    );
    assert!(plan.starts);
    // a pool too small for one window
    let tight = base.max_total_tokens(160).checked_plan().expect("plans");
    assert_eq!((tight.tokens, tight.swa_tokens), (160, 128));
    assert!(!tight.starts);
    // without the split, every layer in the one pool
    let one = Sglang::new(cost, "oss", gpu::H100_80GB)
        .context_length(32_768)
        .mem_fraction_static_permille(900)
        .free_memory(Bytes::new(60 << 30))
        .checked_plan()
        .expect("plans");
    assert_eq!((one.swa_tokens, one.bytes_per_token), (0, 2 * 24_576));
    assert!(one.tokens < plan.tokens);
}

/// SGLang serving an attention-free Mamba (0.5.23; the per-request state checked against
/// SGLang's own `Mamba2CacheParams.mamba_cache_per_req` run on CPU; `configs/mamba_utils.py`
/// `create_full_rank`, `mamba2_state_dtype`; `mem_cache/kv_cache_configurator.py`
/// `_handle_max_mamba_cache`, `resolve_max_num_reqs`; `model_executor/pool_configurator.py`
/// `_zero_kv_max_tokens`): mamba-2.8b keeps per layer a bf16 conv state (5120, 3) and an fp32
/// SSM state (5120, 1, 16), 30,720 + 327,680 = 358,400 B, 22,937,600 B a request over 64
/// layers; the state pool gets 0.9 / 1.9 of the budget, `K = (that − per_req) // per_req`
/// slots and `K + 1` allocated; no KV pool, `max_total_num_tokens` the context; at most
/// `K // 3` running requests (three slots each with the radix cache).
#[test]
fn sglang_mamba_state_pool() {
    use estimator::{Bytes, Sglang, gpu};
    let cost = config(include_str!("../configs/mamba-2.8b.json")).cost();
    let plan = Sglang::new(cost, "mamba", gpu::H100_80GB)
        .context_length(8192)
        .mem_fraction_static_permille(900)
        .free_memory(Bytes::new(60 << 30))
        .mamba(64, 358_400)
        .checked_plan()
        .expect("plans");
    let per_req = 64 * 358_400;
    assert_eq!(plan.state_bytes, per_req);
    let budget = plan.budget.get();
    let slots = (budget * 9 / 19 - per_req) / per_req;
    assert_eq!(plan.state_slots, slots);
    assert_eq!(plan.kv_cache.get(), (slots + 1) * per_req);
    assert_eq!(plan.tokens, 8192);
    assert_eq!(plan.max_running_requests, (slots / 3).min(2048).min(4096));
    assert!(plan.starts);
    // without the states given, refused
    assert_eq!(
        Sglang::new(cost, "mamba", gpu::H100_80GB)
            .context_length(8192)
            .checked_plan(),
        Err(estimator::EstimateError::EngineNotModeled)
    );
}

/// llama.cpp (commit 0c1e57098, as vendored by llama-cpp-python 0.3.36) loading Llama-3-8B,
/// measured on its CPU build (`llama-fit-params --fit-print on`, `llama-completion`) with a GGUF
/// of Llama-3-8B's exact shapes: the KV cache at 8192 cells is 1024 MiB in f16, 544 MiB in
/// q8_0, 288 MiB in q4_0, and `-c 8000` pads to 8192 cells; the compute buffer with flash
/// attention at n_ubatch 64 / 256 / 512 / 1024 / 2048 is 33.31 / 133.25 / 266.50 / 533.00 /
/// 1066.01 MiB, without it at n_ubatch 512 and 4096 / 8192 / 16384 / 32768 cells 308.01 /
/// 572.01 / 1100.01 / 2156.01 MiB, at 8192 cells and n_ubatch 64 / 256 / 1024 71.50 / 286.00 /
/// 1144.02 MiB (the estimate is within 0.02 MiB: the graph's small tensors).
#[test]
fn llama_cpp_kv_and_compute_buffers() {
    use estimator::{GgmlType, LlamaCpp};
    let cost = config(include_str!("../configs/llama-3-8b.json")).cost();
    let base = LlamaCpp::new(cost, "llama").n_ctx(8192);
    let mib = |b: estimator::Bytes| b.get() >> 20;
    let kv = |t: GgmlType| {
        base.cache_types(t, t)
            .checked_plan()
            .expect("plans")
            .gpu_kv_cache
    };
    assert_eq!(mib(kv(GgmlType::F16)), 1024);
    assert_eq!(mib(kv(GgmlType::Q8_0)), 544);
    assert_eq!(mib(kv(GgmlType::Q4_0)), 288);
    assert_eq!(base.n_ctx(8000).checked_plan().expect("plans").n_ctx, 8192);
    // within 0.02 MiB of each measured compute buffer (in hundredths of a MiB)
    let near = |plan: LlamaCpp, centi_mib: u64| {
        let got = plan.checked_plan().expect("plans").gpu_compute.get();
        let want = centi_mib * (1 << 20) / 100;
        assert!(got.abs_diff(want) <= 21_000, "{got} vs {want}");
    };
    for (ub, measured) in [
        (64, 3331),
        (256, 13325),
        (512, 26650),
        (1024, 53300),
        (2048, 106_601),
    ] {
        near(base.n_ctx(32768).n_ubatch(ub), measured);
    }
    let eager = base.flash_attention(false);
    for (cells, measured) in [
        (4096, 30801),
        (8192, 57201),
        (16384, 110_001),
        (32768, 215_601),
    ] {
        near(eager.n_ctx(cells), measured);
    }
    for (ub, measured) in [(64, 7150), (256, 28600), (1024, 114_402)] {
        near(eager.n_ubatch(ub), measured);
    }
}

/// llama.cpp's offload (`src/llama-model.cpp`): `-ngl 20` puts the output layer and the last
/// 19 repeating layers on the GPU ("offloaded 20/33 layers to GPU"), their KV cache with them:
/// 19 × 32 MiB on the GPU and 13 × 32 MiB on the host at 8192 f16 cells (the numbers worked
/// from the source for Llama-3-8B); the token embeddings stay on the host; a tied head is a
/// second copy on the output's device.
#[test]
fn llama_cpp_offload() {
    use estimator::{GgmlType, LlamaCpp};
    let cost = config(include_str!("../configs/llama-3-8b.json")).cost();
    let plan = LlamaCpp::new(cost, "llama")
        .n_ctx(8192)
        .n_gpu_layers(20)
        .checked_plan()
        .expect("plans");
    assert_eq!((plan.gpu_layers, plan.layers), (20, 33));
    assert_eq!(plan.gpu_kv_cache.get(), 19 * (32 << 20));
    assert_eq!(plan.host_kv_cache.get(), 13 * (32 << 20));
    // f16 matrices and f32 norms: a layer of 218,103,808 matrix elements and two norms of
    // 4096; the head 128,256 × 4096 with the final norm; the embeddings on the host
    let layer = 2 * 218_103_808 + 4 * 2 * 4096;
    let embeddings = 2 * 128_256 * 4096;
    assert_eq!(plan.gpu_weights.get(), 19 * layer + embeddings + 4 * 4096);
    assert_eq!(plan.host_weights.get(), 13 * layer + embeddings);
    // everything on the GPU by default; q8_0 weights are 34 bytes a block of 32
    let full = LlamaCpp::new(cost, "llama")
        .n_ctx(8192)
        .weights(GgmlType::Q8_0)
        .checked_plan()
        .expect("plans");
    assert_eq!(full.gpu_layers, 33);
    assert_eq!(full.host_kv_cache.get(), 0);
    assert_eq!(
        full.gpu_weights.get(),
        32 * (218_103_808 / 32 * 34 + 4 * 2 * 4096) + 128_256 * 4096 / 32 * 34 + 4 * 4096
    );
    // Llama-3.2-1B ties its head: the output layer holds a second copy of the embeddings
    let tied = config(include_str!("../configs/llama-3.2-1b.json")).cost();
    let one = LlamaCpp::new(tied, "llama-1b")
        .n_ctx(4096)
        .checked_plan()
        .expect("plans");
    let copy = 2 * 128_256 * 2048;
    assert_eq!(one.host_weights.get(), copy);
    assert!(one.gpu_weights.get() > copy);
}
