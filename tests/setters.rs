//! Every setter of `Training` and `Inference` changes the estimate the way its documentation
//! says. Sizes are a GPT-2-medium-like decoder, so every part is non-trivial.

use estimator::prelude::*;
use estimator::{Memory, Phase};

#[derive(Params)]
struct Block {
    ln_1: LayerNorm<1024>,
    attn: MultiHeadAttention<1024, 16>,
    attn_dropout: Dropout<1024>,
    ln_2: LayerNorm<1024>,
    mlp: FeedForward<1024, 4096>,
    mlp_dropout: Dropout<1024>,
}

#[derive(Params)]
struct Decoder {
    wte: Embedding<50257, 1024>,
    h: [Block; 24],
    ln_f: LayerNorm<1024>,
    #[params(tied)]
    lm_head: Linear<1024, 50257, false>,
}

/// A QLoRA-style model: frozen projections, LoRA on q and v.
#[derive(Params)]
struct LoraAttention {
    q: Lora<Linear<1024, 1024, false>, 16>,
    #[params(frozen, shares_input)]
    k: Linear<1024, 1024, false>,
    #[params(shares_input)]
    v: Lora<Linear<1024, 1024, false>, 16>,
    core: AttentionCore<16, 16, 64>,
    #[params(frozen)]
    o: Linear<1024, 1024, false>,
}

#[derive(Params)]
struct LoraDecoder {
    #[params(frozen)]
    wte: Embedding<50257, 1024>,
    attn: [LoraAttention; 24],
    #[params(frozen)]
    mlp: [FeedForward<1024, 4096>; 24],
}

const BASE: Training = Training::of::<Decoder>().batch(8).seq(1024);

fn act(t: &Training) -> u64 {
    t.at(Phase::Forward).activations.get()
}

#[test]
fn batch_and_seq_grow_activations() {
    assert!(act(&BASE.batch(16)) > act(&BASE));
    assert!(act(&BASE.seq(2048)) > act(&BASE));
    // activations are linear in the batch
    assert_eq!(act(&BASE.batch(16)), 2 * act(&BASE));
}

#[test]
fn precision_sets_bytes_per_parameter() {
    let m = |p: Precision| BASE.precision(p).at(Phase::OptimizerStep);
    let fp32 = m(Precision::Fp32);
    let mixed = m(Precision::Mixed(DType::BF16));
    assert_eq!(fp32.weights.get(), 2 * mixed.weights.get());
    assert_eq!(mixed.master_weights.get(), 4 * Decoder::TRAINABLE);
    assert_eq!(fp32.master_weights.get(), 0);
    assert_eq!(
        m(Precision::MixedFp32Grads(DType::BF16)).gradients.get(),
        6 * Decoder::TRAINABLE
    );
    assert!(m(Precision::Pure(DType::BF16)).optimizer < mixed.optimizer);
    // 16-bit activations halve, but one-byte dropout masks, fp32 layer-norm statistics and the
    // flash kernel's fp32 log-sum-exp do not: more than half of fp32's, and less
    let (mixed, fp32) = (
        act(&BASE.precision(Precision::Mixed(DType::BF16))),
        act(&BASE.precision(Precision::Fp32)),
    );
    assert!(mixed < fp32 && 2 * mixed > fp32, "{mixed} vs {fp32}");
}

#[test]
fn optimizer_and_its_implementation() {
    let step = |o: Optimizer, i: OptimizerImpl| {
        BASE.optimizer(o).optimizer_impl(i).at(Phase::OptimizerStep)
    };
    let adam = step(Optimizer::AdamW, OptimizerImpl::Fused);
    assert!(
        step(Optimizer::AdamW8bit, OptimizerImpl::Fused)
            .optimizer
            .get()
            < adam.optimizer.get() / 3
    );
    assert!(step(Optimizer::Sgd, OptimizerImpl::Fused).optimizer.get() == 0);
    assert_eq!(adam.temporaries.get(), 0);
    // foreach: one fp32 buffer over every parameter; single-tensor: two temporaries the size of
    // the largest tensor, the 50257 × 1024 embedding, in fp32 (shared/reference/README.md, fact 2)
    assert_eq!(
        step(Optimizer::AdamW, OptimizerImpl::Foreach)
            .temporaries
            .get(),
        4 * Decoder::TRAINABLE
    );
    assert_eq!(
        step(Optimizer::AdamW, OptimizerImpl::SingleTensor)
            .temporaries
            .get(),
        2 * 4 * 50257 * 1024
    );
}

