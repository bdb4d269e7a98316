//! Properties every estimate must have, over random models and settings (proptest; 64 cases per
//! property in CI, `PROPTEST_CASES=10000` for a longer hunt).
//!
//! Where a property holds only in a domain, the domain is the generator's and says why: flash
//! attention keeps one fp32 number per head and token, so it beats eager scores only from a few
//! tokens on; full recomputation replays one block, so it beats selective recomputation from two
//! layers on.

use estimator::config::{Lora, LoraTargets, ModelConfig};
use estimator::prelude::*;
use proptest::prelude::*;

/// A random decoder that `config.json` could describe, read through the family table (a
/// spread of recipes: Llama, sliding-window Mistral, biased Qwen2, per-head-norm Qwen3,
/// sandwich Gemma 2, parallel GPT-NeoX, GPT-2, mixture-of-experts Mixtral).
fn model() -> impl Strategy<Value = ModelConfig> {
    (
        prop_oneof![
            Just("llama"),
            Just("mistral"),
            Just("qwen2"),
            Just("qwen3"),
            Just("gemma2"),
            Just("gpt_neox"),
            Just("gpt2"),
            Just("mixtral"),
        ],
        1u64..=8,                                     // KV heads
        1u64..=4,                                     // query heads per KV head
        prop_oneof![Just(16u64), Just(32), Just(64)], // head width
        2u64..=6,                                     // layers
        1u64..=4,                                     // MLP width / hidden
        16u64..=32_000,                               // vocabulary
        (2u64..=8, 1u64..=2),                         // experts, per token
    )
        .prop_map(|(t, kv, group, hd, layers, ratio, vocab, (experts, k))| {
            let heads = kv * group;
            let hidden = heads * hd;
            let json = if t == "gpt2" {
                serde_json::json!({
                    "model_type": t, "n_embd": hidden, "n_head": heads, "n_layer": layers,
                    "n_inner": ratio * hidden, "vocab_size": vocab,
                })
            } else {
                serde_json::json!({
                    "model_type": t, "hidden_size": hidden, "num_attention_heads": heads,
                    "num_key_value_heads": kv, "head_dim": hd, "num_hidden_layers": layers,
                    "intermediate_size": ratio * hidden, "vocab_size": vocab,
                    "max_position_embeddings": 1024, "sliding_window": 256,
                    "num_local_experts": experts, "num_experts_per_tok": k.min(experts),
                })
            };
            ModelConfig::from_json(&json.to_string()).expect("a generated config reads")
        })
}

fn precision() -> impl Strategy<Value = Precision> {
    prop_oneof![
        Just(Precision::Fp32),
        Just(Precision::Mixed(DType::BF16)),
        Just(Precision::MixedFp32Grads(DType::F16)),
        Just(Precision::Pure(DType::BF16)),
        Just(Precision::Autocast(DType::BF16)),
    ]
}

fn optimizer() -> impl Strategy<Value = Optimizer> {
    prop_oneof![
        Just(Optimizer::Sgd),
        Just(Optimizer::SgdMomentum),
        Just(Optimizer::AdamW),
        Just(Optimizer::AdamW8bit),
        Just(Optimizer::Adafactor),
        Just(Optimizer::Lion),
    ]
}

fn kernel() -> impl Strategy<Value = AttentionKernel> {
    prop_oneof![
        Just(AttentionKernel::Flash),
        Just(AttentionKernel::Eager),
        Just(AttentionKernel::Math)
    ]
}

/// A random training run of a random model.
fn training() -> impl Strategy<Value = (ModelConfig, Training)> {
    (
        model(),
        precision(),
        optimizer(),
        kernel(),
        any::<bool>(),
        1u64..=16,
        // GPT-2's 1024 learned positions bound the sequence (every generated config has 1024)
        8u64..=1024,
    )
        .prop_map(|(c, p, o, k, dropout, batch, seq)| {
            let t = Training::new(c.cost(), "random")
                .precision(p)
                .optimizer(o)
                .attention(k)
                .dropout(dropout)
                .batch(batch)
                .seq(seq);
            (c, t)
        })
}

