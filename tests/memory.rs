//! The memory model against published figures: the seed's 20Φ, ZeRO's 16Φ and sharding table,
//! Korthikanti et al.'s activations, the KV cache of GPT-3 and OPT-13B.

use estimator::prelude::*;
use estimator::{EstimateError, Memory, Phase};

/// One trainable tensor of a billion parameters.
type Billion = Parameter<1_000_000_000>;

/// weights + gradients + optimizer + master weights: the "model states" of the ZeRO paper.
fn model_states(m: &Memory) -> u64 {
    m.weights.get() + m.gradients.get() + m.optimizer.get() + m.master_weights.get()
}

fn states_per_parameter(p: Precision) -> u64 {
    let m = Training::of::<Billion>()
        .precision(p)
        .optimizer(Optimizer::Adam)
        .optimizer_impl(OptimizerImpl::Fused)
        .at(Phase::OptimizerStep);
    // PyTorch's Adam also keeps a 4-byte `step` per tensor
    (model_states(&m) - 4) / 1_000_000_000
}

/// The seed tutorial: mixed-precision AdamW keeps fp16 + fp32 weights (2 + 4), fp16 + fp32
/// gradients (2 + 4) and two fp32 moments (4 + 4): 20Φ bytes. ZeRO (Rajbhandari et al. 2020,
/// §3.1) counts 2 + 2 + K with K = 12 (fp32 master + two moments): 16Φ.
#[test]
fn twenty_and_sixteen_bytes_per_parameter() {
    assert_eq!(
        states_per_parameter(Precision::MixedFp32Grads(DType::F16)),
        20
    );
    assert_eq!(states_per_parameter(Precision::Mixed(DType::F16)), 16);
    assert_eq!(states_per_parameter(Precision::Mixed(DType::BF16)), 16);
    // fp32: 4 + 4 + 8; pure bf16 (model.to(bfloat16), state in bf16): 2 + 2 + 4
    assert_eq!(states_per_parameter(Precision::Fp32), 16);
    assert_eq!(states_per_parameter(Precision::Pure(DType::BF16)), 8);
}

/// Optimizers' state per parameter (fp32 state): SGD none, momentum and Lion one buffer, Adam
/// two moments, 8-bit AdamW two bytes plus one fp32 absmax per 2048 for each moment (Dettmers et
/// al. 2022, block-wise quantization).
#[test]
fn optimizer_states() {
    let state = |o: Optimizer| {
        Training::of::<Billion>()
            .precision(Precision::Fp32)
            .optimizer(o)
            .at(Phase::OptimizerStep)
            .optimizer
            .get()
    };
    assert_eq!(state(Optimizer::Sgd), 0);
    assert_eq!(state(Optimizer::SgdMomentum), 4_000_000_000);
    assert_eq!(state(Optimizer::Lion), 4_000_000_000);
    assert_eq!(state(Optimizer::AdamW), 8_000_000_004);
    assert_eq!(
        state(Optimizer::AdamW8bit),
        2_000_000_000 + 2 * 4 * 1_000_000_000_u64.div_ceil(2048)
    );
    // Adafactor: a vector keeps its full second moment; a 4096 × 4096 matrix keeps 4096 + 4096
    assert_eq!(state(Optimizer::Adafactor), 4_000_000_000);
    let matrix = Training::of::<Linear<4096, 4096, false>>()
        .precision(Precision::Fp32)
        .optimizer(Optimizer::Adafactor)
        .at(Phase::OptimizerStep)
        .optimizer
        .get();
    assert_eq!(matrix, 4 * (4096 + 4096));
    // with beta1, transformers' Adafactor also keeps exp_avg = zeros_like(grad): the matrix's
    // 4096 · 4096 more
    let momentum = Training::of::<Linear<4096, 4096, false>>()
        .precision(Precision::Fp32)
        .optimizer(Optimizer::AdafactorMomentum)
        .at(Phase::OptimizerStep)
        .optimizer
        .get();
    assert_eq!(momentum, 4 * (4096 + 4096 + 4096 * 4096));
}