#[test]
fn recomputation_attention_dropout_device() {
    let eager = BASE.attention(AttentionKernel::Eager);
    assert!(act(&BASE) < act(&eager), "flash keeps no s × s scores");
    assert!(act(&eager.recompute(Recompute::Selective)) < act(&eager));
    assert_eq!(
        act(&eager.recompute(Recompute::Selective)),
        act(&BASE.recompute(Recompute::Selective)) - 8 * 1024 * 16 * 24 * 4
    );
    assert!(act(&BASE.recompute(Recompute::Full)) < act(&BASE.recompute(Recompute::Selective)));
    // full recomputation keeps each block's 16-bit input: 24 × b·s·h × 2 bytes, plus what is
    // outside the blocks
    let full = BASE.recompute(Recompute::Full).cross_entropy(false);
    assert!(act(&full) >= 24 * 8 * 1024 * 1024 * 2);
    assert!(act(&BASE.dropout(false)) < act(&BASE));
    // CPU keeps masks in the activation dtype, CUDA one byte
    assert!(act(&BASE.device(Device::Cpu)) > act(&BASE));
    assert!(act(&eager.attention(AttentionKernel::Math)) > act(&eager));
    assert_ne!(
        act(&BASE.activation_model(ActivationModel::Textbook)),
        act(&BASE)
    );
}

#[test]
fn sharding_and_parallelism() {
    let m = |t: Training| {
        t.optimizer_impl(OptimizerImpl::Fused)
            .at(Phase::OptimizerStep)
    };
    let one = m(BASE);
    let zero1 = m(BASE.zero(ZeroStage::One, 8));
    let zero2 = m(BASE.zero(ZeroStage::Two, 8));
    let zero3 = m(BASE.zero(ZeroStage::Three, 8));
    assert!(zero1.optimizer.get() < one.optimizer.get() && zero1.gradients == one.gradients);
    assert!(zero2.gradients.get() < zero1.gradients.get() && zero2.weights == one.weights);
    assert!(zero3.weights.get() < zero2.weights.get());
    // ZeRO-3 gathers one block in full during forward and backward
    let gathered = BASE
        .zero(ZeroStage::Three, 8)
        .at(Phase::Forward)
        .temporaries
        .get();
    assert_eq!(gathered, 2 * Block::PARAMS);
    let tp = m(BASE.tensor_parallel(4));
    assert_eq!(tp.weights.get(), one.weights.get().div_ceil(4));
    assert!(act(&BASE.tensor_parallel(4)) < act(&BASE));
    let pp = m(BASE.pipeline_parallel(4));
    // the heaviest stage is the first: 24 / 4 blocks and the embedding (the last has the same
    // blocks and ln_f, its head tied); the optimizer state is per parameter
    let stage = 6 * Block::PARAMS + <Embedding<50257, 1024>>::PARAMS;
    assert_eq!(Decoder::COST.stage_params(4), stage);
    assert_eq!(
        u128::from(pp.optimizer.get()),
        (u128::from(one.optimizer.get()) * u128::from(stage)).div_ceil(u128::from(Decoder::PARAMS))
    );
    // 24 blocks do not make 5 equal stages
    assert_eq!(
        BASE.pipeline_parallel(5).checked_estimate(),
        Err(estimator::EstimateError::PipelineStages { pp: 5, blocks: 24 })
    );
    // 16 heads do not split over 3 GPUs; a model without attention splits as asked
    assert_eq!(
        BASE.tensor_parallel(3).checked_estimate(),
        Err(estimator::EstimateError::TensorParallelHeads { tp: 3, heads: 16 })
    );
    assert!(
        Training::of::<[FeedForward<1024, 4096>; 4]>()
            .tensor_parallel(3)
            .checked_estimate()
            .is_ok()
    );
    // 1F1B: the first stage holds a whole model's activations
    assert_eq!(act(&BASE.pipeline_parallel(4)), act(&BASE));
}

#[test]
fn lora_and_qlora() {
    let lora = Training::of::<LoraDecoder>()
        .batch(8)
        .seq(1024)
        .dropout(false);
    let full = Training::of::<LoraDecoder>()
        .batch(8)
        .seq(1024)
        .dropout(false);
    let m = lora.at(Phase::OptimizerStep);
    // adapters only: r·(in + out) for q and v in every layer
    let adapters = 24 * 2 * 16 * (1024 + 1024);
    assert_eq!(LoraDecoder::TRAINABLE, adapters);
    assert_eq!(m.gradients.get(), 2 * adapters);
    assert_eq!(m.master_weights.get(), 4 * adapters);
    // QLoRA: frozen matmul weights in NF4 with fp32 absmax per 64, and a 64-byte code book
    // per quantized tensor (bitsandbytes 0.50's `QuantState.code`: 16 fp32 values)
    let q = full.frozen_weights(DType::NF4).at(Phase::OptimizerStep);
    let frozen = LoraDecoder::COST.frozen_matmul;
    let tensors = LoraDecoder::COST.frozen_matmul_tensors;
    // q's and v's bases, k, o and the two MLP weights in each of the 24 blocks
    assert_eq!(tensors, 24 * 6);
    assert_eq!(
        q.weights.get(),
        frozen / 2 + frozen / 64 * 4 + 2 * (LoraDecoder::PARAMS - frozen) + tensors * 64
    );
    assert!(q.weights.get() < m.weights.get() / 2);
}

