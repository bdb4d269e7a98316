//! [`Memory`]: an estimate as a sum of named parts, the phase where it peaks, and the message
//! a failed budget check prints.

use crate::units::Bytes;

/// When during a step the memory is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Phase {
    /// Training, end of the forward pass: every saved activation, and the logits while the loss
    /// is computed.
    Forward,
    /// Training, backward pass: its start (activations and the loss gradients) or its end (all
    /// gradients, tied embeddings' extra gradient buffers), whichever is larger.
    Backward,
    /// Training, the optimizer step: gradients, states and the update's temporaries.
    OptimizerStep,
    /// Inference, the prompt's forward pass: its logits and working set, the prompt's KV cache.
    Prefill,
    /// Inference, the last generated token: the full KV cache.
    Decode,
}

impl Phase {
    /// The phase's name for reports (`"optimizer step"`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Phase::Forward => "forward",
            Phase::Backward => "backward",
            Phase::OptimizerStep => "optimizer step",
            Phase::Prefill => "prefill",
            Phase::Decode => "decode",
        }
    }
}

impl core::fmt::Display for Phase {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.pad(self.name())
    }
}

/// Why an estimate cannot be made: the error value of the `checked_*` forms; the panicking forms
/// stop const evaluation with [`EstimateError::message`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum EstimateError {
    /// The batch is 0.
    ZeroBatch,
    /// The sequence (or prompt) length is 0.
    ZeroSeq,
    /// The number of GPUs or a parallel degree is 0.
    ZeroParallel,
    /// The gradient accumulation steps are 0.
    ZeroAccumulation,
    /// CPU offload without the ZeRO stage that partitions what it moves: optimizer offload
    /// needs stage 1, 2 or 3, parameter offload stage 3 (DeepSpeed's `offload_optimizer` and
    /// `offload_param`).
    OffloadStage {
        /// Whether the parameters are offloaded too.
        params: bool,
    },
    /// CPU offload with an optimizer that runs on the GPU only (bitsandbytes' 8-bit AdamW).
    OffloadOptimizer,
    /// A plan FSDP2 is not priced for here ([`Training::fsdp`](crate::Training::fsdp)): beside
    /// tensor or pipeline parallelism, with optimizer-only offload, frozen parameters, or
    /// `MixedFp32Grads`.
    Fsdp,
    /// TRL's fused head ([`Loss::Chunked`](crate::Loss::Chunked)) for a model without a
    /// language model's generation head, or beside tensor parallelism.
    ChunkedLoss,
    /// A paged optimizer that bitsandbytes does not have (it pages Adam, AdamW, 8-bit AdamW
    /// and Lion), or paging beside CPU offload, which keeps the state on the host already.
    PagedOptimizer,
    /// A total does not fit in a `u64` of bytes (more than 16 EiB).
    Overflow,
    /// A count of the model itself overflowed `u64` while its cost was built
    /// ([`Cost::overflow`](crate::Cost::overflow)).
    CostOverflow(crate::cost::Overflow),
    /// The tensor-parallel degree does not divide the attention heads: each GPU computes whole
    /// heads (Megatron-LM and vLLM both require it).
    TensorParallelHeads {
        /// The tensor-parallel degree.
        tp: u64,
        /// The model's query heads ([`Cost::heads`](crate::Cost::heads)).
        heads: u64,
    },
    /// Training: the tensor-parallel degree does not divide the key/value heads (Megatron-LM:
    /// `num_query_groups` must be a multiple of `tensor_model_parallel_size`). Serving: it
    /// neither divides them nor is a multiple of them (vLLM replicates KV heads beyond).
    TensorParallelKvHeads {
        /// The tensor-parallel degree.
        tp: u64,
        /// The model's key/value heads ([`Cost::kv_heads`](crate::Cost::kv_heads)).
        kv_heads: u64,
        /// Whether the plan serves (replication allowed) or trains.
        serving: bool,
    },
    /// The pipeline-parallel degree does not split the repeated blocks into equal stages
    /// (Megatron-LM: `num_layers` must be divisible by the pipeline size).
    PipelineStages {
        /// The pipeline-parallel degree.
        pp: u64,
        /// The model's repeated blocks ([`Cost::blocks`](crate::Cost::blocks)).
        blocks: u64,
    },
    /// Inference of a model whose attention has no fused kernel (DeBERTa's disentangled
    /// attention): its working set is not modeled yet, and a number would be low.
    InferenceNotModeled,
    /// The sequence differs from the one length the model reads (a vision transformer's
    /// patches and class token, set by its image and patch sizes).
    FixedLength {
        /// The tokens the plan reads.
        tokens: u64,
        /// The tokens the model reads ([`Cost::positions`](crate::Cost::positions)).
        positions: u64,
    },
    /// A serving engine's rule that this estimate does not model yet (the engines' caches for
    /// cross-attention, state-space layers without their states or beside sliding windows,
    /// and sliding-window layers whose pages differ from the full-attention ones').
    EngineNotModeled,
    /// A source length was given for a model without an encoder.
    SourceWithoutEncoder,
    /// The source is longer than the encoder's learned position table, or differs from the one
    /// length a fixed-length encoder reads (Whisper's).
    SourceLength {
        /// The source length of the plan.
        source: u64,
        /// The encoder's positions ([`Source::positions`](crate::Source::positions)).
        positions: u64,
        /// Whether the encoder reads exactly that many.
        fixed: bool,
    },
    /// The sequence (training) or prompt plus generated tokens (serving) is longer than the
    /// model's learned position table.
    SequenceTooLong {
        /// The tokens the plan reads at once.
        tokens: u64,
        /// The rows of the position table ([`Cost::positions`](crate::Cost::positions)).
        positions: u64,
    },
}

