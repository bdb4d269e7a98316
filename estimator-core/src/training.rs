//! [`Training`]: the memory of one training step, as a const builder.

use crate::cost::{Activations, Cost};
use crate::dtype::DType;
use crate::memory::{EstimateError, Memory, Phase, Workload};
use crate::params::Params;
use crate::policy::{
    ActivationModel, AttentionKernel, Device, Loss, Offload, Optimizer, OptimizerImpl, Precision,
    Recompute, ZeroStage,
};
use crate::units::Bytes;

/// `?` for const fns returning `Result<_, EstimateError>`.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Err(e),
        }
    };
}
pub(crate) use tri;

/// Checked u128 arithmetic for the estimates: any overflow is [`EstimateError::Overflow`].
pub(crate) const fn mul(a: u128, b: u128) -> Result<u128, EstimateError> {
    match a.checked_mul(b) {
        Some(v) => Ok(v),
        None => Err(EstimateError::Overflow),
    }
}

/// `a + b`, checked.
pub(crate) const fn add(a: u128, b: u128) -> Result<u128, EstimateError> {
    match a.checked_add(b) {
        Some(v) => Ok(v),
        None => Err(EstimateError::Overflow),
    }
}

/// `⌈a / d⌉` for a per-GPU share (`d ≥ 1`).
pub(crate) const fn share(a: u128, d: u64) -> u128 {
    a.div_ceil(d as u128)
}

/// What a plan must respect of the model: `tp` divides the query heads and the key/value heads
/// (or, `serving`, is a multiple of them: vLLM replicates KV heads), `tokens` fit in the
/// position table, and a source length is given exactly when the model has an encoder, within
/// its table (see [`check_source`]).
pub(crate) const fn check_plan(
    c: &Cost,
    tokens: u64,
    source: u64,
    tp: u64,
    serving: bool,
) -> Result<(), EstimateError> {
    if let Err(e) = c.valid() {
        return Err(EstimateError::CostOverflow(e));
    }
    tri!(check_source(c, source));
    if c.heads > 0 && !c.heads.is_multiple_of(tp) {
        return Err(EstimateError::TensorParallelHeads { tp, heads: c.heads });
    }
    let kv = c.kv_heads;
    if kv > 0 && !kv.is_multiple_of(tp) && !(serving && tp.is_multiple_of(kv)) {
        return Err(EstimateError::TensorParallelKvHeads {
            tp,
            kv_heads: kv,
            serving,
        });
    }
    if c.fixed_length && tokens != c.positions {
        return Err(EstimateError::FixedLength {
            tokens,
            positions: c.positions,
        });
    }
    if c.positions > 0 && tokens > c.positions {
        return Err(EstimateError::SequenceTooLong {
            tokens,
            positions: c.positions,
        });
    }
    Ok(())
}

/// A source length for a model with an encoder (none without one), inside the encoder's
/// learned position table, or exactly the length a fixed-length encoder reads.
const fn check_source(c: &Cost, source: u64) -> Result<(), EstimateError> {
    let s = &c.source;
    if s.output == 0 {
        return if source == 0 {
            Ok(())
        } else {
            Err(EstimateError::SourceWithoutEncoder)
        };
    }
    if source == 0 {
        return Err(EstimateError::ZeroSeq);
    }
    if (s.fixed && source != s.positions) || (s.positions > 0 && source > s.positions) {
        return Err(EstimateError::SourceLength {
            source,
            positions: s.positions,
            fixed: s.fixed,
        });
    }
    Ok(())
}

/// The default source length of a model: none without an encoder, the fixed length of an
/// encoder that reads one (Whisper's 1500 positions), else 512 tokens (T5's pre-training
/// inputs) or the encoder's position table when shorter.
pub(crate) const fn default_source(c: &Cost) -> u64 {
    let s = &c.source;
    if s.output == 0 {
        0
    } else if s.fixed || (s.positions > 0 && s.positions < 512) {
        s.positions
    } else {
        512
    }
}

/// A byte count that must fit in a `u64`.
pub(crate) const fn bytes(v: u128) -> Result<Bytes, EstimateError> {
    if v > u64::MAX as u128 {
        Err(EstimateError::Overflow)
    } else {
        Ok(Bytes::new(v as u64))
    }
}

/// The memory of one training step of a model, per GPU, at its peak.
///
/// Every setter is a `const fn` with a documented default; [`Training::estimate`] evaluates in
/// a `const` item, so a budget check fails the build (see [`assert_fits!`](crate::assert_fits)).
///
/// ```
/// use estimator::prelude::*;
///
/// #[derive(Params)]
/// struct Mlp {
///     up: Linear<4096, 16384>,
///     down: Linear<16384, 4096>,
/// }
///
/// // fp32 weights, gradients and two Adam moments: 16 bytes per parameter, plus Adam's step
/// // counter per tensor
/// const M: Memory = Training::of::<Mlp>()
///     .precision(Precision::Fp32)
///     .optimizer(Optimizer::AdamW)
///     .batch(8)
///     .seq(512)
///     .estimate();
/// assert_eq!(M.weights.get(), 4 * Mlp::PARAMS);
/// assert_eq!(M.optimizer.get(), 8 * Mlp::PARAMS + 4 * 4);
/// ```
///
/// What each part holds at each phase of the step (PyTorch semantics; gradients are freed
/// between steps, optimizer state lives from the first step on):
///
/// | phase | alive |
/// |---|---|
/// | end of forward | weights, state, master, saved activations, the logits and the loss's fp32 copy and log-softmax |
/// | start of backward | weights, state, master, saved activations, the loss's log-softmax and two fp32 `b·s·V` gradients |
/// | end of backward | weights, state, master, all gradients, two extra gradient buffers per tied weight |
/// | optimizer step | weights, state, master, gradients, the update's temporaries |
///
/// The estimate reports the largest phase ([`Memory::peak_phase`]); [`Training::at`] gives each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent settings, each with its own setter and default"
)]
pub struct Training {
    cost: Cost,
    model: &'static str,
    batch: u64,
    seq: u64,
    source: u64,
    precision: Precision,
    optimizer: Optimizer,
    optimizer_impl: OptimizerImpl,
    recompute: Recompute,
    attention: AttentionKernel,
    dropout: bool,
    activation_model: ActivationModel,
    device: Device,
    zero: ZeroStage,
    gpus: u64,
    fsdp: bool,
    tensor_parallel: u64,
    sequence_parallel: bool,
    pipeline_parallel: u64,
    offload: Offload,
    paged: bool,
    frozen_weights: Option<DType>,
    trainable_dtype: Option<DType>,
    cross_entropy: bool,
    loss: Loss,
    grad_accumulation: u64,
    state_dtype: Option<DType>,
    overhead: Bytes,
}

/// The largest `n` for which `$fits(n)` holds (0 when `$fits(1)` does not), by exponential then
/// binary search: `O(log n)` estimates, cheap enough for const evaluation (a linear scan is not).
macro_rules! largest {
    (|$n:ident| $fits:expr) => {{
        let mut lo = 0u64;
        let mut hi = 1u64;
        let mut unbounded = false;
        loop {
            let $n = hi;
            if !$fits {
                break;
            }
            lo = hi;
            match hi.checked_mul(2) {
                Some(h) => hi = h,
                None => {
                    unbounded = true;
                    break;
                }
            }
        }
        if !unbounded {
            // invariant: `lo` fits (or is 0), `hi` does not
            while hi - lo > 1 {
                let $n = lo + (hi - lo) / 2;
                if $fits {
                    lo = $n;
                } else {
                    hi = $n;
                }
            }
        }
        lo
    }};
}
pub(crate) use largest;

impl Training {
    /// Training `M` with the defaults: batch 1, sequence 2048 (or the learned position table's
    /// rows when fewer: GPT-2's 1024; an encoder–decoder's target 128 tokens and its source
    /// 512, see [`Training::source`]), `Precision::Mixed(BF16)`,
    /// `Optimizer::AdamW` (`OptimizerImpl::Foreach`), no recomputation, `AttentionKernel::Flash`,
    /// dropout on, `ActivationModel::PyTorch`, `Device::Cuda`, one GPU, no overhead.
    #[must_use]
    pub const fn of<M: Params + ?Sized>() -> Training {
        Training::new(M::COST, M::KIND)
    }