/// ZeRO (Rajbhandari et al. 2020), Figure 1: Ψ = 7.5B, K = 12, N_d = 64. Model states per GPU,
/// in GB of 10^9 bytes: baseline 120, P_os 31.4, P_os+g 16.6, P_os+g+p 1.9 (1.875).
#[test]
fn zero_sharding_figure_1() {
    type Model = Parameter<7_500_000_000>;
    let per_gpu = |stage: ZeroStage| {
        let m = Training::of::<Model>()
            .precision(Precision::Mixed(DType::F16))
            .optimizer(Optimizer::Adam)
            .zero(stage, 64)
            .at(Phase::OptimizerStep);
        model_states(&m)
    };
    let psi: u64 = 7_500_000_000;
    // exact formulas: fp16 weights 2Ψ, fp16 gradients 2Ψ, fp32 master 4Ψ, moments 8Ψ plus
    // Adam's 4-byte `step`, each part sharded on its own (rounded up)
    let shard = |bytes: u64| bytes.div_ceil(64);
    let (w, g, master, moments) = (2 * psi, 2 * psi, 4 * psi, 8 * psi + 4);
    assert_eq!(per_gpu(ZeroStage::Off), w + g + master + moments);
    assert_eq!(
        per_gpu(ZeroStage::One),
        w + g + shard(master) + shard(moments)
    );
    assert_eq!(
        per_gpu(ZeroStage::Two),
        w + shard(g) + shard(master) + shard(moments)
    );
    assert_eq!(
        per_gpu(ZeroStage::Three),
        shard(w) + shard(g) + shard(master) + shard(moments)
    );
    // the published figures, to one decimal of a GB
    let tenth_gb = |b: u64| (b + 50_000_000) / 100_000_000;
    assert_eq!(tenth_gb(per_gpu(ZeroStage::Off)), 1200);
    assert_eq!(tenth_gb(per_gpu(ZeroStage::One)), 314);
    assert_eq!(tenth_gb(per_gpu(ZeroStage::Two)), 166);
    assert_eq!(tenth_gb(per_gpu(ZeroStage::Three)), 19);
}

/// DeepSpeed's CPU offload of a 7B model of eight equal blocks on one node of 8 GPUs (the
/// worked example of `estimate_zero2/3_model_states_mem_needs_all_cold`, DeepSpeed 0.19.8).
/// GPU: their estimators' figures — ZeRO-2 `offload_optimizer`: the 16-bit weights, `2T`
/// (stage_1_and_2.py:4026, "13.04GB"); ZeRO-3 with both offloads `4L` (stage3.py:4031: one
/// gathered layer's 16-bit weights and gradients, "0.49GB" for their L = 131M), with the
/// optimizer only `4L + 2T/N` (stage3.py:4039) — plus the one gradient buffer the code
/// allocates (`temp_grad_buffer_for_gpu_offload`, the largest parameter in 16 bits,
/// stage_1_and_2.py:659-661). Host per GPU, from the training code: fp32 master and gradient
/// partitions (stage_1_and_2.py:557-565, 934-941), AdamW's two fp32 moments
/// (ops/adam/cpu_adam.py:161-164) and a 16-bit partition (the staging copy,
/// stage_1_and_2.py:566-575; ZeRO-3's reduced gradients, stage3.py:791-795): 18 B/param, and
/// 20 with the weights' pinned 16-bit partition (stage3.py:888-911).
#[test]
fn deepspeed_cpu_offload() {
    type Model = [Parameter<875_000_000>; 8];
    let (t, l, n) = (7_000_000_000u64, 875_000_000u64, 8u64);
    let plan = |stage: ZeroStage, offload: Offload| {
        Training::of::<Model>()
            .cross_entropy(false)
            .zero(stage, n)
            .offload(offload)
    };
    // AdamW's `step`, one fp32 scalar per tensor, sharded with the moments
    let moments = (8 * t + 8 * 4).div_ceil(n);
    let zero2 = plan(ZeroStage::Two, Offload::Optimizer).at(Phase::OptimizerStep);
    assert_eq!(zero2.weights.get(), 2 * t);
    assert_eq!(zero2.gradients.get(), 2 * l);
    assert_eq!(zero2.master_weights.get() + zero2.optimizer.get(), 0);
    assert_eq!(zero2.temporaries.get(), 0);
    assert_eq!(zero2.host.get(), 10 * t / n + moments);
    // their 13.04 GiB
    assert_eq!((100 * zero2.weights.get() + (1 << 29)) >> 30, 1304);
    // the GPU side on one GPU too: ZeRO-Offload's single-GPU case
    let one = Training::of::<Model>()
        .cross_entropy(false)
        .zero(ZeroStage::Two, 1)
        .offload(Offload::Optimizer)
        .at(Phase::OptimizerStep);
    assert_eq!(one.total().get(), 2 * t + 2 * l);
    assert_eq!(one.host.get(), 10 * t + 8 * t + 8 * 4);

    let both = plan(ZeroStage::Three, Offload::OptimizerAndParams).at(Phase::Forward);
    // one gathered block and one gradient buffer: 4L
    assert_eq!(
        both.weights.get() + both.temporaries.get() + both.gradients.get(),
        4 * l
    );
    assert_eq!(both.host.get(), 12 * t / n + moments);
    let optimizer = plan(ZeroStage::Three, Offload::Optimizer).at(Phase::Forward);
    assert_eq!(
        optimizer.weights.get() + optimizer.temporaries.get() + optimizer.gradients.get(),
        4 * l + 2 * t / n
    );
    assert_eq!(optimizer.host.get(), 10 * t / n + moments);
    // nothing offloaded, nothing on the host
    assert_eq!(plan(ZeroStage::Two, Offload::None).estimate().host.get(), 0);
}