impl EstimateError {
    /// What is wrong and what to do, as one line.
    #[must_use]
    pub const fn message(self) -> &'static str {
        match self {
            EstimateError::ZeroBatch => "estimator: the batch size must be at least 1",
            EstimateError::ZeroSeq => "estimator: the sequence length must be at least 1",
            EstimateError::ZeroParallel => {
                "estimator: GPU counts and parallel degrees must be at least 1"
            }
            EstimateError::ZeroAccumulation => {
                "estimator: gradient accumulation takes at least 1 micro-batch per step"
            }
            EstimateError::OffloadStage { params: false } => {
                "estimator: optimizer offload moves ZeRO's optimizer partitions to the CPU; use ZeRO stage 1, 2 or 3 (one GPU is enough)"
            }
            EstimateError::OffloadStage { params: true } => {
                "estimator: parameter offload moves ZeRO-3's weight partitions to the CPU; use ZeRO stage 3"
            }
            EstimateError::PagedOptimizer => {
                "estimator: bitsandbytes pages the state of Adam, AdamW, 8-bit AdamW and Lion, and not beside CPU offload (the state is on the host already); use one of those, or drop the paging"
            }
            EstimateError::OffloadOptimizer => {
                "estimator: bitsandbytes' 8-bit optimizers run on the GPU, and CPU offload runs the step on the CPU; offload with AdamW (DeepSpeedCPUAdam) or drop the offload"
            }
            EstimateError::Fsdp => {
                "estimator: FSDP2 is priced over data parallelism alone, every parameter training, in fp32, mixed (param_dtype 16-bit, reduce fp32), pure or autocast precision, offloading parameters, gradients and the step together (CPUOffloadPolicy); drop the tensor or pipeline parallelism, the LoRA or the optimizer-only offload, or use ZeRO-3"
            }
            EstimateError::ChunkedLoss => {
                "estimator: TRL's fused head replaces a language model's generation head, on one tensor-parallel rank; use the logits loss for this model or plan"
            }
            EstimateError::Overflow => {
                "estimator: the memory total exceeds u64 bytes (16 EiB); check the sizes, they are far beyond any GPU"
            }
            EstimateError::CostOverflow(e) => e.message(),
            EstimateError::InferenceNotModeled => {
                "estimator: inference of DeBERTa's disentangled attention is not modeled yet (its forward holds about eight s × s tensors per head at once, measured); estimate its training (`--mode train`), which is"
            }
            EstimateError::TensorParallelHeads { .. } => {
                "estimator: the tensor-parallel degree must divide the attention heads (each GPU computes whole heads)"
            }
            EstimateError::TensorParallelKvHeads { serving: false, .. } => {
                "estimator: the tensor-parallel degree must divide the key/value heads to train (Megatron-LM splits whole query groups)"
            }
            EstimateError::TensorParallelKvHeads { serving: true, .. } => {
                "estimator: the tensor-parallel degree must divide the key/value heads or be a multiple of them (vLLM replicates them beyond)"
            }
            EstimateError::PipelineStages { .. } => {
                "estimator: the pipeline-parallel degree must divide the repeated blocks (layers) into equal stages"
            }
            EstimateError::FixedLength { .. } => {
                "estimator: this model reads exactly one sequence length (a vision transformer: its image's patches and the class token); use that length, or change image_size or patch_size in the config"
            }
            EstimateError::EngineNotModeled => {
                "estimator: the engine's cache for cross-attention layers, for state-space layers beside sliding windows (or without their states given), and for sliding-window layers of another page size than the full ones, is not modeled yet; estimate the Hugging Face path (no engine)"
            }
            EstimateError::SourceWithoutEncoder => {
                "estimator: a source length applies to encoder–decoder models only; this model has no encoder, so leave it unset"
            }
            EstimateError::SourceLength { fixed: true, .. } => {
                "estimator: this encoder reads exactly one source length (Whisper pads every clip to 30 s of mel frames); use that length"
            }
            EstimateError::SourceLength { fixed: false, .. } => {
                "estimator: the source is longer than the encoder's learned position table; shorten it to the table's rows"
            }
            EstimateError::SequenceTooLong { .. } => {
                "estimator: the sequence is longer than the model's learned position table; shorten it to the table's rows (serving: prompt plus generated tokens)"
            }
        }
    }

    /// The numbers of the refused plan and the values that would work (`"tensor parallel 3,
    /// 32 heads; use 1, 2, 4, 8, 16 or 32"`), or nothing for the errors that have none.
    fn details(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            EstimateError::TensorParallelHeads { tp, heads } => {
                write!(f, ": tensor parallel {tp}, {heads} heads; use ")?;
                divisors(f, heads, |n| heads.is_multiple_of(n))
            }
            EstimateError::TensorParallelKvHeads {
                tp,
                kv_heads,
                serving,
            } => {
                write!(
                    f,
                    ": tensor parallel {tp}, {kv_heads} key/value heads; use "
                )?;
                divisors(f, kv_heads, |n| kv_heads.is_multiple_of(n))?;
                if serving {
                    write!(f, ", or a multiple of {kv_heads} that divides the heads")?;
                }
                Ok(())
            }
            EstimateError::PipelineStages { pp, blocks: 0 } => write!(
                f,
                ": pipeline parallel {pp}, and this model has no repeated blocks to split; use 1"
            ),
            EstimateError::PipelineStages { pp, blocks } => {
                write!(f, ": pipeline parallel {pp}, {blocks} layers; use ")?;
                divisors(f, blocks, |n| blocks.is_multiple_of(n))
            }
            EstimateError::SequenceTooLong { tokens, positions } => {
                write!(f, ": {tokens} tokens, {positions} positions")
            }
            EstimateError::FixedLength { tokens, positions } => {
                write!(f, ": {tokens} tokens, the model reads {positions}")
            }
            EstimateError::SourceLength {
                source,
                positions,
                fixed,
            } => {
                let what = if fixed { "reads" } else { "has" };
                write!(
                    f,
                    ": source {source}, the encoder {what} {positions} positions"
                )
            }
            _ => Ok(()),
        }
    }
}