    /// Training a model known by its [`Cost`] (built at run time, e.g. from a `config.json`),
    /// with the defaults of [`Training::of`].
    #[must_use]
    pub const fn new(cost: Cost, model: &'static str) -> Training {
        Training {
            cost,
            model,
            batch: 1,
            seq: {
                let most = if cost.source.output > 0 { 128 } else { 2048 };
                if cost.positions > 0 && cost.positions < most {
                    cost.positions
                } else {
                    most
                }
            },
            source: default_source(&cost),
            precision: Precision::Mixed(DType::BF16),
            optimizer: Optimizer::AdamW,
            optimizer_impl: OptimizerImpl::Foreach,
            recompute: Recompute::None,
            attention: AttentionKernel::Flash,
            dropout: true,
            activation_model: ActivationModel::PyTorch,
            device: Device::Cuda,
            zero: ZeroStage::Off,
            gpus: 1,
            fsdp: false,
            tensor_parallel: 1,
            sequence_parallel: false,
            pipeline_parallel: 1,
            offload: Offload::None,
            paged: false,
            frozen_weights: None,
            trainable_dtype: None,
            cross_entropy: true,
            loss: Loss::Logits,
            grad_accumulation: 1,
            state_dtype: None,
            overhead: Bytes::ZERO,
        }
    }

    /// Micro-batch size per GPU (default 1; at least 1).
    #[must_use]
    pub const fn batch(self, batch: u64) -> Training {
        Training { batch, ..self }
    }

    /// Sequence length in tokens (default 2048; at least 1). For an encoder–decoder, the
    /// target (the decoder's labels; default 128).
    #[must_use]
    pub const fn seq(self, seq: u64) -> Training {
        Training { seq, ..self }
    }

    /// An encoder–decoder's source length: the encoder's input tokens, or an audio encoder's
    /// positions (Whisper: 1500 for its 30 s of mel frames, the only length it reads). Default
    /// 512, or the encoder's position table when shorter; must stay 0 (the default) for a model
    /// without an encoder.
    #[must_use]
    pub const fn source(self, source: u64) -> Training {
        Training { source, ..self }
    }

    /// Storage precision (default `Precision::Mixed(DType::BF16)`, 16Φ).
    #[must_use]
    pub const fn precision(self, precision: Precision) -> Training {
        Training { precision, ..self }
    }

    /// The optimizer (default `Optimizer::AdamW`).
    #[must_use]
    pub const fn optimizer(self, optimizer: Optimizer) -> Training {
        Training { optimizer, ..self }
    }

    /// How the optimizer step runs, which sizes its temporaries (default
    /// `OptimizerImpl::Foreach`, PyTorch's default on CUDA).
    #[must_use]
    pub const fn optimizer_impl(self, optimizer_impl: OptimizerImpl) -> Training {
        Training {
            optimizer_impl,
            ..self
        }
    }

    /// Activation recomputation (default `Recompute::None`).
    #[must_use]
    pub const fn recompute(self, recompute: Recompute) -> Training {
        Training { recompute, ..self }
    }

    /// The attention kernel (default `AttentionKernel::Flash`, what PyTorch's SDPA picks on
    /// CUDA).
    #[must_use]
    pub const fn attention(self, attention: AttentionKernel) -> Training {
        Training { attention, ..self }
    }

    /// Whether the model's dropout layers are active with `p > 0` (default `true`; set `false`
    /// for models trained without dropout, such as Llama and Mistral).
    #[must_use]
    pub const fn dropout(self, dropout: bool) -> Training {
        Training { dropout, ..self }
    }

    /// Which account of activations to use (default `ActivationModel::PyTorch`).
    #[must_use]
    pub const fn activation_model(self, activation_model: ActivationModel) -> Training {
        Training {
            activation_model,
            ..self
        }
    }

    /// Device behaviour (default `Device::Cuda`: one-byte dropout masks).
    #[must_use]
    pub const fn device(self, device: Device) -> Training {
        Training { device, ..self }
    }

    /// ZeRO stage over `gpus` data-parallel GPUs (default `ZeroStage::Off`, 1 GPU).
    #[must_use]
    pub const fn zero(self, stage: ZeroStage, gpus: u64) -> Training {
        Training {
            zero: stage,
            gpus,
            ..self
        }
    }

    /// PyTorch FSDP2 (`torch.distributed.fsdp.fully_shard`) over `gpus` data-parallel GPUs, as
    /// its documentation applies it: `fully_shard` on every repeated block, then on the model
    /// (the root group: embeddings, final norm, head), default `reshard_after_forward`. Per GPU,
    /// as torch 2.15's `_fully_shard` allocates it (`_fsdp_param.py`, `_fsdp_param_group.py`,
    /// `_fsdp_collectives.py`; measured on CPU over gloo, `tests/memory.rs`):
    /// - sharded parameters in their original dtype (fp32, or the 16-bit type of
    ///   `Precision::Pure`: they are the master weights), sharded gradients in that dtype, the
    ///   optimizer's state over the local shard: `1/gpus` each (each parameter is padded to
    ///   `⌈rows/gpus⌉` rows on dimension 0 — exact when every tensor's first dimension divides
    ///   by `gpus`, as in the common sizes; up to `gpus − 1` rows a tensor more otherwise);
    /// - unsharded, in the compute dtype (`MixedPrecisionPolicy(param_dtype)` for
    ///   `Precision::Mixed(d)`, with `reduce_dtype=float32`): the root group's parameters from
    ///   the first forward to the end of backward (the root is never resharded after forward);
    ///   in forward the running block and its retained all-gather output (`AllGatherState`:
    ///   two blocks); in backward the running block, the next one prefetched, the block's
    ///   unsharded gradients (compute dtype: torch 2.15 defers the upcast) and the previous
    ///   block's reduce-scatter input (fp32, kept in `ReduceScatterState` until the next
    ///   reduce-scatter), the head's unsharded gradients; at the end the root's own
    ///   reduce-scatter, over embeddings and head.
    ///
    /// With [`Offload::OptimizerAndParams`] (`CPUOffloadPolicy`) the sharded parameters,
    /// gradients and the optimizer's state are on the host (its step runs there), the GPU
    /// keeping the unsharded buffers. No tensor or pipeline parallelism beside it, no
    /// optimizer-only offload, no frozen parameters (LoRA), and no `MixedFp32Grads`
    /// ([`EstimateError::Fsdp`]). Sets ZeRO stage 3.
    #[must_use]
    pub const fn fsdp(self, gpus: u64) -> Training {
        Training {
            zero: ZeroStage::Three,
            gpus,
            fsdp: true,
            ..self
        }
    }

    /// Tensor-parallel degree `t` (default 1): weights, gradients, states, most activations,
    /// the logits divided by `t` (Megatron-LM without [sequence
    /// parallelism](Training::sequence_parallel): the residual stream — layer-norm inputs, the
    /// blocks' inputs, the checkpoints of full recomputation — dropout masks on it and norm
    /// statistics are replicated; Korthikanti et al. 2022, Eq. 2). `t` must divide the attention heads
    /// and the key/value heads, as Megatron-LM requires
    /// ([`EstimateError::TensorParallelHeads`], [`EstimateError::TensorParallelKvHeads`]).
    #[must_use]
    pub const fn tensor_parallel(self, t: u64) -> Training {
        Training {
            tensor_parallel: t,
            ..self
        }
    }

    /// Megatron-LM's sequence parallelism (`--sequence-parallel`, default off): beside tensor
    /// parallelism, the tensors it replicates — the residual stream outside the attention and
    /// MLP blocks, the dropout masks on it, the norms' statistics, the checkpoints of full
    /// recomputation — are split along the sequence over the `t` GPUs, so every activation is
    /// divided by `t` (Korthikanti et al. 2022, Eq. 4; with selective recomputation Eq. 6,
    /// `34·sbh/t` per layer). No effect with `t = 1`.
    #[must_use]
    pub const fn sequence_parallel(self, on: bool) -> Training {
        Training {
            sequence_parallel: on,
            ..self
        }
    }

    /// DeepSpeed's CPU offload (default [`Offload::None`]), with the ZeRO stage it needs (1–3
    /// for [`Offload::Optimizer`], 3 for [`Offload::OptimizerAndParams`];
    /// [`EstimateError::OffloadStage`]) — one GPU is enough. Per GPU, as DeepSpeed 0.19's
    /// training code allocates it (`stage_1_and_2.py`, `stage3.py`):
    /// - GPU: no master weights, no optimizer state, no step temporaries (the CPU runs the
    ///   step); gradients are one buffer of the largest parameter in the model's dtype
    ///   (`temp_grad_buffer_for_gpu_offload`; each parameter's gradient is copied out as
    ///   backward produces it); with the parameters offloaded, the weights are one gathered
    ///   block (and the buffers).
    /// - Host ([`Memory::host`]), per GPU's process, over its partition of `1/gpus` of the
    ///   trainable parameters: the fp32 master (4 B), the fp32 gradients (4 B), the optimizer
    ///   state, and a 16-bit copy (stage 1–2: the staging partition the step writes; stage 3:
    ///   the reduced-gradient buffer) — 18 B/param with AdamW; with the parameters offloaded,
    ///   their 16-bit partition too (20 B/param); with gradient accumulation in stage 1–2, a
    ///   16-bit accumulation buffer of the partition.
    ///
    /// Not counted, as DeepSpeed's own estimators do not count them: the reduce bucket
    /// (`reduce_bucket_size`, 5e8 elements, 1 GB in 16 bits on the GPU, twice with
    /// `overlap_comm`), ZeRO-3's prefetch window and persistent small parameters, and the
    /// model's load in fp32 on every rank at start-up (their `4·params·GPUs per node` term).
    /// bitsandbytes' 8-bit AdamW runs on the GPU only ([`EstimateError::OffloadOptimizer`]).
    #[must_use]
    pub const fn offload(self, offload: Offload) -> Training {
        Training { offload, ..self }
    }