/// What DeepSpeed refuses: `offload_optimizer` partitions what ZeRO partitions (stage ≥ 1),
/// `offload_param` is ZeRO-3's, and bitsandbytes' 8-bit AdamW steps on the GPU.
#[test]
fn offload_needs_its_zero_stage() {
    let plan = Training::of::<Parameter<1000>>();
    assert_eq!(
        plan.offload(Offload::Optimizer).checked_estimate(),
        Err(EstimateError::OffloadStage { params: false })
    );
    assert_eq!(
        plan.zero(ZeroStage::Two, 1)
            .offload(Offload::OptimizerAndParams)
            .checked_estimate(),
        Err(EstimateError::OffloadStage { params: true })
    );
    assert_eq!(
        plan.zero(ZeroStage::Two, 1)
            .offload(Offload::Optimizer)
            .optimizer(Optimizer::AdamW8bit)
            .checked_estimate(),
        Err(EstimateError::OffloadOptimizer)
    );
}

/// GPT-3 175B's 96 layers (h = 12288, a = 96) at b = 1, s = 2048: Korthikanti et al. 2022,
/// Eq. 1, as the Zhihu analysis computes it: 96 · (34·b·s·h + 5·b·s²·a) = 275,414,777,856 bytes.
/// Selective recomputation drops the 5as/h term, saving 80/114 = 70 % (their §5); full
/// recomputation keeps 2sbh per layer.
#[test]
fn korthikanti_gpt3_activations() {
    type Gpt3Layers = [TransformerLayer<12288, 96>; 96];
    let textbook = |r: Recompute| {
        Training::of::<Gpt3Layers>()
            .activation_model(ActivationModel::Textbook)
            .attention(AttentionKernel::Eager)
            .cross_entropy(false)
            .recompute(r)
            .batch(1)
            .seq(2048)
            .at(Phase::Forward)
            .activations
            .get()
    };
    assert_eq!(textbook(Recompute::None), 275_414_777_856);
    let (s, h, l) = (2048u64, 12288u64, 96u64);
    assert_eq!(textbook(Recompute::Selective), l * 34 * s * h);
    assert_eq!(textbook(Recompute::Full), l * 2 * s * h);
    // 70 % saved by selective recomputation
    let saved = 100 * (textbook(Recompute::None) - textbook(Recompute::Selective))
        / textbook(Recompute::None);
    assert_eq!(saved, 70);
}

/// Korthikanti et al.'s activations per GPU at tensor-parallel degree `t`, with and without
/// sequence parallelism, for `L` layers of width `D` and `H` heads at batch `b`, `s` = 2048.
fn textbook_tp<const D: u64, const H: u64, const L: usize>(
    b: u64,
    t: u64,
    sp: bool,
    r: Recompute,
) -> u64 {
    Training::of::<[TransformerLayer<D, H>; L]>()
        .activation_model(ActivationModel::Textbook)
        .attention(AttentionKernel::Eager)
        .cross_entropy(false)
        .recompute(r)
        .batch(b)
        .seq(2048)
        .tensor_parallel(t)
        .sequence_parallel(sp)
        .at(Phase::Forward)
        .activations
        .get()
}