fn total(t: Training) -> u64 {
    t.estimate().total().get()
}

fn stored(t: Training) -> u64 {
    t.at(Phase::Forward).activations.get()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64),
        ..ProptestConfig::default()
    })]

    #[test]
    fn memory_grows_with_batch_and_sequence((_, t) in training()) {
        let at = |batch: u64, seq: u64| total(t.batch(batch).seq(seq));
        for (batch, seq) in [(1, 64), (2, 64), (4, 64), (4, 128), (4, 512)] {
            prop_assert!(at(batch, seq) <= at(batch + 1, seq));
            prop_assert!(at(batch, seq) <= at(batch, seq + 1));
        }
    }

    #[test]
    fn kernels_and_recomputation_order_activations((_, t) in training()) {
        let t = t.seq(256);
        let act = |k: AttentionKernel, r: Recompute| stored(t.attention(k).recompute(r));
        prop_assert!(act(AttentionKernel::Flash, Recompute::None) <= act(AttentionKernel::Eager, Recompute::None));
        prop_assert!(act(AttentionKernel::Eager, Recompute::Selective) <= act(AttentionKernel::Eager, Recompute::None));
        prop_assert!(act(AttentionKernel::Flash, Recompute::Full) <= act(AttentionKernel::Flash, Recompute::Selective));
        // replaying one block during backward still beats keeping every block (the generator's
        // models have two layers or more)
        let replayed = t.attention(AttentionKernel::Flash).recompute(Recompute::Full).dropout(false);
        let kept = t.attention(AttentionKernel::Flash).recompute(Recompute::None).dropout(false);
        prop_assert!(replayed.estimate().total() <= kept.estimate().total());
    }

    #[test]
    fn zero_stages_shrink_memory_per_gpu((_, t) in training(), gpus in 2u64..=64) {
        let t = t.optimizer(Optimizer::AdamW).optimizer_impl(OptimizerImpl::Fused);
        let per_gpu = |z: ZeroStage| total(t.zero(z, gpus));
        prop_assert!(per_gpu(ZeroStage::One) <= per_gpu(ZeroStage::Off));
        prop_assert!(per_gpu(ZeroStage::Two) <= per_gpu(ZeroStage::One));
        prop_assert!(per_gpu(ZeroStage::Three) <= per_gpu(ZeroStage::Two));
    }

    #[test]
    fn lora_costs_less_than_full_fine_tuning((c, t) in training(), rank in 1u64..=16) {
        prop_assume!(c.moe.experts == 0);
        let targets = LoraTargets { q: true, v: true, ..LoraTargets::default() };
        let lora = Training::new(c.architecture(Some(Lora { rank, targets })).cost(), "lora");
        let copy = |x: Training| x.precision(Precision::Mixed(DType::BF16)).batch(2).seq(128);
        prop_assert!(total(copy(lora)) <= total(copy(t)));
        prop_assert!(lora.cost().trainable < t.cost().trainable);
    }

    #[test]
    fn inference_costs_less_than_training(c in model(), batch in 1u64..=8, seq in 8u64..=1024) {
        let train = Training::new(c.cost(), "m").precision(Precision::Mixed(DType::BF16)).batch(batch).seq(seq);
        let serve = Inference::new(c.cost(), "m").weights(DType::BF16).batch(batch).prompt(seq).generate(0);
        prop_assert!(serve.estimate().total() <= train.estimate().total());
    }

    #[test]
    fn max_batch_is_the_largest_that_fits((_, t) in training(), gib in 1u64..=80) {
        let budget = Bytes::gib(gib);
        let b = t.max_batch(budget);
        if b > 0 {
            prop_assert!(t.batch(b).fits(budget));
        } else {
            prop_assert!(!t.batch(1).fits(budget));
        }
        prop_assert!(!t.batch(b + 1).fits(budget));
        let s = t.max_seq(budget);
        if s > 0 {
            prop_assert!(t.seq(s).fits(budget));
        }
        prop_assert!(!t.seq(s + 1).fits(budget));
    }

    #[test]
    fn fits_agrees_with_the_total((_, t) in training(), budget in 0u64..=(100 << 30)) {
        let m = t.estimate();
        prop_assert_eq!(m.fits(Bytes::new(budget)), m.total().get() <= budget);
        let parts: u64 = m.parts().iter().map(|(_, b)| b.get()).sum();
        prop_assert_eq!(parts, m.total().get());
    }
}