/// Writes `1, 2, 4 or 8`: the numbers up to `limit` that `ok` accepts, at most twelve of them.
fn divisors(
    f: &mut core::fmt::Formatter<'_>,
    limit: u64,
    ok: impl Fn(u64) -> bool,
) -> core::fmt::Result {
    let mut found = [0u64; 12];
    let mut count = 0;
    let mut n = 1;
    while n <= limit && count < found.len() {
        if ok(n) {
            found[count] = n;
            count += 1;
        }
        n += 1;
    }
    for (i, n) in found[..count].iter().enumerate() {
        let sep = match i {
            0 => "",
            _ if i + 1 == count => " or ",
            _ => ", ",
        };
        write!(f, "{sep}{n}")?;
    }
    Ok(())
}

impl core::fmt::Display for EstimateError {
    /// The message and, for a refused plan, its numbers and what would work.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())?;
        self.details(f)
    }
}

/// Training or inference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Workload {
    /// A training step.
    Training,
    /// Generation with a KV cache.
    Inference,
}

/// An estimate: the memory alive at the peak of the step, as named parts, per GPU.
///
/// Which tensors each part holds depends on the phase ([`Memory::peak_phase`]): at the end of
/// backward, for instance, the activations are gone and the gradients are all there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Memory {
    /// Parameters (in their storage dtypes, quantization scales included) and buffers.
    pub weights: Bytes,
    /// Gradients of the trainable parameters.
    pub gradients: Bytes,
    /// Optimizer state (moments, step counters, quantization statistics).
    pub optimizer: Bytes,
    /// fp32 master copies of 16-bit trainable weights (mixed precision).
    pub master_weights: Bytes,
    /// Tensors saved for backward (training) or the largest layer's working set (inference).
    pub activations: Bytes,
    /// Keys and values of every cached token (inference).
    pub kv_cache: Bytes,
    /// The language-model head's logits and the loss's tensors and gradients over them.
    pub logits: Bytes,
    /// Short-lived buffers: autocast's weight copies, tied weights' extra gradient buffers, the
    /// optimizer step's temporaries, a ZeRO-3 gathered block.
    pub temporaries: Bytes,
    /// What the caller adds on purpose (allocator reserve, workspaces); zero unless set.
    pub overhead: Bytes,
    /// Host (CPU) memory per GPU's process for what is offloaded ([`Offload`](crate::Offload)):
    /// not GPU memory, so not in [`Memory::total`]. Zero without offload.
    pub host: Bytes,
    /// Optimizer state that a paged optimizer lets the driver move to the host at this phase
    /// ([`Training::paged_optimizer`](crate::Training::paged_optimizer)): not in
    /// [`Memory::total`]; zero at the optimizer step, which needs it on the GPU.
    pub paged: Bytes,
    pub(crate) phase: Phase,
    pub(crate) workload: Workload,
    pub(crate) model: &'static str,
}