/// Korthikanti et al. 2022 (arXiv 2205.05198), per layer: tensor parallelism alone keeps
/// `sbh(10 + 24/t + 5as/(ht))` bytes (Eq. 2: layer-norm inputs, the blocks' inputs and their
/// dropout masks are replicated); with sequence parallelism `sbh/t·(34 + 5as/h)` (Eq. 4); with
/// selective recomputation `sbh(10 + 24/t)` and `34·sbh/t` (Eq. 6); full recomputation `2sbh`
/// (replicated) — the 22B model of their Table 3 (h 6144, a 64, 48 layers, t 8, b 4).
#[test]
fn korthikanti_tensor_and_sequence_parallel() {
    let (s, b, h, a, l, t) = (2048u64, 4u64, 6144u64, 64u64, 48u64, 8u64);
    let sbh = s * b * h;
    let scores = 5 * a * s * s * b;
    let m = |sp, r| textbook_tp::<6144, 64, 48>(b, t, sp, r);
    assert_eq!(
        m(false, Recompute::None),
        l * (10 * sbh + 24 * sbh / t + scores / t)
    );
    assert_eq!(m(true, Recompute::None), l * (34 * sbh + scores) / t);
    assert_eq!(
        m(false, Recompute::Selective),
        l * (10 * sbh + 24 * sbh / t)
    );
    assert_eq!(m(true, Recompute::Selective), l * 34 * sbh / t);
    assert_eq!(m(false, Recompute::Full), l * 2 * sbh);
    assert_eq!(m(true, Recompute::Full), l * 2 * sbh / t);
    // their KOR-6 first-stage totals for the 22B run (shared/research/paper-tables.md, Eq. 5
    // and 6 at b = 4): 39.56 GiB and 9.56 GiB
    let centi_gib = |x: u64| (100 * x + (1 << 29)) >> 30;
    assert_eq!(centi_gib(m(true, Recompute::None)), 3956);
    assert_eq!(centi_gib(m(true, Recompute::Selective)), 956);
    // tensor parallelism alone used to divide everything by t: that is Eq. 4, not Eq. 2
    assert!(m(false, Recompute::None) > m(true, Recompute::None));
}

/// Korthikanti et al.'s Figure 7: activations as a share of the tensor-parallel baseline (Eq. 2)
/// at t = 8, s = 2048. The text says each technique roughly halves them and both together give
/// about 5× ("under 20 %"); worked from their formulas per model (paper-tables.md, KOR-4):
/// 22B 66.8 / 49.4 / 16.1 / 7.6 %, 175B 62.0 / 56.5 / 18.5 / 8.7 %, 530B 58.3 / 61.9 / 20.2 /
/// 9.5 % (sequence parallel, selective, both, full recomputation).
#[test]
fn korthikanti_figure_7() {
    // in tenths of a percent, rounded
    fn shares(m: impl Fn(bool, Recompute) -> u64) -> [u64; 4] {
        let base = m(false, Recompute::None);
        let pct = |x: u64| (1000 * x + base / 2) / base;
        [
            pct(m(true, Recompute::None)),
            pct(m(false, Recompute::Selective)),
            pct(m(true, Recompute::Selective)),
            pct(m(false, Recompute::Full)),
        ]
    }
    // one layer is enough: every share is per layer
    assert_eq!(
        shares(|sp, r| textbook_tp::<6144, 64, 1>(1, 8, sp, r)),
        [668, 494, 161, 76]
    );
    assert_eq!(
        shares(|sp, r| textbook_tp::<12288, 96, 1>(1, 8, sp, r)),
        [620, 565, 185, 87]
    );
    assert_eq!(
        shares(|sp, r| textbook_tp::<20480, 128, 1>(1, 8, sp, r)),
        [583, 619, 202, 95]
    );
}

/// The PyTorch account of the same layer on CUDA (1-byte masks, 16-bit activations) is
/// Korthikanti's plus what the textbook leaves out: layer-norm statistics and PyTorch's extra
/// dropout inside the MLP (`nn.TransformerEncoderLayer` drops after the activation too).
#[test]
fn pytorch_account_of_a_transformer_layer() {
    let (b, s, h, a) = (4u64, 1024u64, 1024u64, 16u64);
    let pytorch = Training::of::<TransformerLayer<1024, 16>>()
        .precision(Precision::Mixed(DType::BF16))
        .attention(AttentionKernel::Eager)
        .cross_entropy(false)
        .batch(b)
        .seq(s)
        .at(Phase::Forward)
        .activations
        .get();
    let textbook = s * b * h * 34 + 5 * a * s * s * b;
    // + 4 fp32 norm statistics per token and the inner dropout's 1-byte mask (4h); the ReLU
    // output and the dropout output take the places of Korthikanti's GELU input and second
    // linear input
    assert_eq!(pytorch, textbook + b * s * (4 * 4 + 4 * h));
}