    /// bitsandbytes' paged optimizers (`PagedAdamW`, `PagedAdamW8bit`, `PagedLion`, …; default
    /// off): the optimizer state lives in CUDA unified memory (`cudaMallocManaged`,
    /// `F.get_paged`), which the driver evicts to the host when the GPU runs short and
    /// bitsandbytes prefetches for the step — the state of tensors of 100,000 elements or more;
    /// smaller ones (LoRA's rank-16 adapters over 4096 features) are ordinary device memory
    /// ([`Cost::unpaged_trainable`]). Outside the step that state is in [`Memory::paged`], not
    /// in the total; the step needs it on the GPU. The step runs
    /// bitsandbytes' fused kernels: no temporaries. Adam, AdamW, 8-bit AdamW and Lion only,
    /// and not beside CPU offload ([`EstimateError::PagedOptimizer`]).
    #[must_use]
    pub const fn paged_optimizer(self, on: bool) -> Training {
        Training { paged: on, ..self }
    }

    /// Pipeline-parallel degree `p` (default 1): the heaviest stage's weights, gradients and
    /// states — `1/p` of the repeated blocks plus the embeddings (first stage) or the head (last
    /// stage), whichever is larger ([`Cost::stage_params`]). With the 1F1B schedule the first
    /// stage holds `p` micro-batches of its `L/p` layers, a whole model's activations
    /// (Korthikanti et al. 2022, §4.2.3); the logits are counted on the same GPU, which
    /// over-estimates by the smaller of the two ends. `p` must divide the
    /// repeated blocks into equal stages, as Megatron-LM requires of `num_layers`
    /// ([`EstimateError::PipelineStages`]).
    #[must_use]
    pub const fn pipeline_parallel(self, p: u64) -> Training {
        Training {
            pipeline_parallel: p,
            ..self
        }
    }

    /// Stores the frozen matmul weights (LoRA bases, `Frozen` layers) in `dtype`: QLoRA is
    /// `.frozen_weights(DType::NF4)` (or `NF4DoubleQuant`), block scales included (default: the
    /// precision's weight dtype).
    #[must_use]
    pub const fn frozen_weights(self, dtype: DType) -> Training {
        Training {
            frozen_weights: Some(dtype),
            ..self
        }
    }

    /// Whether the model's output goes through a cross-entropy loss over its last dimension
    /// (default `true`: a language model's head and its vocabulary-wide logits). Set `false`
    /// for a bare stack of layers, whose output is not logits.
    #[must_use]
    pub const fn cross_entropy(self, cross_entropy: bool) -> Training {
        Training {
            cross_entropy,
            ..self
        }
    }

    /// Stores the trainable parameters in `dtype` whatever the precision, their gradients and
    /// optimizer state with them, and no master copy: peft's LoRA adapters on a 16-bit base are
    /// fp32 (`get_peft_model(..., autocast_adapter_dtype=True)`, its default), trained under
    /// autocast — `Precision::Pure(BF16)` for the base and its activations,
    /// `.trainable_dtype(DType::F32)` for the adapters, whose 16-bit casts autocast caches
    /// through the step (default: the precision's weights).
    #[must_use]
    pub const fn trainable_dtype(self, dtype: DType) -> Training {
        Training {
            trainable_dtype: Some(dtype),
            ..self
        }
    }

    /// How the loss reads the last hidden states (default [`Loss::Logits`]): [`Loss::Chunked`]
    /// is TRL's fused head, for a language model's generation head
    /// ([`EstimateError::ChunkedLoss`] otherwise). CLI `--loss chunked`.
    #[must_use]
    pub const fn loss(self, loss: Loss) -> Training {
        Training { loss, ..self }
    }

    /// Adds a fixed amount to every phase (allocator reserve, workspaces; default zero). The CUDA
    /// context is not here but in the budget: [`Gpu::usable`](crate::gpu::Gpu::usable).
    #[must_use]
    pub const fn overhead(self, overhead: Bytes) -> Training {
        Training { overhead, ..self }
    }

    /// Micro-batches whose gradients accumulate before each optimizer step (default 1; at
    /// least 1). From the second on, every forward and backward runs with the gradients of the
    /// earlier ones alive (`.grad` is summed into, not freed), so the gradients join the
    /// activations at the peak — as they do with `zero_grad(set_to_none=False)`, which a
    /// value above 1 also stands for. The batch is still the micro-batch.
    #[must_use]
    pub const fn grad_accumulation(self, steps: u64) -> Training {
        Training {
            grad_accumulation: steps,
            ..self
        }
    }

    /// The optimizer's moments in `dtype` whatever the precision (default: the precision's —
    /// fp32, or the 16-bit type of `Pure`). `Pure(BF16)` with fp32 moments is 16-bit training
    /// without a master copy: 2 + 2 + 8 = 12 bytes per parameter with Adam, the QLoRA paper's
    /// "more than 780 GB" for a 65B model. bitsandbytes' 8-bit optimizers keep their own; a
    /// type narrower than a byte is priced as one byte per element.
    #[must_use]
    pub const fn optimizer_state_dtype(self, dtype: DType) -> Training {
        Training {
            state_dtype: Some(dtype),
            ..self
        }
    }

    /// Bytes of one optimizer-state element.
    const fn state_bytes(&self) -> u128 {
        match self.state_dtype {
            Some(d) => match d.whole_bytes() {
                Some(b) => b as u128,
                None => 1,
            },
            None => match self.trainable_bytes() {
                Some(t) => t,
                None => self.precision.state_bytes() as u128,
            },
        }
    }

    /// Bytes of a trainable parameter set apart by [`Training::trainable_dtype`].
    const fn trainable_bytes(&self) -> Option<u128> {
        match self.trainable_dtype {
            Some(d) => match d.whole_bytes() {
                Some(b) => Some(b as u128),
                None => None,
            },
            None => None,
        }
    }

    /// The sequence length in tokens.
    #[must_use]
    pub const fn seq_len(&self) -> u64 {
        self.seq
    }

    /// The source length (0 for a model without an encoder).
    #[must_use]
    pub const fn source_len(&self) -> u64 {
        self.source
    }

    /// The model's cost.
    #[must_use]
    pub const fn cost(&self) -> Cost {
        self.cost
    }

    /// The memory at the step's peak; stops const evaluation (a compile error in a `const`
    /// item) with [`EstimateError::message`] when the settings are invalid or a total exceeds
    /// `u64`.
    #[must_use]
    pub const fn estimate(self) -> Memory {
        match self.checked_estimate() {
            Ok(m) => m,
            Err(e) => panic!("{}", e.message()),
        }
    }

    /// The memory at the step's peak.
    ///
    /// # Errors
    /// [`EstimateError`] when the batch, sequence or a parallel degree is zero, or a total
    /// exceeds `u64` bytes.
    pub const fn checked_estimate(self) -> Result<Memory, EstimateError> {
        tri!(self.validate());
        // the parts once, the three phases from them
        let parts = tri!(self.parts());
        let fwd = tri!(self.phase_memory(&parts, Phase::Forward));
        let bwd = tri!(self.phase_memory(&parts, Phase::Backward));
        let step = tri!(self.phase_memory(&parts, Phase::OptimizerStep));
        let (f, b, s) = (fwd.total().get(), bwd.total().get(), step.total().get());
        Ok(if b >= f && b >= s {
            bwd
        } else if s >= f {
            step
        } else {
            fwd
        })
    }

    /// The memory alive at `phase` (a training phase).
    #[must_use]
    pub const fn at(self, phase: Phase) -> Memory {
        match self.checked_at(phase) {
            Ok(m) => m,
            Err(e) => panic!("{}", e.message()),
        }
    }

    /// The memory alive at `phase`; the inference phases give the optimizer step's.
    ///
    /// # Errors
    /// As [`Training::checked_estimate`].
    pub const fn checked_at(self, phase: Phase) -> Result<Memory, EstimateError> {
        tri!(self.validate());
        let parts = tri!(self.parts());
        self.phase_memory(&parts, phase)
    }