impl Memory {
    /// A memory with every part zero but `overhead`, for the estimators to fill.
    pub(crate) const fn empty(
        workload: Workload,
        phase: Phase,
        model: &'static str,
        overhead: Bytes,
    ) -> Memory {
        Memory {
            weights: Bytes::ZERO,
            gradients: Bytes::ZERO,
            optimizer: Bytes::ZERO,
            master_weights: Bytes::ZERO,
            activations: Bytes::ZERO,
            kv_cache: Bytes::ZERO,
            logits: Bytes::ZERO,
            temporaries: Bytes::ZERO,
            overhead,
            host: Bytes::ZERO,
            paged: Bytes::ZERO,
            phase,
            workload,
            model,
        }
    }

    /// `self`, or [`EstimateError::Overflow`] when its parts do not add up within a `u64`.
    pub(crate) const fn validated(self) -> Result<Memory, EstimateError> {
        match self.checked_total() {
            Some(_) => Ok(self),
            None => Err(EstimateError::Overflow),
        }
    }

    /// Whether a checked estimate fits in `budget` (an invalid one does not).
    pub(crate) const fn result_fits(
        estimate: Result<Memory, EstimateError>,
        budget: Bytes,
    ) -> bool {
        match estimate {
            Ok(m) => m.fits(budget),
            Err(_) => false,
        }
    }