/// KV cache = 2 (K, V) · layers · b · (s + n) · h · 2 bytes for GPT-3 at b = 64, s = 512,
/// n = 32: 164,282,499,072 bytes ≈ 164 GB (the Zhihu analysis, `4blh(s + n)`).
#[test]
fn gpt3_kv_cache() {
    type Gpt3Layers = [TransformerLayer<12288, 96>; 96];
    let m = Inference::of::<Gpt3Layers>()
        .weights(DType::F16)
        .batch(64)
        .prompt(512)
        .generate(32)
        .at(Phase::Decode);
    assert_eq!(m.kv_cache.get(), 164_282_499_072);
    // 175 billion parameters... of the layers alone, in fp16: 12·h²·96·2 bytes + biases
    assert_eq!(m.weights.get(), 2 * 96 * (12 * 12288 * 12288 + 13 * 12288));
}

/// vLLM (Kwon et al. 2023, §2.3): OPT-13B (hidden 5120, 40 layers, fp16) keeps
/// 2 · 5120 · 40 · 2 = 819,200 bytes = 800 KiB per token.
#[test]
fn vllm_opt_13b_kv_per_token() {
    type Opt13BLayers = [MultiHeadAttention<5120, 40>; 40];
    let m = Inference::of::<Opt13BLayers>()
        .batch(1)
        .prompt(1)
        .generate(0)
        .at(Phase::Decode);
    assert_eq!(m.kv_cache, Bytes::kib(800));
    // 2048 tokens: 1.6 GB per request ("up to 1.6 GB")
    let long = Inference::of::<Opt13BLayers>()
        .prompt(2048)
        .generate(0)
        .at(Phase::Decode);
    assert_eq!(long.kv_cache.get(), 2048 * 819_200);
}

/// Mistral-7B's sliding window (4096) caps each layer's cache: at 8192 tokens it holds the last
/// 4095 (transformers' `DynamicSlidingWindowLayer` keeps `sliding_window - 1`; measured on tiny
/// Gemma 2 and gpt-oss, `tests/fixtures/memory-families.json`), at 2 · 32 layers · 8 KV heads ·
/// 128 · 2 bytes = 128 KiB per token.
#[test]
fn sliding_window_caps_the_cache() {
    type Layers = [MultiHeadAttention<4096, 32, 8, false, 4096>; 32];
    let at = |n: u64| {
        Inference::of::<Layers>()
            .prompt(n)
            .generate(0)
            .at(Phase::Decode)
            .kv_cache
    };
    assert_eq!(at(1000), Bytes::kib(128 * 1000));
    assert_eq!(at(8192), Bytes::kib(128 * 4095));
    // int8 / fp8 caches halve it
    let fp8 = Inference::of::<Layers>()
        .prompt(1000)
        .generate(0)
        .kv_cache(DType::F8E4M3);
    assert_eq!(fp8.at(Phase::Decode).kv_cache, Bytes::kib(64 * 1000));
}

/// Quantized inference: the matmul weights in int4 / NF4, embeddings and norms in 16 bits.
#[test]
fn quantized_weights() {
    #[derive(Params)]
    struct Lm {
        embed: Embedding<32000, 4096>,
        layers: [(
            RmsNorm<4096>,
            MultiHeadAttention<4096, 32, 32, false>,
            RmsNorm<4096>,
            GatedFeedForward<4096, 11008>,
        ); 32],
        norm: RmsNorm<4096>,
        head: Linear<4096, 32000, false>,
    }
    let m = |d: DType| {
        Inference::of::<Lm>()
            .weights(d)
            .at(Phase::Decode)
            .weights
            .get()
    };
    let matmul = Lm::COST.matmul;
    let rest = Lm::PARAMS - matmul;
    assert_eq!(m(DType::BF16), 2 * Lm::PARAMS);
    assert_eq!(m(DType::I4), matmul / 2 + 2 * rest);
    // NF4: 4 bits + one fp32 absmax per 64 (QLoRA), and each quantized weight's 16-value fp32
    // code book (bitsandbytes 0.50's `QuantState.code`, 64 B): 7 a layer and the head, which
    // this struct does not mark unquantized
    assert_eq!(Lm::COST.matmul_tensors, 32 * 7 + 1);
    assert_eq!(
        m(DType::NF4),
        matmul / 2 + matmul / 64 * 4 + 2 * rest + (32 * 7 + 1) * 64
    );
}