    /// What is alive at `phase`, from the parts.
    const fn phase_memory(&self, parts: &Parts, phase: Phase) -> Result<Memory, EstimateError> {
        let mut m = Memory::empty(Workload::Training, phase, self.model, self.overhead);
        m.host = tri!(bytes(parts.host));
        m.weights = tri!(bytes(parts.weights));
        m.optimizer = tri!(bytes(parts.optimizer));
        m.master_weights = tri!(bytes(parts.master));
        match phase {
            Phase::Forward => {
                m.activations = tri!(bytes(parts.stored_activations));
                m.logits = tri!(bytes(parts.logits_forward));
                m.temporaries = tri!(bytes(parts.forward_temporaries));
                if self.grad_accumulation > 1 {
                    // the earlier micro-batches' gradients
                    m.gradients = tri!(bytes(parts.gradients));
                }
            }
            Phase::Backward => {
                let kept = if self.grad_accumulation > 1 {
                    parts.gradients
                } else {
                    0
                };
                // the loss's backward comes first; under full recomputation the last block is
                // replayed only once it is done (its logits' buffers freed)
                let head = tri!(add(parts.stored_activations, parts.logits_backward));
                let replaying = parts.activations > head;
                let first = if replaying { parts.activations } else { head };
                let start = tri!(add(tri!(add(first, parts.backward_temporaries)), kept));
                // the first block's backward (under full recomputation, its replay): every
                // gradient (that block's and the embeddings' are still to come, and its
                // backward's own temporaries, not itemized, take their place: measured within
                // 4 %, tests/fixtures/memory-settings.json) beside one block's activations
                let late = tri!(add(
                    tri!(add(parts.gradients, parts.replay)),
                    parts.replay_copies
                ));
                let end = tri!(add(parts.gradients, parts.end_temporaries));
                if start >= end && start >= late {
                    if replaying {
                        m.activations = tri!(bytes(parts.activations));
                    } else {
                        m.activations = tri!(bytes(parts.stored_activations));
                        m.logits = tri!(bytes(parts.logits_backward));
                    }
                    m.temporaries = tri!(bytes(parts.backward_temporaries));
                    m.gradients = tri!(bytes(kept));
                } else if late > end {
                    m.gradients = tri!(bytes(parts.gradients));
                    m.activations = tri!(bytes(parts.replay));
                    m.temporaries = tri!(bytes(parts.replay_copies));
                } else {
                    m.gradients = tri!(bytes(parts.gradients));
                    m.temporaries = tri!(bytes(parts.end_temporaries));
                }
            }
            _ => {
                m.phase = Phase::OptimizerStep;
                m.gradients = tri!(bytes(parts.gradients));
                m.temporaries = tri!(bytes(parts.step_temporaries));
            }
        }
        if !matches!(self.offload, Offload::None) {
            // the offload's gradient buffer is allocated once, at start-up
            m.gradients = tri!(bytes(parts.gradients));
        }
        if !matches!(m.phase, Phase::OptimizerStep) {
            // unified memory the driver may move to the host until the step prefetches it
            let paged = if parts.paged < parts.optimizer {
                parts.paged
            } else {
                parts.optimizer
            };
            m.paged = tri!(bytes(paged));
            m.optimizer = tri!(bytes(parts.optimizer - paged));
        }
        m.validated()
    }

    /// Whether the step fits in `budget` (false when the estimate is invalid).
    #[must_use]
    pub const fn fits(self, budget: Bytes) -> bool {
        Memory::result_fits(self.checked_estimate(), budget)
    }

    /// The largest micro-batch that fits in `budget` (0 when not even one sample does), by
    /// exponential then binary search: `O(log b)` estimates, cheap enough for const
    /// evaluation. `u64::MAX` is not reached: a batch whose total exceeds `u64` bytes does not
    /// fit.
    #[must_use]
    pub const fn max_batch(self, budget: Bytes) -> u64 {
        largest!(|n| self.batch(n).fits(budget))
    }

    /// The longest sequence that fits in `budget` at the set batch (0 when not even one token
    /// does), by exponential then binary search; never past a learned position table
    /// ([`Cost::positions`]).
    #[must_use]
    pub const fn max_seq(self, budget: Bytes) -> u64 {
        largest!(|n| self.seq(n).fits(budget))
    }

    const fn validate(&self) -> Result<(), EstimateError> {
        if self.batch == 0 {
            return Err(EstimateError::ZeroBatch);
        }
        if self.seq == 0 {
            return Err(EstimateError::ZeroSeq);
        }
        if self.gpus == 0 || self.tensor_parallel == 0 || self.pipeline_parallel == 0 {
            return Err(EstimateError::ZeroParallel);
        }
        if self.grad_accumulation == 0 {
            return Err(EstimateError::ZeroAccumulation);
        }
        if matches!(self.loss, Loss::Chunked)
            && self.cross_entropy
            && (self.cost.logits_input == 0 || self.cost.output == 0 || self.tensor_parallel > 1)
        {
            return Err(EstimateError::ChunkedLoss);
        }
        if self.fsdp
            && (!matches!(self.zero, ZeroStage::Three)
                || self.tensor_parallel > 1
                || self.pipeline_parallel > 1
                || matches!(self.offload, Offload::Optimizer)
                || matches!(self.precision, Precision::MixedFp32Grads(_))
                || self.frozen_weights.is_some()
                || self.cost.trainable != self.cost.params)
        {
            return Err(EstimateError::Fsdp);
        }
        if self.paged
            && (!matches!(
                self.optimizer,
                Optimizer::Adam | Optimizer::AdamW | Optimizer::AdamW8bit | Optimizer::Lion
            ) || !matches!(self.offload, Offload::None))
        {
            return Err(EstimateError::PagedOptimizer);
        }
        match self.offload {
            Offload::None => {}
            Offload::Optimizer if matches!(self.zero, ZeroStage::Off) => {
                return Err(EstimateError::OffloadStage { params: false });
            }
            Offload::OptimizerAndParams if !matches!(self.zero, ZeroStage::Three) => {
                return Err(EstimateError::OffloadStage { params: true });
            }
            _ if matches!(self.optimizer, Optimizer::AdamW8bit) => {
                return Err(EstimateError::OffloadOptimizer);
            }
            _ => {}
        }
        tri!(check_plan(
            &self.cost,
            self.seq,
            self.source,
            self.tensor_parallel,
            false
        ));
        let (pp, blocks) = (self.pipeline_parallel, self.cost.blocks);
        if pp > 1 && (blocks == 0 || !blocks.is_multiple_of(pp)) {
            return Err(EstimateError::PipelineStages { pp, blocks });
        }
        Ok(())
    }

    /// The weights on one GPU and, apart, the buffers among them: frozen matmul weights may be
    /// quantized (QLoRA), ZeRO-3 shards the parameters, float buffers take the weights' dtype
    /// once the model is cast.
    const fn weights(&self) -> Result<(u128, u128), EstimateError> {
        let c = &self.cost;
        let w = self.precision.weight_bytes() as u128;
        let rest = (c.params - c.frozen_matmul) as u128;
        let frozen = match self.frozen_weights {
            Some(d) => {
                match d.checked_bytes_for_tensors(c.frozen_matmul, c.frozen_matmul_tensors) {
                    Some(b) => b.get() as u128,
                    None => return Err(EstimateError::Overflow),
                }
            }
            None => tri!(mul(c.frozen_matmul as u128, w)),
        };
        let mut stored = tri!(add(tri!(mul(rest, w)), frozen));
        if let Some(t) = self.trainable_bytes() {
            // the trainable ones in their own dtype
            let trainable = c.trainable as u128;
            stored = tri!(add(stored - trainable * w, tri!(mul(trainable, t))));
        }
        let mut weights = tri!(self.split(stored));
        if matches!(self.zero, ZeroStage::Three) {
            weights = share(weights, self.gpus);
        }
        let buffers = c.buffer_bytes as u128 - 4 * c.float_buffers as u128
            + c.float_buffers as u128 * if w < 4 { w } else { 4 };
        Ok((tri!(add(weights, buffers)), buffers))
    }