#[test]
fn overhead_is_added_to_every_phase() {
    let extra = Bytes::mib(300);
    for phase in [Phase::Forward, Phase::Backward, Phase::OptimizerStep] {
        let with: Memory = BASE.overhead(extra).at(phase);
        assert_eq!(
            with.total().get(),
            BASE.at(phase).total().get() + extra.get()
        );
    }
}

#[test]
fn inference_setters() {
    let base = Inference::of::<Decoder>()
        .batch(4)
        .prompt(1024)
        .generate(256);
    let m = |i: Inference| i.estimate();
    assert!(m(base.batch(8)).kv_cache > m(base).kv_cache);
    assert!(m(base.weights(DType::I4)).weights < m(base.weights(DType::I8)).weights);
    assert!(m(base.weights(DType::I8)).weights < m(base).weights);
    assert!(m(base.kv_cache(DType::F8E4M3)).kv_cache < m(base).kv_cache);
    assert!(m(base.attention(AttentionKernel::Eager)).total() > m(base).total());
    assert_eq!(
        m(base.tensor_parallel(2)).kv_cache.get(),
        m(base).kv_cache.get() / 2
    );
    assert!(base.at(Phase::Decode).kv_cache > base.at(Phase::Prefill).kv_cache);
    let budget = gpu::L4.usable();
    let longest = base.batch(1).max_seq(budget);
    assert!(base.batch(1).prompt(longest).fits(budget));
    assert!(!base.batch(1).prompt(longest + 1).fits(budget));
}

#[test]
fn invalid_settings_are_errors() {
    use estimator::EstimateError;
    assert_eq!(
        BASE.batch(0).checked_estimate(),
        Err(EstimateError::ZeroBatch)
    );
    assert_eq!(BASE.seq(0).checked_estimate(), Err(EstimateError::ZeroSeq));
    assert_eq!(
        BASE.zero(ZeroStage::Two, 0).checked_estimate(),
        Err(EstimateError::ZeroParallel)
    );
    assert_eq!(
        BASE.batch(u64::MAX).checked_estimate(),
        Err(EstimateError::Overflow)
    );
    let inf = Inference::of::<Decoder>();
    assert_eq!(
        inf.prompt(0).checked_estimate(),
        Err(EstimateError::ZeroSeq)
    );
    assert_eq!(
        inf.prompt(u64::MAX).generate(1).checked_estimate(),
        Err(EstimateError::Overflow)
    );
    // nothing fits in zero bytes
    assert_eq!(BASE.max_batch(Bytes::ZERO), 0);
}

/// A learned position table bounds the sequence: the defaults stay inside it (GPT-2's
/// `n_positions` is 1024), and a longer plan is refused with the table's size.
#[test]
fn position_tables_bound_the_defaults_and_the_plan() {
    #[derive(Params)]
    struct Small {
        wte: Embedding<100, 64>,
        wpe: PositionEmbedding<1024, 64>,
        h: [TransformerLayer<64, 4>; 2],
    }
    let t = Training::of::<Small>();
    assert_eq!(t.seq_len(), 1024);
    assert!(t.checked_estimate().is_ok());
    assert_eq!(
        t.seq(1025).checked_estimate(),
        Err(estimator::EstimateError::SequenceTooLong {
            tokens: 1025,
            positions: 1024
        })
    );
    let i = Inference::of::<Small>();
    // a quarter of the table generated (256), the rest prompt
    assert_eq!((i.prompt_len(), i.generated()), (768, 256));
    assert!(i.generate(257).checked_estimate().is_err());
    assert_eq!(i.max_seq(Bytes::gib(1 << 20)), 768);
    // without a table: the usual 2048 and 2048 + 256
    assert_eq!(
        Training::of::<[TransformerLayer<64, 4>; 2]>().seq_len(),
        2048
    );
    assert_eq!(
        Inference::of::<[TransformerLayer<64, 4>; 2]>().prompt_len(),
        2048
    );
}

/// Unlike blocks (dense layers, then wider ones, as DeepSeek's first dense layers before its MoE
/// layers): the heaviest stage holds the wide layers, and the estimate is never below it.
#[test]
fn pipeline_stages_of_unlike_blocks() {
    #[derive(Params)]
    struct Mixed {
        embed: Embedding<100, 64>,
        dense: [FeedForward<64, 256>; 2],
        wide: [FeedForward<64, 4096>; 2],
        head: Linear<64, 100, false>,
    }
    let (embed, dense, wide, head) = (
        <Embedding<100, 64>>::PARAMS,
        <FeedForward<64, 256>>::PARAMS,
        <FeedForward<64, 4096>>::PARAMS,
        <Linear<64, 100, false>>::PARAMS,
    );
    // two stages: embed + 2 dense | 2 wide + head
    let explicit = (embed + 2 * dense).max(2 * wide + head);
    let stage = Mixed::COST.stage_params(2);
    assert!(stage >= explicit, "{stage} < {explicit}");
    assert!(stage <= explicit + embed.max(head));
    // alike blocks: exactly 1/p of them plus the heavier end
    assert_eq!(<[FeedForward<64, 256>; 4]>::COST.stage_params(2), 2 * dense);
}