/// Gradient accumulation: PyTorch sums each backward's gradients into `.grad`, which stays
/// allocated until `zero_grad` (torch.Tensor.backward: "the graph is differentiated … and the
/// gradients are accumulated in the leaves"); so from the second micro-batch on, the forward
/// and the start of backward run beside every trainable parameter's gradient.
#[test]
fn accumulated_gradients_live_through_the_next_forward() {
    let one = Training::of::<Billion>().batch(4).seq(512);
    let four = one.grad_accumulation(4);
    let (f1, f4) = (one.at(Phase::Forward), four.at(Phase::Forward));
    // mixed bf16: 2-byte gradients of the billion parameters
    assert_eq!(f4.gradients.get(), 2_000_000_000);
    assert_eq!(f4.total().get() - f1.total().get(), 2_000_000_000);
    assert_eq!(f1.gradients.get(), 0);
    // the optimizer step is the same either way
    assert_eq!(one.at(Phase::OptimizerStep), four.at(Phase::OptimizerStep));
    assert_eq!(
        one.grad_accumulation(0).checked_estimate(),
        Err(estimator::EstimateError::ZeroAccumulation)
    );
}

/// 16-bit weights and gradients with fp32 Adam moments and no master copy: 2 + 2 + 8 = 12
/// bytes per parameter — Dettmers et al. (QLoRA, 2023), §1: "regular 16-bit finetuning of a
/// LLaMA 65B parameter model requires more than 780 GB of GPU memory".
#[test]
fn sixteen_bit_weights_with_fp32_moments() {
    type Sixty5B = Parameter<65_000_000_000>;
    let m = Training::of::<Sixty5B>()
        .precision(Precision::Pure(DType::BF16))
        .optimizer_state_dtype(DType::F32)
        .optimizer(Optimizer::Adam)
        .optimizer_impl(OptimizerImpl::Fused)
        .at(Phase::OptimizerStep);
    // and PyTorch's 4-byte step per tensor
    assert_eq!(model_states(&m), 780_000_000_000 + 4);
    assert_eq!(m.master_weights.get(), 0);
}

/// QLoRA on Llama-2-7B as bitsandbytes 0.50 and peft 0.21 store it (measured on CPU through
/// `from_pretrained(quantization_config=NF4 + double quant)`, `prepare_model_for_kbit_training`
/// and `get_peft_model`, r = 16 on q_proj and v_proj):
/// - every Linear but `lm_head` is a `Linear4bit` (transformers' `get_keys_to_not_convert`):
///   `⌈n/2⌉` packed bytes, a uint8 absmax per 64 and an fp32 one per 256 of those, plus two
///   code tables and an offset per tensor (64 + 1024 + 4 B; bitsandbytes functional.py,
///   `quantize_4bit`) — measured 8,655,940 B for a 4096 × 4096 weight, 23,260,996 B for
///   4096 × 11008, 3,341,015,936 B over the 224 of them;
/// - `prepare_model_for_kbit_training` casts the embeddings, the norms and the head to fp32;
///   the adapters are fp32 (`autocast_adapter_dtype`).
#[test]
fn qlora_as_bitsandbytes_and_peft_store_it() {
    use estimator::config::{Lora, LoraTargets, ModelConfig};
    let config =
        ModelConfig::from_json(include_str!("../configs/llama-2-7b.json")).expect("parses");
    let qv = Lora {
        rank: 16,
        targets: LoraTargets {
            q: true,
            v: true,
            ..LoraTargets::default()
        },
    };
    let cost = config.architecture(Some(qv)).cost();
    // the head is left unquantized
    assert_eq!(cost.unquantized_matmul, 32000 * 4096);
    assert_eq!(
        cost.frozen_matmul,
        32 * (4 * 4096 * 4096 + 3 * 4096 * 11008)
    );
    let m = Training::new(cost, "llama")
        .precision(Precision::Autocast(DType::BF16))
        .recompute(Recompute::Full)
        .frozen_weights(DType::NF4DoubleQuant)
        .estimate();
    let quantized = m.weights.get()
        - 4 * (2 * 32000 * 4096 + 65 * 4096) // embeddings, head, norms in fp32
        - 4 * 8_388_608 // the adapters, fp32
        - 4 * 128; // the rotary embedding's fp32 buffers
    // bitsandbytes' measured bytes for the 224 quantized weights, their code books and absmax
    // offsets (1,092 B a tensor) included
    assert_eq!(cost.frozen_matmul_tensors, 224);
    assert_eq!(quantized, 3_341_015_936);
    // the base model: 4,390.7 MB (1e6) measured; the QLoRA paper's "5,048 MB" for LLaMA-7B is
    // not what this stack allocates (docs/accuracy.md)
    assert_eq!((m.weights.get() - 4 * 8_388_608) / 100_000, 43906);
    // bitsandbytes' matmul dequantizes per call and keeps the packed weight: no bf16 copies of
    // the quantized weights under autocast, only of the fp32 head (which autograd keeps for its
    // input gradient)
    let forward = Training::new(cost, "llama")
        .precision(Precision::Autocast(DType::BF16))
        .recompute(Recompute::Full)
        .frozen_weights(DType::NF4DoubleQuant)
        .at(Phase::Forward);
    assert!(forward.temporaries.get() >= 2 * 32000 * 4096);
    assert!(forward.temporaries.get() < 2 * 32000 * 4096 + 64 * 8_388_608);
}