    /// Every part of every phase, in bytes per GPU.
    const fn parts(&self) -> Result<Parts, EstimateError> {
        let c = &self.cost;
        let p = self.precision;
        let dp = self.gpus;
        let zero = self.zero as u8;
        let w = p.weight_bytes() as u128;
        let (mut weights, buffers) = tri!(self.weights());
        // --- gradients, master weights, optimizer state
        let trainable = c.trainable as u128;
        let (grad_bytes, master_bytes) = match self.trainable_bytes() {
            Some(t) => (t, 0),
            None => (p.grad_bytes() as u128, p.master_bytes() as u128),
        };
        let mut gradients = tri!(self.split(tri!(mul(trainable, grad_bytes))));
        if zero >= ZeroStage::Two as u8 {
            gradients = share(gradients, dp);
        }
        let mut master = tri!(self.split(tri!(mul(trainable, master_bytes))));
        let mut optimizer = tri!(self.split(tri!(self.optimizer_state())));
        let mut paged = if self.paged {
            tri!(self.split(tri!(self.paged_state())))
        } else {
            0
        };
        // bitsandbytes' paged optimizers step in its fused kernels
        let mut step_temporaries = if self.paged {
            0
        } else {
            tri!(self.split(tri!(self.step_temporaries())))
        };
        if zero >= ZeroStage::One as u8 {
            master = share(master, dp);
            optimizer = share(optimizer, dp);
            paged = share(paged, dp);
            step_temporaries = share(step_temporaries, dp);
        }
        let (host, offloaded_weights) = tri!(self.offloaded(weights - buffers, optimizer));
        let gathered_alone = offloaded_weights > 0;
        if !matches!(self.offload, Offload::None) {
            // the CPU holds these and runs the step; one parameter's gradient at a time is on
            // the GPU, in the model's dtype
            master = 0;
            optimizer = 0;
            step_temporaries = 0;
            gradients = share(tri!(mul(c.largest_tensor as u128, w)), self.tensor_parallel);
            weights -= offloaded_weights;
        }
        // --- activations and logits
        let (activations, stored_activations, logits_forward, logits_backward) =
            tri!(self.activations_and_logits());
        let replay = tri!(self.one_block());
        // --- temporaries during forward and backward
        let (mut forward_temporaries, mut backward_temporaries, mut replay_copies) =
            tri!(self.autocast_copies());
        if zero >= ZeroStage::Three as u8 && !self.fsdp && (dp > 1 || gathered_alone) {
            // one block's weights gathered in full
            let gathered = share(tri!(mul(c.block_params as u128, w)), self.tensor_parallel);
            forward_temporaries = tri!(add(forward_temporaries, gathered));
            backward_temporaries = tri!(add(backward_temporaries, gathered));
            replay_copies = tri!(add(replay_copies, gathered));
        }
        // two extra gradient buffers per tied weight at the end of backward (the head's
        // gradient, the embedding's, and their sum exist at once), whole on the stage that
        // holds the embedding
        let tied_gradients = share(
            tri!(mul(
                tri!(mul(c.tied_trainable as u128, 2)),
                p.grad_bytes() as u128
            )),
            self.tensor_parallel,
        );
        let parts = Parts {
            weights,
            gradients,
            master,
            optimizer,
            activations,
            stored_activations,
            logits_forward,
            logits_backward,
            forward_temporaries,
            backward_temporaries,
            replay,
            replay_copies,
            end_temporaries: tied_gradients,
            step_temporaries,
            host,
            paged,
        };
        if self.fsdp {
            self.fsdp_parts(parts)
        } else {
            Ok(parts)
        }
    }

    /// FSDP2's parts per GPU ([`Training::fsdp`], where the sources are), from the plain ones:
    /// its sharded state in place of ZeRO-3's and its unsharded buffers among the temporaries.
    const fn fsdp_parts(&self, mut p: Parts) -> Result<Parts, EstimateError> {
        let c = &self.cost;
        let gpus = self.gpus;
        // the sharded (original) dtype: fp32, or Pure's 16 bits; the compute dtype (the
        // mixed-precision policy's `param_dtype`); the reduce-scatter's (`reduce_dtype`)
        let orig = self.precision.state_bytes() as u128;
        let compute = self.precision.weight_bytes() as u128;
        let reduce = orig;
        let sharded = share(tri!(mul(c.params as u128, orig)), gpus);
        let gradients = share(tri!(mul(c.trainable as u128, orig)), gpus);
        let buffers = c.buffer_bytes as u128 - 4 * c.float_buffers as u128
            + c.float_buffers as u128 * if orig < 4 { orig } else { 4 };
        p.master = 0;
        // the optimizer's state over the local shard; Adam's `step` counters, one a tensor,
        // on every GPU
        let steps = match self.optimizer {
            Optimizer::Adam | Optimizer::AdamW => 4 * c.trainable_tensors as u128,
            _ => 0,
        };
        let state = tri!(self.optimizer_state());
        let state = tri!(add(share(state - steps, gpus), steps));
        if let Offload::OptimizerAndParams = self.offload {
            // CPUOffloadPolicy: the sharded parameters and gradients, the optimizer's state and
            // its step on the host (priced here: `parts` has zeroed them as DeepSpeed's), the
            // step in PyTorch's CPU default, the single-tensor loop
            let on_host = Training {
                optimizer_impl: OptimizerImpl::SingleTensor,
                ..*self
            };
            let step = share(tri!(on_host.step_temporaries()), gpus);
            p.host = tri!(add(tri!(add(tri!(add(sharded, gradients)), state)), step));
            p.weights = buffers;
            p.gradients = 0;
            p.optimizer = 0;
            p.step_temporaries = 0;
        } else {
            p.host = 0;
            p.weights = tri!(add(sharded, buffers));
            p.gradients = gradients;
            p.optimizer = state;
        }
        // unsharded, in the compute dtype: one block (S), the root group (embeddings, norm,
        // head), a block's gradients, the head's (or the tied embedding's) gradients; a
        // block's reduce-scatter input in the reduce dtype
        let block = tri!(mul(c.block_params as u128, compute));
        let root_params = (c.params - c.repeated_params) as u128;
        let root = tri!(mul(root_params, compute));
        let head = tri!(mul((c.unquantized_matmul + c.tied) as u128, compute));
        let scatter = tri!(mul(c.block_params as u128, reduce));
        // forward: the root, the running block and its retained all-gather output
        p.forward_temporaries = tri!(add(p.forward_temporaries, tri!(add(root, 2 * block))));
        // backward: the root and the head's gradients, the running block, the next one
        // prefetched, the block's gradients
        let running = tri!(add(tri!(add(root, head)), 3 * block));
        p.backward_temporaries = tri!(add(p.backward_temporaries, running));
        // the first block (nothing left to prefetch), the second one's reduce-scatter input kept
        let first = tri!(add(tri!(add(root, head)), tri!(add(2 * block, scatter))));
        p.replay_copies = tri!(add(p.replay_copies, first));
        // the root's post-backward: its gradients, and before its own reduce-scatter input
        // (over embeddings and head) its parameters and the first block's input
        let root_scatter = tri!(mul(root_params, reduce));
        let before = tri!(add(root, scatter));
        let last = tri!(add(
            root,
            if before > root_scatter {
                before
            } else {
                root_scatter
            }
        ));
        p.end_temporaries = tri!(add(p.end_temporaries, last));
        Ok(p)
    }

    /// The activations at the start of backward and at the end of forward, and what the loss
    /// holds in its forward and in its backward.
    const fn activations_and_logits(&self) -> Result<(u128, u128, u128, u128), EstimateError> {
        let c = &self.cost;
        let (mut activations, mut stored_activations) = tri!(self.activations());
        let tokens = tri!(mul(self.batch as u128, self.seq as u128));
        let vocab = if self.cross_entropy { c.output } else { 0 };
        let logit_elems = share(tri!(mul(tokens, vocab as u128)), self.tensor_parallel);
        let cl = self.precision.compute_bytes() as u128;
        // the logits, their fp32 upcast in the loss (none when already fp32), the saved
        // log-softmax
        let forward_bytes = cl + if cl == 4 { 0 } else { 4 } + 4;
        let mut logits_forward = tri!(mul(logit_elems, forward_bytes));
        // the saved log-softmax and two fp32 gradients (of it, and of the logits); or, when
        // larger, what the largest block's backward allocates at once (the reference Mamba
        // scan's gradients), which comes after the logits' are freed
        let mut logits_backward = tri!(mul(logit_elems, 12));
        if let (Loss::Chunked, true) = (self.loss, self.cross_entropy) {
            let fused = tri!(self.chunked_loss());
            // the fused head's saves in place of the head's own input
            // (`Textbook` never counted the head's input)
            activations = tri!(add(
                activations.saturating_sub(fused.head_input),
                fused.saved
            ));
            stored_activations = tri!(add(
                stored_activations.saturating_sub(fused.head_input),
                fused.saved
            ));
            logits_forward = fused.forward;
            logits_backward = fused.backward;
        }
        let transient = share(
            tri!(mul(
                tokens,
                tri!(mul(c.block.backward_f32_per_token as u128, 4))
            )),
            self.tensor_parallel,
        );
        if transient > logits_backward {
            logits_backward = transient;
        }
        Ok((
            activations,
            stored_activations,
            logits_forward,
            logits_backward,
        ))
    }