    /// The parts with their report names, in a fixed order.
    #[must_use]
    pub const fn parts(&self) -> [(&'static str, Bytes); 9] {
        [
            ("weights", self.weights),
            ("gradients", self.gradients),
            ("optimizer", self.optimizer),
            ("master_weights", self.master_weights),
            ("activations", self.activations),
            ("kv_cache", self.kv_cache),
            ("logits", self.logits),
            ("temporaries", self.temporaries),
            ("overhead", self.overhead),
        ]
    }

    /// The parts, largest first (a stable selection sort: equal parts keep their order).
    #[must_use]
    pub const fn largest_first(&self) -> [(&'static str, Bytes); 9] {
        let mut parts = self.parts();
        let mut i = 0;
        while i < parts.len() {
            let mut best = i;
            let mut j = i + 1;
            while j < parts.len() {
                if parts[j].1.get() > parts[best].1.get() {
                    best = j;
                }
                j += 1;
            }
            // rotate the best to position i, keeping the others' order
            let chosen = parts[best];
            let mut k = best;
            while k > i {
                parts[k] = parts[k - 1];
                k -= 1;
            }
            parts[i] = chosen;
            i += 1;
        }
        parts
    }

    /// The sum of the parts, or `None` beyond `u64` (the estimators never build such a value).
    #[must_use]
    pub const fn checked_total(&self) -> Option<Bytes> {
        let parts = self.parts();
        let mut total = Bytes::ZERO;
        let mut i = 0;
        while i < parts.len() {
            total = match total.checked_add(parts[i].1) {
                Some(t) => t,
                None => return None,
            };
            i += 1;
        }
        Some(total)
    }

    /// The sum of the parts.
    #[must_use]
    pub const fn total(&self) -> Bytes {
        match self.checked_total() {
            Some(t) => t,
            None => panic!("{}", EstimateError::Overflow.message()),
        }
    }

    /// Whether the total is at most `budget` (use a GPU's [`usable`](crate::gpu::Gpu::usable)
    /// memory, which leaves out the CUDA context).
    #[must_use]
    pub const fn fits(&self, budget: Bytes) -> bool {
        self.total().get() <= budget.get()
    }

    /// The phase at which the step peaks, which these parts describe.
    #[must_use]
    pub const fn peak_phase(&self) -> Phase {
        self.phase
    }

    /// Training or inference.
    #[must_use]
    pub const fn workload(&self) -> Workload {
        self.workload
    }

    /// The model's name (the derived struct's name).
    #[must_use]
    pub const fn model(&self) -> &'static str {
        self.model
    }

    /// The one-line verdict `assert_fits!` prints when the budget is exceeded:
    /// `Gpt2 training needs 30.1 GiB > 24.0 GiB available (peak at optimizer step): optimizer
    /// 12.0, weights 6.0, …`, parts largest first, in GiB.
    #[must_use]
    pub const fn verdict(&self, budget: Bytes) -> Message {
        let mut m = Message::new()
            .str(self.model)
            .str(match self.workload {
                Workload::Training => " training needs ",
                Workload::Inference => " inference needs ",
            })
            .gib(self.total())
            .str(" GiB");
        m = if self.fits(budget) {
            m.str(" <= ")
        } else {
            m.str(" > ")
        };
        m = m
            .gib(budget)
            .str(" GiB available (peak at ")
            .str(self.phase.name())
            .str("):");
        let parts = self.largest_first();
        let mut first = true;
        let mut i = 0;
        while i < parts.len() {
            if parts[i].1.get() > 0 {
                m = m
                    .str(if first { " " } else { ", " })
                    .str(parts[i].0)
                    .str(" ");
                m = m.gib(parts[i].1);
                first = false;
            }
            i += 1;
        }
        m.str(" GiB")
    }
}

/// The breakdown as a small table, parts largest first (zero parts left out), then the total:
///
/// ```text
/// Gpt2 training, peak at backward
///   gradients         474.70 MiB
///   …
///   total               2.14 GiB
/// ```
impl core::fmt::Display for Memory {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let what = match self.workload {
            Workload::Training => "training",
            Workload::Inference => "inference",
        };
        writeln!(f, "{} {what}, peak at {}", self.model, self.phase)?;
        for (name, bytes) in self.largest_first() {
            if bytes.get() > 0 {
                writeln!(f, "  {name:<15} {bytes:>12}")?;
            }
        }
        match self.checked_total() {
            Some(t) => writeln!(f, "  {:<15} {t:>12}", "total"),
            None => writeln!(f, "  {:<15} {:>12}", "total", "overflow"),
        }
    }
}

/// A message built at compile time (no allocation): what `assert_fits!` panics with.
#[derive(Clone, Copy, Debug)]
pub struct Message {
    buf: [u8; 512],
    len: usize,
}

impl Message {
    const fn new() -> Message {
        Message {
            buf: [0; 512],
            len: 0,
        }
    }

    /// Appends `s` (truncated at the buffer's end, on a character boundary).
    const fn str(mut self, s: &str) -> Message {
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() && self.len < self.buf.len() {
            // stop before a character that would not fit whole
            let b = bytes[i];
            let width = if b < 0x80 {
                1
            } else if b >= 0xF0 {
                4
            } else if b >= 0xE0 {
                3
            } else {
                2
            };
            if self.len + width > self.buf.len() {
                break;
            }
            let mut k = 0;
            while k < width {
                self.buf[self.len] = bytes[i + k];
                self.len += 1;
                k += 1;
            }
            i += width;
        }
        self
    }

    /// Appends `n` in decimal.
    const fn uint(self, n: u128) -> Message {
        let mut digits = [0u8; 40];
        let mut len = 0;
        let mut v = n;
        loop {
            digits[len] = b'0' + (v % 10) as u8;
            len += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        let mut out = [0u8; 40];
        let mut i = 0;
        while i < len {
            out[i] = digits[len - 1 - i];
            i += 1;
        }
        let (head, _) = out.split_at(len);
        match core::str::from_utf8(head) {
            Ok(s) => self.str(s),
            Err(_) => self,
        }
    }

    /// Appends `bytes` in GiB with one decimal, rounded half up.
    const fn gib(self, bytes: Bytes) -> Message {
        let tenths = (bytes.get() as u128 * 10 + (1 << 29)) >> 30;
        self.uint(tenths / 10).str(".").uint(tenths % 10)
    }

    /// The text.
    #[must_use]
    pub const fn as_str(&self) -> &str {
        let (head, _) = self.buf.split_at(self.len);
        match core::str::from_utf8(head) {
            Ok(s) => s,
            Err(_) => "estimator: the budget check failed",
        }
    }
}

impl core::fmt::Display for Message {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}