/// bitsandbytes' paged optimizers keep their state in CUDA unified memory (bitsandbytes 0.50,
/// `optim/optimizer.py`: `get_state_buffer` → `F.get_paged` → `cudaMallocManaged`), which the
/// driver evicts to the host when the GPU runs short and bitsandbytes prefetches for the step
/// (`prefetch_state`): outside the step the state is not needed on the GPU, at the step it is;
/// the step runs bitsandbytes' fused kernel, with no temporaries.
#[test]
fn paged_optimizer_state_leaves_the_gpu_outside_the_step() {
    type Model = [Parameter<100_000_000>; 4];
    let plan = Training::of::<Model>()
        .cross_entropy(false)
        .optimizer_impl(OptimizerImpl::Fused);
    let paged = plan.paged_optimizer(true);
    for phase in [Phase::Forward, Phase::Backward] {
        let (without, with) = (plan.at(phase), paged.at(phase));
        // the two fp32 moments are paged; PyTorch-style `step` tensors are not bitsandbytes'
        assert_eq!(with.paged.get(), 8 * 400_000_000);
        assert_eq!(with.total().get() + with.paged.get(), without.total().get());
    }
    let step = paged.at(Phase::OptimizerStep);
    assert_eq!(step.paged.get(), 0);
    assert_eq!(step.total(), plan.at(Phase::OptimizerStep).total());
    // AdamW's two fp32 moments and its fp32 `step` per tensor, 8 B/param + 16 B
    assert_eq!(step.optimizer.get(), 8 * 400_000_000 + 4 * 4);
    // tensors under 100,000 elements get ordinary device memory (`get_state_buffer`): LoRA's
    // rank-16 adapters over 4096 features (65,536 elements each) page nothing
    let lora = Training::of::<[Lora<Linear<4096, 4096, false>, 16>; 4]>()
        .cross_entropy(false)
        .paged_optimizer(true)
        .at(Phase::Backward);
    assert_eq!(lora.paged.get(), 0);
    // what bitsandbytes has no paged form of, or paging beside offload, is refused
    assert_eq!(
        paged.optimizer(Optimizer::Adafactor).checked_estimate(),
        Err(EstimateError::PagedOptimizer)
    );
    assert_eq!(
        paged
            .zero(ZeroStage::Two, 1)
            .offload(Offload::Optimizer)
            .checked_estimate(),
        Err(EstimateError::PagedOptimizer)
    );
}