    /// TRL's fused head ([`Loss::Chunked`]) over the shifted tokens, as
    /// `ChunkedLogProbFunction` (trl 1.16 `kernels/chunked_logprob.py`) allocates it.
    const fn chunked_loss(&self) -> Result<Chunked, EstimateError> {
        let c = &self.cost;
        let p = self.precision;
        let (d, v) = (c.logits_input as u128, c.output as u128);
        let n = tri!(mul(self.batch as u128, self.seq.saturating_sub(1) as u128));
        // `TOKEN_CHUNK_SIZE` tokens a tile, `_CHUNKED_LOGPROB_CHUNK_SIZE` (trainer/utils.py)
        // its width: `mm_buf = torch.empty((min(N, 4096), chunk_size))`
        let rows = if n < 4096 { n } else { 4096 };
        let vocab_chunk = if v < 32768 { v } else { 32768 };
        // the tile in the compute dtype (autocast's, else the hidden states'); the hidden
        // states in the residual stream's; the head's weight in the weights'
        let (cl, rb, wb) = (
            p.compute_bytes() as u128,
            p.residual_bytes() as u128,
            p.weight_bytes() as u128,
        );
        let tile = tri!(mul(rows, 32768 * cl));
        // `.to(compute_dtype)` of a token chunk and of a vocabulary chunk of the weight
        let mut casts = 0;
        if rb != cl {
            casts = tri!(mul(rows, d * cl));
        }
        if wb != cl {
            casts = tri!(add(casts, tri!(mul(vocab_chunk, d * cl))));
        }
        let hidden = tri!(mul(n, d));
        // saved: the hidden states' copy (`hidden_states[mask]`, or the reshape of the
        // shifted slice), the int64 targets, `log_z` and the entropy
        let saved = tri!(add(tri!(mul(hidden, rb)), tri!(mul(n, 16))));
        // what the model's own head would have saved: its input (autocast's 16-bit cast of it)
        // for its weight's gradient — when it trains: with parameters frozen (LoRA: peft
        // freezes the head with the base) it saves none, and the fused head computes no
        // gradient for it
        let head_trains = c.trainable == c.params;
        let head_input = if head_trains {
            tri!(mul(tri!(mul(self.batch as u128, self.seq as u128)), d * cl))
        } else {
            0
        };
        // forward: seven fp32 statistics a token, the tile, the casts
        let mut forward = tri!(add(tri!(add(tri!(mul(n, 28)), tile)), casts));
        // backward: fp32 gradients of the hidden states and of the whole head (the head's
        // gradient itself, cast once more when the weights are not fp32), the incoming
        // gradient in fp32, the tile and the casts again
        let mut backward = tri!(add(
            tri!(mul(hidden, 4)),
            tri!(add(tri!(mul(n, 4)), tri!(add(tile, casts))))
        ));
        if head_trains {
            backward = tri!(add(backward, tri!(mul(v * d, 4))));
            if wb != 4 {
                backward = tri!(add(backward, tri!(mul(v * d, wb))));
            }
        }
        if let Device::Cpu = self.device {
            // without Triton the tile is folded by torch ops (`_forward_tile`,
            // `_backward_tile`), their locals alive together at the widest point: 13 bytes a
            // tile element in forward (`z`, the target mask, `z - max` and `exp`'s result),
            // 29 in backward (`y`, `z`, `log_p`, `p`, `grad`, the target mask, and the
            // difference and product of the gradient's update); measured on the tiny Llama
            // (tests/fixtures/memory-settings.json)
            let elems = tri!(mul(rows, vocab_chunk));
            forward = tri!(add(forward, tri!(mul(elems, 13))));
            backward = tri!(add(backward, tri!(mul(elems, 29))));
        }
        // (one tensor-parallel rank: `validate` refuses more)
        Ok(Chunked {
            saved,
            head_input,
            forward,
            backward,
        })
    }

    /// Autocast's 16-bit copies of the matmul weights: alive through the forward, at the start
    /// of backward, and those of the first block when the others' gradients exist (0, 0, 0 in
    /// the other precisions).
    const fn autocast_copies(&self) -> Result<(u128, u128, u128), EstimateError> {
        let c = &self.cost;
        let Precision::Autocast(_) = self.precision else {
            // trainable parameters kept wider than the compute dtype (peft's fp32 adapters on
            // a 16-bit base) are cast by autocast, which caches the copies through the step
            let cl = self.precision.compute_bytes() as u128;
            return Ok(match self.trainable_bytes() {
                Some(t) if t > cl => {
                    let copies = tri!(self.split(tri!(mul(c.trainable as u128, cl))));
                    (copies, copies, 0)
                }
                _ => (0, 0, 0),
            });
        };
        let cl = self.precision.compute_bytes() as u128;
        // autocast keeps a 16-bit copy of every matmul weight it casts (tied uses included)
        // until backward
        let mut cast = c.matmul - c.uncast_matmul;
        // the part inside the repeated blocks (grouped experts are all inside)
        let mut in_blocks = c.repeated_matmul.saturating_sub(c.uncast_matmul);
        if self.frozen_weights.is_some() {
            // quantized weights are dequantized inside bitsandbytes' matmul, which keeps the
            // packed weight for backward, not a 16-bit copy (MatMul4Bit.forward:
            // `ctx.tensors = (None, B)`, bitsandbytes 0.50 autograd/_functions.py)
            cast = cast.saturating_sub(c.frozen_matmul);
            in_blocks = in_blocks.saturating_sub(c.frozen_matmul);
        }
        let mut tied = c.tied;
        if let (Loss::Chunked, true) = (self.loss, self.cross_entropy) {
            // the fused head casts its weight a vocabulary chunk at a time, saving no copy
            cast = cast.saturating_sub(c.unquantized_matmul);
            tied = 0;
        }
        let copies = tri!(add(cast as u128, tied as u128));
        let forward = tri!(self.split(tri!(mul(copies, cl))));
        let Some(block) = in_blocks.checked_div(c.blocks) else {
            return Ok((forward, forward, 0));
        };
        // the first block's copies, saved for its backward (or cast again when it is replayed)
        let replay = tri!(self.split(tri!(mul(block as u128, cl))));
        if !matches!(self.recompute, Recompute::Full) {
            return Ok((forward, forward, replay));
        }
        // the checkpointed blocks' copies are cached, not saved: autocast drops its cache when
        // the forward's context exits, and backward casts again the block it replays
        // (torch.utils.checkpoint restores the autocast state; measured:
        // tests/fixtures/memory-settings.json)
        let kept = copies.saturating_sub(in_blocks as u128) + block as u128;
        Ok((forward, tri!(self.split(tri!(mul(kept, cl)))), replay))
    }

    /// What CPU offload keeps on the host per GPU's process, and the weights it takes off the
    /// GPU (`weights`: this GPU's partition of them; `optimizer`: its optimizer state). See
    /// [`Training::offload`] for the sources.
    const fn offloaded(
        &self,
        weights: u128,
        optimizer: u128,
    ) -> Result<(u128, u128), EstimateError> {
        if let Offload::None = self.offload {
            return Ok((0, 0));
        }
        let m = self.precision.weight_bytes() as u128;
        let partition = share(tri!(self.split(self.cost.trainable as u128)), self.gpus);
        // fp32 master, fp32 gradients, and a 16-bit partition (stage 1–2: the staging copy
        // the step writes, `param_buffer_of_bit16_for_cpu_offload_groups`; stage 3: the
        // reduced gradients, `grad_partitions_flat_buffer`)
        let mut host = tri!(add(tri!(mul(partition, 8 + m)), optimizer));
        let stage3 = matches!(self.zero, ZeroStage::Three);
        if !stage3 && self.grad_accumulation > 1 {
            // `accumulated_grads_in_cpu`: the partition's gradients between micro-batches
            host = tri!(add(host, tri!(mul(partition, m))));
        }
        if let Offload::OptimizerAndParams = self.offload {
            Ok((tri!(add(host, weights)), weights))
        } else {
            Ok((host, 0))
        }
    }

    /// `bytes` of the whole model's parameters (or of what is per parameter: gradients,
    /// states) on one GPU: the heaviest pipeline stage's share ([`Cost::stage_params`]), then
    /// divided by the tensor-parallel degree.
    const fn split(&self, bytes: u128) -> Result<u128, EstimateError> {
        let c = &self.cost;
        let p = self.pipeline_parallel;
        let staged = if p > 1 && c.params > 0 {
            tri!(mul(bytes, c.stage_params(p) as u128)).div_ceil(c.params as u128)
        } else {
            bytes
        };
        Ok(share(staged, self.tensor_parallel))
    }