model!(Llama2_7B = "../configs/llama-2-7b.json");

/// The compiler and the running program compute the same numbers.
#[test]
fn const_and_run_time_agree() {
    const TRAIN: Memory = Training::of::<Llama2_7B>().batch(4).seq(1024).estimate();
    const SERVE: Memory = Inference::of::<Llama2_7B>()
        .batch(8)
        .prompt(2048)
        .estimate();
    const MAX: u64 = Training::of::<Llama2_7B>()
        .seq(1024)
        .zero(ZeroStage::Three, 8)
        .max_batch(GB80);
    let batch = std::hint::black_box(4);
    assert_eq!(
        TRAIN,
        Training::of::<Llama2_7B>()
            .batch(batch)
            .seq(1024)
            .estimate()
    );
    assert_eq!(
        SERVE,
        Inference::of::<Llama2_7B>()
            .batch(2 * batch)
            .prompt(2048)
            .estimate()
    );
    assert_eq!(
        MAX,
        Training::of::<Llama2_7B>()
            .seq(1024)
            .zero(ZeroStage::Three, 8)
            .max_batch(std::hint::black_box(GB80))
    );
    let config =
        ModelConfig::from_json(include_str!("../configs/llama-2-7b.json")).expect("parses");
    assert_eq!(
        Training::new(config.cost(), "Llama2_7B")
            .batch(batch)
            .seq(1024)
            .estimate(),
        TRAIN
    );
}

/// Absurd sizes are errors at run time, never a wrapped number: a trillion-parameter model at a
/// million tokens, a billion layers.
#[test]
fn overflow_is_an_error_not_a_wrap() {
    use estimator::EstimateError;
    type Trillion = [TransformerLayer<25600, 160>; 128];
    let long = Training::of::<Trillion>()
        .attention(AttentionKernel::Eager)
        .seq(1_000_000)
        .batch(1_000_000);
    assert_eq!(long.checked_estimate(), Err(EstimateError::Overflow));
    let c = estimator::layers::transformer_layer(1024, 16).checked_repeated(1_000_000_000);
    assert!(
        c.is_ok(),
        "a billion layers of 12.6M parameters still fit in u64: {c:?}"
    );
    let too_many = estimator::layers::transformer_layer(65536, 512).checked_repeated(1 << 40);
    assert_eq!(too_many, Err(estimator::Overflow::Parameters));
    let serve = Inference::of::<Trillion>().prompt(u64::MAX).generate(1);
    assert_eq!(serve.checked_estimate(), Err(EstimateError::Overflow));
}