/// FSDP2 (`fully_shard` on every decoder layer, then on the model) measured on CPU over gloo,
/// 2 ranks, torch 2.15 / transformers 5.24: a tiny Llama (hidden 256, intermediate 688, 4
/// layers, 8 heads, 4 KV heads, vocabulary 1000, untied head), batch 2 × 64, AdamW
/// (single-tensor, CPU's default), two steps; live storages tracked per rank
/// (`tests/fixtures/fsdp2/measure.py`; its README accounts for every buffer against torch's
/// `_fully_shard` source). Rank 0, the second step.
#[test]
fn fsdp2_on_a_tiny_llama() {
    use estimator::config::ModelConfig;
    let config = ModelConfig::from_json(
        r#"{"model_type": "llama", "hidden_size": 256, "intermediate_size": 688,
            "num_hidden_layers": 4, "num_attention_heads": 8, "num_key_value_heads": 4,
            "vocab_size": 1000, "max_position_embeddings": 2048, "tie_word_embeddings": false}"#,
    )
    .expect("parses");
    let cost = config.cost();
    // every parameter, 3,414,272 (PyTorch's count of this model)
    assert_eq!(cost.params, 3_414_272);
    let t = |p: Precision| {
        Training::new(cost, "llama")
            .precision(p)
            .optimizer_impl(OptimizerImpl::SingleTensor)
            .attention(AttentionKernel::Flash)
            .device(Device::Cpu)
            .dropout(false)
            .batch(2)
            .seq(64)
            .fsdp(2)
    };
    let fp32 = t(Precision::Fp32);
    let step = fp32.at(Phase::OptimizerStep);
    // sharded parameters and gradients, fp32, half each: 6,828,544 B measured (beside the
    // rotary buffers, whole on every rank); AdamW's two moments over the local shard and a
    // 4-byte step per tensor (39): 13,657,244 B
    assert_eq!(step.weights.get() - cost.buffer_bytes, 6_828_544);
    assert_eq!(step.gradients.get(), 6_828_544);
    assert_eq!(step.optimizer.get(), 13_657_244);
    // within 3 %, in integers
    let near = |t: Training, measured: u64| {
        let e = t.estimate().total().get();
        assert!(
            e.abs_diff(measured) * 100 < 3 * measured,
            "{e} against {measured}"
        );
    };
    // peaks in backward: 43,699,020 B in fp32, 35,121,996 B with
    // MixedPrecisionPolicy(param_dtype=bfloat16, reduce_dtype=float32); the estimate is 2.0 %
    // and 2.7 % above (its late point counts every block's sharded gradients beside the first
    // block's backward, where the measured peak, in the third and second blocks, still holds
    // earlier blocks' activations instead)
    near(fp32, 43_699_020);
    near(t(Precision::Mixed(DType::BF16)), 35_121_996);
    // what FSDP2 is not priced for is refused
    let lora = Training::new(cost.frozen(), "llama").fsdp(2);
    assert_eq!(lora.checked_estimate(), Err(EstimateError::Fsdp));
    assert_eq!(
        fp32.tensor_parallel(2).checked_estimate(),
        Err(EstimateError::Fsdp)
    );
}

/// TRL's fused head (`Loss::Chunked`, trl 1.16 `trl/kernels/chunked_logprob.py`) on
/// Llama-3.1-8B's head (vocabulary 128,256, hidden 4096), batch 8 × 1024 under bf16 autocast on
/// CUDA: what the head's forward holds beside what it saves, from `ChunkedLogProbFunction.forward`
/// — seven fp32 statistics per scored token (`running_max` … `target_logit`, lines 341-346),
/// `mm_buf` of min(N, 4096) × 32,768 in bf16 (line 347: the chunk size, not the vocabulary),
/// a token chunk of the fp32 hidden states cast to bf16 (line 352) and a 32,768-row chunk of the
/// fp32 head cast to bf16 (line 356); N = 8 × 1023 shifted tokens. The transformers loss holds
/// the bf16 logits, their fp32 upcast and the fp32 log-softmax instead.
#[test]
fn trl_fused_head_holds_tiles_not_logits() {
    use estimator::config::ModelConfig;
    let config =
        ModelConfig::from_json(include_str!("../configs/llama-3.1-8b.json")).expect("parses");
    let t = Training::new(config.cost(), "llama")
        .precision(Precision::Autocast(DType::BF16))
        .batch(8)
        .seq(1024);
    let n = 8 * 1023;
    let fused = t.loss(Loss::Chunked).at(Phase::Forward).logits.get();
    assert_eq!(
        fused,
        28 * n + 4096 * 32768 * 2 + 4096 * 4096 * 2 + 32768 * 4096 * 2
    );
    let full = t.at(Phase::Forward).logits.get();
    assert_eq!(full, 8 * 1024 * 128_256 * (2 + 4 + 4));
    // a head that is not a language model's refuses it
    let roberta =
        ModelConfig::from_json(include_str!("../configs/roberta-base.json")).expect("parses");
    assert_eq!(
        Training::new(roberta.cost(), "roberta")
            .loss(Loss::Chunked)
            .checked_estimate(),
        Err(EstimateError::ChunkedLoss)
    );
}