    /// Optimizer state bytes for the whole model (see [`Optimizer`]).
    const fn optimizer_state(&self) -> Result<u128, EstimateError> {
        let c = &self.cost;
        let t = c.trainable as u128;
        let s = self.state_bytes();
        Ok(match self.optimizer {
            Optimizer::Sgd => 0,
            Optimizer::SgdMomentum | Optimizer::Lion => tri!(mul(t, s)),
            // two moments, and PyTorch's fp32 `step` tensor per parameter tensor
            Optimizer::Adam | Optimizer::AdamW => tri!(add(
                tri!(mul(t, 2 * s)),
                tri!(mul(c.trainable_tensors as u128, 4))
            )),
            Optimizer::AdamW8bit => {
                let small = c.small_trainable as u128;
                let large = t - small;
                // two uint8 moments, one fp32 absmax per 2048-element block of each; fp32
                // moments below bitsandbytes' min_8bit_size
                let blocks = large.div_ceil(2048);
                tri!(add(
                    tri!(add(tri!(mul(large, 2)), tri!(mul(small, 8)))),
                    tri!(mul(blocks, 8))
                ))
            }
            Optimizer::Adafactor => tri!(mul(c.factored as u128, s)),
            // transformers' Adafactor with beta1: exp_avg = zeros_like(grad)
            Optimizer::AdafactorMomentum => {
                tri!(mul(tri!(add(c.factored as u128, t)), s))
            }
        })
    }

    /// The state of bitsandbytes' paged optimizer that lives in unified memory, for the whole
    /// model: that of tensors of 100,000 elements or more (smaller ones are ordinary device
    /// memory, `get_state_buffer`); bitsandbytes keeps `step` in Python.
    const fn paged_state(&self) -> Result<u128, EstimateError> {
        let c = &self.cost;
        let large = (c.trainable - c.unpaged_trainable) as u128;
        let s = self.state_bytes();
        Ok(match self.optimizer {
            Optimizer::Adam | Optimizer::AdamW => tri!(mul(large, 2 * s)),
            Optimizer::Lion => tri!(mul(large, s)),
            // two uint8 moments and an fp32 absmax per 2048 of each (min_8bit_size 4096 is
            // under the paging threshold: every paged tensor is 8-bit)
            Optimizer::AdamW8bit => {
                tri!(add(tri!(mul(large, 2)), tri!(mul(large.div_ceil(2048), 8))))
            }
            _ => 0,
        })
    }

    /// The optimizer step's temporaries for the whole model (see [`OptimizerImpl`]).
    const fn step_temporaries(&self) -> Result<u128, EstimateError> {
        let c = &self.cost;
        let s = self.state_bytes();
        let largest = c.largest_tensor as u128;
        let copies_of_largest = match self.optimizer {
            Optimizer::Sgd | Optimizer::SgdMomentum | Optimizer::AdamW8bit => return Ok(0),
            Optimizer::Adam
            | Optimizer::AdamW
            | Optimizer::Adafactor
            | Optimizer::AdafactorMomentum => 2,
            Optimizer::Lion => 1,
        };
        Ok(match self.optimizer_impl {
            OptimizerImpl::Fused => 0,
            OptimizerImpl::SingleTensor => tri!(mul(tri!(mul(largest, copies_of_largest)), s)),
            // one state-sized buffer over every trainable parameter (Adam's sqrt(v), Lion's
            // interpolation); Adafactor has no foreach form in Hugging Face's implementation
            OptimizerImpl::Foreach => match self.optimizer {
                Optimizer::Adafactor | Optimizer::AdafactorMomentum => {
                    tri!(mul(tri!(mul(largest, 2)), s))
                }
                _ => tri!(mul(c.trainable as u128, s)),
            },
        })
    }

    /// Saved activations at the start of backward (with full recomputation: the checkpoints,
    /// the rest of the model and one block being replayed) and at the end of forward.
    const fn activations(&self) -> Result<(u128, u128), EstimateError> {
        let c = &self.cost;
        let src = &c.source;
        let tokens = tri!(mul(self.batch as u128, self.seq as u128));
        let source_tokens = tri!(mul(self.batch as u128, self.source as u128));
        if let Recompute::Full = self.recompute {
            let kept = tri!(self.streams(
                c.act.saturating_sub(c.checkpointed),
                src.act.saturating_sub(src.checkpointed),
                src.cross.saturating_sub(src.cross_checkpointed),
            ));
            let per_checkpoint = match self.activation_model {
                ActivationModel::PyTorch => self.precision.residual_bytes() as u128,
                ActivationModel::Textbook => 2,
            };
            let inputs = tri!(add(
                tri!(mul(tokens, c.checkpoint_per_token as u128)),
                tri!(mul(source_tokens, src.checkpoint_per_token as u128))
            ));
            // the residual stream: replicated by tensor parallelism unless sequence parallelism
            // splits it (Korthikanti et al.: 2sbh per layer without it)
            let checkpoints = tri!(mul(inputs, per_checkpoint));
            let checkpoints = share(checkpoints, self.replicated_share());
            let stored = tri!(add(kept, checkpoints));
            Ok((tri!(add(stored, tri!(self.one_block()))), stored))
        } else {
            let all = tri!(self.streams(c.act, src.act, src.cross));
            Ok((all, all))
        }
    }

    /// One block's activations: what full recomputation replays at a time, and what the first
    /// block still holds when the others' gradients exist — a decoder block (its target,
    /// source and cross parts) or an encoder block. 0 in `Textbook` (Korthikanti et al. count
    /// the checkpoints only).
    const fn one_block(&self) -> Result<u128, EstimateError> {
        let (c, src) = (&self.cost, &self.cost.source);
        Ok(match self.activation_model {
            ActivationModel::PyTorch => {
                let decoder = tri!(self.streams(c.block, src.block, src.cross_block));
                let encoder = tri!(self.profile_bytes(src.encoder_block, self.source, self.source));
                if decoder > encoder { decoder } else { encoder }
            }
            ActivationModel::Textbook => 0,
        })
    }

    /// Bytes of activations over the target (`target`, its scores over target pairs), the
    /// source (`source`, over source pairs) and across them (`cross`, over target × source).
    const fn streams(
        &self,
        target: Activations,
        source: Activations,
        cross: Activations,
    ) -> Result<u128, EstimateError> {
        let (s, src) = (self.seq, self.source);
        Ok(tri!(add(
            tri!(add(
                tri!(self.profile_bytes(target, s, s)),
                tri!(self.profile_bytes(source, src, src))
            )),
            tri!(self.profile_bytes(cross, s, src))
        )))
    }

    /// Batch-independent tensors (DeBERTa's relative table per layer, with its dropout mask),
    /// boolean masks per sample and int64 indices per step over the `q × k` pairs, and the
    /// masks a fused kernel keeps (in the weights' dtype, the embeddings').
    const fn mask_bytes(
        &self,
        a: Activations,
        (q, k): (u64, u64),
        eager: bool,
        (cb, mb): (u128, u128),
    ) -> Result<u128, EstimateError> {
        let squares = tri!(mul(q as u128, k as u128));
        let positions = tri!(mul(self.batch as u128, squares));
        let mut total = tri!(add(
            tri!(mul(a.per_step as u128, cb)),
            tri!(mul(a.per_step_f32 as u128, 4))
        ));
        if self.dropout {
            total = tri!(add(total, tri!(mul(a.per_step as u128, mb))));
        }
        total = tri!(add(total, tri!(mul(positions, a.square_bytes as u128))));
        total = tri!(add(total, tri!(mul(squares, a.step_square_bytes as u128))));
        if !eager {
            let masks = tri!(mul(positions, a.mask_maps as u128));
            total = tri!(add(
                total,
                tri!(mul(masks, self.precision.weight_bytes() as u128))
            ));
        }
        Ok(total)
    }

    /// Bytes of a chunked scan's tensors: per token of the sequence padded to whole chunks, and
    /// per chunk (Mamba-2's `chunk_size`, [`Cost::chunk`]).
    const fn chunk_bytes(
        &self,
        a: Activations,
        q: u64,
        (cb, b): (u128, u128),
    ) -> Result<u128, EstimateError> {
        let chunk = self.cost.chunk as u128;
        if chunk == 0 {
            return Ok(0);
        }
        let chunks = tri!(mul(b, (q as u128).div_ceil(chunk)));
        let padded = tri!(mul(chunks, chunk));
        let mut per_padded = tri!(add(
            tri!(mul(a.padded_per_token as u128, cb)),
            tri!(mul(a.padded_f32_per_token as u128, 4))
        ));
        if let Precision::Autocast(_) = self.precision {
            per_padded = tri!(add(
                per_padded,
                tri!(mul(a.padded_upcast_per_token as u128, 4))
            ));
        }
        let per_chunk = tri!(add(
            tri!(mul(a.per_chunk as u128, cb)),
            tri!(mul(a.per_chunk_f32 as u128, 4))
        ));
        let total = tri!(add(
            tri!(mul(padded, per_padded)),
            tri!(mul(chunks, per_chunk))
        ));
        Ok(share(total, self.tensor_parallel))
    }