/// A Llama config.json (untied head, RMSNorm) with `layers` layers.
fn llama_json(heads: u64, kv: u64, hd: u64, layers: u64, vocab: u64) -> ModelConfig {
    let json = serde_json::json!({
        "model_type": "llama", "hidden_size": heads * hd, "num_attention_heads": heads,
        "num_key_value_heads": kv, "head_dim": hd, "num_hidden_layers": layers,
        "intermediate_size": 3 * heads * hd, "vocab_size": vocab,
    });
    ModelConfig::from_json(&json.to_string()).expect("a generated config reads")
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64),
        ..ProptestConfig::default()
    })]

    /// Every plan the estimator accepts splits whole heads per GPU and whole layers per stage,
    /// and a plan that fits has no negative headroom.
    #[test]
    fn accepted_plans_respect_the_model((_, t) in training(), tp in 1u64..=16, pp in 1u64..=8,
                                        gib in 1u64..=80) {
        let c = t.cost();
        let t = t.tensor_parallel(tp).pipeline_parallel(pp);
        match t.checked_estimate() {
            Ok(m) => {
                prop_assert!(c.heads.is_multiple_of(tp) && c.kv_heads.is_multiple_of(tp));
                prop_assert!(c.blocks.is_multiple_of(pp));
                let budget = Bytes::gib(gib);
                if t.fits(budget) {
                    prop_assert!(m.total() <= budget);
                }
            }
            Err(e) => prop_assert!(
                !c.heads.is_multiple_of(tp) || !c.kv_heads.is_multiple_of(tp)
                    || !c.blocks.is_multiple_of(pp),
                "{e}"
            ),
        }
    }

    /// The longest sequence that fits never runs past a learned position table (GPT-2's 1024
    /// in the generator), however large the GPU.
    #[test]
    fn max_seq_stays_in_the_position_table((_, t) in training()) {
        let c = t.cost();
        let longest = t.batch(1).max_seq(Bytes::gib(1 << 20));
        if c.positions > 0 {
            prop_assert!(longest <= c.positions);
            prop_assert!(!t.seq(c.positions + 1).fits(Bytes::gib(1 << 20)));
        }
        let serve = Inference::new(c, "m").generate(24);
        if c.positions > 0 {
            prop_assert!(serve.max_seq(Bytes::gib(1 << 20)) <= c.positions - 24);
        }
    }

    /// Tensor parallelism as an explicit shard: each GPU's KV cache is that of the model with
    /// `1/t` of the heads, or with one KV head once `t` exceeds them (vLLM replicates).
    #[test]
    fn tensor_parallel_cache_is_the_sharded_models(a in 0u32..=3, b in 0u32..=2, odd in 1u64..=3,
                                                   hd in prop_oneof![Just(16u64), Just(64)],
                                                   layers in 1u64..=4, shift in 0u32..=5) {
        // powers of two times an odd factor: t = 2^shift divides the KV heads or is a
        // multiple of them (vLLM's rule) whenever it divides the heads
        let (kv, group) = (odd << a, 1u64 << b);
        let heads = kv * group;
        let t = 1u64 << shift.min(a + b);
        prop_assume!(kv.is_multiple_of(t) || t.is_multiple_of(kv));
        let whole = llama_json(heads, kv, hd, layers, 256);
        let cache = |c: &ModelConfig, tp: u64| {
            Inference::new(c.cost(), "m").prompt(100).generate(0).tensor_parallel(tp)
                .estimate().kv_cache
        };
        let shard = llama_json(heads / t, (kv / t).max(1), hd, layers, 256);
        prop_assert_eq!(cache(&whole, t), cache(&shard, 1));
    }

    /// Pipeline parallelism as explicit stages: the heaviest GPU holds the first stage
    /// (embedding and `L/p` layers) or the last (`L/p` layers, the final norm and the head).
    #[test]
    fn pipeline_stage_is_the_heaviest_explicit_stage(kv in 1u64..=4, hd in prop_oneof![Just(16u64), Just(64)],
                                                     per_stage in 1u64..=3, p in 2u64..=4,
                                                     vocab in 16u64..=50_000) {
        let heads = 2 * kv;
        let d = heads * hd;
        let whole = llama_json(heads, kv, hd, per_stage * p, vocab);
        let stage = llama_json(heads, kv, hd, per_stage, vocab).cost().params;
        // LlamaForCausalLM: embed_tokens [vocab, d], norm [d], lm_head [vocab, d]
        let first = stage - d - vocab * d;
        let last = stage - vocab * d;
        prop_assert_eq!(whole.cost().stage_params(p), first.max(last));
        let weights = |pp: u64| {
            Training::new(whole.cost(), "m").precision(Precision::Pure(DType::BF16))
                .pipeline_parallel(pp).seq(64).at(Phase::OptimizerStep).weights.get()
        };
        // bf16: two bytes per parameter on the stage, the buffers whole
        let buffers = weights(1) - 2 * whole.cost().params;
        prop_assert_eq!(weights(p), 2 * first.max(last) + buffers);
    }
}