    /// Bytes per (query, key) pair of the scores eager attention keeps, over every head.
    const fn score_bytes(&self, a: Activations, math: bool, (cb, mb): (u128, u128)) -> u128 {
        let p = self.precision;
        let heads = a.score_heads as u128;
        // The softmax output: Hugging Face's eager attention computes it in fp32 (autocast's
        // fp32 list, or an explicit `dtype=torch.float32`) and keeps a 16-bit copy for the
        // product with V; Megatron's fused softmax (`Mixed`) keeps 16 bits; the math
        // fallback keeps fp32 throughout. With dropout, the mask and the dropout output
        // replace that copy.
        let (keep, copy, drop_b, mask_b) = if math {
            (4, 0, 4, if mb == 1 { 1 } else { 4 })
        } else {
            match p {
                Precision::Autocast(_) | Precision::Pure(_) => (4, cb, cb, mb),
                _ => (cb, 0, cb, mb),
            }
        };
        let dropped = if self.dropout {
            a.score_dropout_heads as u128
        } else {
            0
        };
        let mut per_position =
            heads * keep + dropped * (mask_b + drop_b) + (heads - dropped) * copy;
        // a softmax in the activation dtype (GPT-2, BERT) in pure 16 bits, or under CPU
        // autocast, whose fp32 list has no softmax (CUDA's has): no fp32 output, no 16-bit
        // copy (measured: RoBERTa, ELECTRA, DistilBERT in tests/fixtures/memory-families.json)
        let own_dtype = match (p, self.device) {
            (Precision::Pure(_), _) | (Precision::Autocast(_), Device::Cpu) => !math,
            _ => false,
        };
        if own_dtype {
            let own = a.score_dtype_heads as u128;
            let own_dropped = if dropped < own { dropped } else { own };
            per_position -= own * (4 - cb) + (own - own_dropped) * copy;
        }
        // fp32 probabilities into the dropout (T5): a CPU mask in fp32 under autocast
        if let (Precision::Autocast(_), Device::Cpu, false) = (p, self.device, math) {
            let f32_dropped = if self.dropout {
                a.score_f32_dropout_heads as u128
            } else {
                0
            };
            per_position += f32_dropped * (4 - mb);
        }
        // soft-capping's tanh output, in the activation dtype
        per_position += a.score_cap_heads as u128 * cb;
        per_position
    }

    /// What divides the tensors tensor parallelism replicates: `t` with sequence parallelism,
    /// else 1.
    const fn replicated_share(&self) -> u64 {
        if self.sequence_parallel {
            self.tensor_parallel
        } else {
            1
        }
    }

    /// Bytes of an activation profile at this batch and precision, per GPU, over `q` tokens
    /// per sample attending to `k` positions (`q = k` = the sequence in self-attention).
    const fn profile_bytes(&self, a: Activations, q: u64, k: u64) -> Result<u128, EstimateError> {
        let b = self.batch as u128;
        let tokens = tri!(mul(b, q as u128));
        let positions = tri!(mul(tokens, k as u128));
        let t = self.tensor_parallel;
        let scores_kept = !matches!(self.recompute, Recompute::Selective);
        if let ActivationModel::Textbook = self.activation_model {
            // Korthikanti et al.: sbh(10 + 24/t + 5as/(ht)) per layer (Eq. 2), sbh(34/t +
            // 5as/(ht)) with sequence parallelism (Eq. 4)
            let replicated = if a.textbook_replicated_per_token < a.textbook_per_token {
                a.textbook_replicated_per_token
            } else {
                a.textbook_per_token
            } as u128;
            let split = a.textbook_per_token as u128 - replicated;
            let mut total = tri!(mul(tokens, split));
            if scores_kept && !matches!(self.attention, AttentionKernel::Flash) {
                total = tri!(add(
                    total,
                    tri!(mul(positions, a.textbook_per_token_seq as u128))
                ));
            }
            let whole = share(tri!(mul(tokens, replicated)), self.replicated_share());
            return Ok(tri!(add(share(total, t), whole)));
        }
        let p = self.precision;
        let cb = p.compute_bytes() as u128;
        let rb = p.residual_bytes() as u128;
        let mb = match self.device {
            Device::Cuda => 1,
            Device::Cpu => cb,
        };
        // eager and the math fallback keep the s × s scores; math computes in fp32
        let math = matches!(self.attention, AttentionKernel::Math);
        // a model without a fused kernel runs eagerly whatever the plan names
        let eager =
            math || matches!(self.attention, AttentionKernel::Eager) || self.cost.eager_attention;
        let attn_b = if math { 4 } else { cb };
        // split by tensor parallelism: the compute-dtype tensors inside attention and MLP
        let mut split = a.per_token as u128 + a.weight_input_per_token as u128;
        if self.dropout {
            split += a.dropout_per_token as u128;
        }
        let mut per_token = share(tri!(mul(split, cb)), t);
        let mut attention = a.attention_per_token as u128;
        if eager {
            attention += a.eager_per_token as u128;
        } else {
            attention += a.flash_per_token as u128;
        }
        per_token += share(tri!(mul(attention, attn_b)), t);
        // autocast casts a shared input once per Linear, and `.float()` copies 16-bit tensors;
        // peft's fp32 adapters on a 16-bit base recast theirs likewise (`_cast_input_dtype`
        // to fp32, autocast back to 16 bits: one saved copy per adapted Linear)
        if let Precision::Autocast(_) = p {
            per_token += share(tri!(mul(a.shared_input_per_token as u128, cb)), t);
            per_token += share(tri!(mul(a.upcast_per_token as u128, 4)), t);
        } else if let Some(tb) = self.trainable_bytes()
            && tb > cb
        {
            per_token += share(tri!(mul(a.shared_input_per_token as u128, cb)), t);
        }
        // replicated unless sequence parallelism splits them: the residual stream, fp32
        // statistics, dropout masks
        let mut whole = tri!(mul(
            a.residual_per_token as u128 + a.residual_weight_input_per_token as u128,
            rb
        ));
        whole += tri!(mul(a.f32_per_token as u128, 4));
        if self.dropout {
            whole += tri!(mul(a.mask_per_token as u128, mb));
            let residual_mb = match self.device {
                Device::Cuda => 1,
                Device::Cpu => rb,
            };
            whole += tri!(mul(a.residual_mask_per_token as u128, residual_mb));
        }
        per_token += share(whole, self.replicated_share());
        let mut total = tri!(mul(tokens, per_token));
        total = tri!(add(
            total,
            tri!(mul(tri!(mul(b, a.per_sample as u128)), cb))
        ));
        total = tri!(add(total, tri!(self.chunk_bytes(a, q, (cb, b)))));
        total = tri!(add(
            total,
            tri!(self.mask_bytes(a, (q, k), eager, (cb, mb)))
        ));
        // attention scores
        let heads = a.score_heads as u128;
        let scores = if eager && scores_kept {
            tri!(mul(positions, self.score_bytes(a, math, (cb, mb))))
        } else if eager {
            0
        } else {
            // flash: one fp32 log-sum-exp per head and token
            tri!(mul(tokens, heads * 4))
        };
        total = tri!(add(total, share(scores, t)));
        Ok(total)
    }
}

/// Every part of every phase, in bytes per GPU.
/// TRL's fused head ([`Training::chunked_loss`]), in bytes per GPU.
struct Chunked {
    /// saved for backward: the hidden states' copy, targets, log-sum-exp, entropy
    saved: u128,
    /// what the model's head would have saved instead (its input)
    head_input: u128,
    /// alive at once in the head's forward, beside `saved`
    forward: u128,
    /// alive at once in its backward, beside `saved`
    backward: u128,
}

struct Parts {
    weights: u128,
    gradients: u128,
    master: u128,
    optimizer: u128,
    /// when the last block is replayed under full recomputation (else `stored_activations`)
    activations: u128,
    /// at the end of forward
    stored_activations: u128,
    logits_forward: u128,
    logits_backward: u128,
    forward_temporaries: u128,
    /// at the start of backward: `forward_temporaries`, but under full recomputation only the
    /// 16-bit copies saved outside the blocks and the replayed block's
    backward_temporaries: u128,
    /// one block's activations (replayed under full recomputation, else still saved) when the
    /// other blocks' gradients exist, and its 16-bit copies (and under ZeRO-3 its gathered
    /// weights)
    replay: u128,
    replay_copies: u128,
    /// at the end of backward: the tied weights' gradient sums, FSDP2's root reduce-scatter
    end_temporaries: u128,
    step_temporaries: u128,
    /// per GPU's process on the host (CPU offload)
    host: u128,
    /// the part of `optimizer` in unified memory (a paged optimizer)
    paged: u128,
}
