//! The choices a training or serving run makes: precision, optimizer, recomputation, attention
//! kernel, activation model, sharding, device behaviour.

use crate::dtype::DType;

/// How weights, gradients, optimizer state and activations are stored during training.
///
/// Bytes per trainable parameter with Adam (two moments), the conventions papers use:
///
/// | variant | weights | gradients | master | moments | total |
/// |---|---|---|---|---|---|
/// | `Fp32` | 4 | 4 | — | 4 + 4 | 16 |
/// | `Mixed(BF16)` | 2 | 2 | 4 | 4 + 4 | **16Φ** (ZeRO's `2 + 2 + K`, K = 12) |
/// | `MixedFp32Grads(BF16)` | 2 + 4 | 2 + 4 | (the 4 in weights) | 4 + 4 | **20Φ** (the seed's figure) |
/// | `Pure(BF16)` | 2 | 2 | — | 2 + 2 | 8 |
/// | `Autocast(BF16)` | 4 | 4 | — | 4 + 4 | 16, plus 16-bit copies of the matmul weights during forward and backward |
///
/// `Mixed` and `MixedFp32Grads` are Micikevicius et al.'s mixed precision as DeepSpeed and
/// Megatron run it: a 16-bit model and an fp32 copy inside the optimizer. `Autocast` is
/// `torch.autocast`: fp32 parameters, gradients and state, matmuls in 16 bits (what the
/// reference measurements call `bf16_autocast`). `Pure` is `model.to(bfloat16)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Precision {
    /// Everything in fp32.
    Fp32,
    /// 16-bit weights, gradients and activations; fp32 master weights and optimizer state (16Φ).
    Mixed(DType),
    /// As `Mixed`, plus an fp32 copy of the gradients (the seed's 20Φ).
    MixedFp32Grads(DType),
    /// Everything, optimizer state included, in one 16-bit type.
    Pure(DType),
    /// `torch.autocast`: fp32 parameters, gradients and state; matmuls and their inputs in the
    /// given type; layer norms, softmax and the loss in fp32.
    Autocast(DType),
}

impl Precision {
    /// Bytes of one stored weight.
    #[must_use]
    pub const fn weight_bytes(self) -> u64 {
        match self {
            Precision::Fp32 | Precision::Autocast(_) => 4,
            Precision::Mixed(d) | Precision::MixedFp32Grads(d) | Precision::Pure(d) => whole(d),
        }
    }

    /// Bytes of gradient per trainable parameter (the 20Φ convention keeps a 16-bit and an fp32
    /// copy).
    #[must_use]
    pub const fn grad_bytes(self) -> u64 {
        match self {
            Precision::Fp32 | Precision::Autocast(_) => 4,
            Precision::Mixed(d) | Precision::Pure(d) => whole(d),
            Precision::MixedFp32Grads(d) => whole(d) + 4,
        }
    }

    /// Bytes of fp32 master weights per trainable parameter.
    #[must_use]
    pub const fn master_bytes(self) -> u64 {
        match self {
            Precision::Mixed(_) | Precision::MixedFp32Grads(_) => 4,
            _ => 0,
        }
    }

    /// Bytes of one optimizer-state element (a moment).
    #[must_use]
    pub const fn state_bytes(self) -> u64 {
        match self {
            Precision::Pure(d) => whole(d),
            _ => 4,
        }
    }

    /// Bytes of one activation element in the compute dtype (matmul inputs and outputs).
    #[must_use]
    pub const fn compute_bytes(self) -> u64 {
        match self {
            Precision::Fp32 => 4,
            Precision::Mixed(d)
            | Precision::MixedFp32Grads(d)
            | Precision::Pure(d)
            | Precision::Autocast(d) => whole(d),
        }
    }

    /// Bytes of one element of the residual stream (what norms read): fp32 under autocast, whose
    /// embeddings and residual additions stay in fp32; the compute dtype otherwise.
    #[must_use]
    pub const fn residual_bytes(self) -> u64 {
        match self {
            Precision::Autocast(_) => 4,
            p => p.compute_bytes(),
        }
    }

    /// Short name for reports.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Mixed(_) => "mixed",
            Precision::MixedFp32Grads(_) => "mixed-fp32-grads",
            Precision::Pure(_) => "pure",
            Precision::Autocast(_) => "autocast",
        }
    }
}

/// Bytes of a whole-byte dtype; packed sub-byte types count as one byte (they are not training
/// precisions).
const fn whole(d: DType) -> u64 {
    match d.whole_bytes() {
        Some(b) => b,
        None => 1,
    }
}

/// The optimizer, which decides the state kept per trainable parameter.
///
/// | variant | state per trainable parameter |
/// |---|---|
/// | `Sgd` | none |
/// | `SgdMomentum` | one buffer |
/// | `Adam`, `AdamW` | two moments, and a 4-byte `step` per tensor (PyTorch) |
/// | `AdamW8bit` | two 8-bit moments (bitsandbytes, Dettmers et al. 2022) with one fp32 absmax per block of 2048 for each, fp32 moments for tensors under 4096 elements |
/// | `Adafactor` | factored second moment: row and column statistics per matrix, full for vectors (Shazeer & Stern 2018), no first moment |
/// | `AdafactorMomentum` | the same and a full first moment (`beta1` set: transformers' `Adafactor` keeps `exp_avg` like the gradient) |
/// | `Lion` | one momentum (Chen et al. 2023) |
///
/// Paged optimizers (bitsandbytes) change where the state lives, not how much there is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Optimizer {
    /// Plain stochastic gradient descent.
    Sgd,
    /// SGD with a momentum buffer.
    SgdMomentum,
    /// Adam (Kingma & Ba).
    Adam,
    /// AdamW (Loshchilov & Hutter): Adam's state, decoupled weight decay.
    AdamW,
    /// bitsandbytes' blockwise 8-bit AdamW.
    AdamW8bit,
    /// Adafactor with a factored second moment and no first moment.
    Adafactor,
    /// Adafactor with `beta1`: the factored second moment and a full first moment.
    AdafactorMomentum,
    /// Lion: one momentum buffer.
    Lion,
}

impl Optimizer {
    /// Short name for reports.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Optimizer::Sgd => "sgd",
            Optimizer::SgdMomentum => "sgd-momentum",
            Optimizer::Adam => "adam",
            Optimizer::AdamW => "adamw",
            Optimizer::AdamW8bit => "adamw-8bit",
            Optimizer::Adafactor => "adafactor",
            Optimizer::AdafactorMomentum => "adafactor-momentum",
            Optimizer::Lion => "lion",
        }
    }
}

/// How PyTorch's optimizer step runs, which decides its temporaries.
///
/// - `Foreach` (PyTorch's default on CUDA): each update op runs over all parameters at once;
///   Adam's `sqrt(v)` allocates a state-sized buffer for every parameter: one state's worth.
/// - `SingleTensor` (the default on CPU, `foreach=False`): one parameter at a time; Adam
///   allocates two temporaries the size of the parameter, so twice the largest tensor
///   (`shared/reference` measures exactly this).
/// - `Fused` (`fused=True`, bitsandbytes, DeepSpeed's fused Adam): no temporaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum OptimizerImpl {
    /// All parameters per op (PyTorch's CUDA default).
    Foreach,
    /// One parameter at a time.
    SingleTensor,
    /// One fused kernel.
    Fused,
}

/// Activation recomputation (checkpointing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Recompute {
    /// Keep every activation for backward.
    None,
    /// Recompute the attention core (Korthikanti et al. 2022): no `s × s` score tensors are kept.
    Selective,
    /// Keep only each repeated block's input and replay one block at a time during backward.
    Full,
}

/// The attention kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AttentionKernel {
    /// `softmax(Q·Kᵀ)·V` op by op: the `s × s` scores (and their dropout) are kept.
    Eager,
    /// PyTorch SDPA's math fallback as it runs on CPU (with dropout, or for inputs the fused
    /// kernels reject): eager's tensors, computed in fp32 whatever the precision (measured: it
    /// upcasts 16-bit inputs).
    Math,
    /// A fused kernel (FlashAttention, PyTorch SDPA's flash or memory-efficient path): keeps its
    /// output and one fp32 log-sum-exp per head and token; dropout keeps its RNG state only.
    Flash,
}

/// Which account of activation memory to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ActivationModel {
    /// What PyTorch autograd actually keeps, layer by layer (each layer's doc lists the
    /// tensors), with the precision's dtypes.
    PyTorch,
    /// Korthikanti et al. (2022), Eq. 1: `s·b·h·(34 + 5·a·s/h)` bytes per transformer layer
    /// (16-bit activations, 1-byte masks), the seed tutorial's formula, for comparison with
    /// papers and other tools.
    Textbook,
}

/// How a language model's loss is computed from its last hidden states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Loss {
    /// The model's head computes every token's logits and transformers' cross-entropy reads
    /// them (`model(input_ids, labels=…)`: the logits, their fp32 upcast and log-softmax).
    Logits,
    /// TRL's fused head (trl 1.16 `add_fused_lm_head`, what `SFTTrainer` trains with): the
    /// shifted tokens' hidden states projected in tiles of 4,096 tokens × 32,768 vocabulary
    /// entries, folded into per-token log-sum-exp statistics; the logits never exist. It keeps
    /// a copy of the hidden states and four per-token vectors for backward, one tile buffer
    /// (`mm_buf`, 32,768 wide whatever the vocabulary) in forward and again in backward, and in
    /// backward fp32 gradients of the hidden states and of the whole head
    /// (`trl/kernels/chunked_logprob.py`, `ChunkedLogProbFunction`). Every shifted token is
    /// priced as scored: on CUDA TRL scores only labels other than -100 (`hidden_states[mask]`),
    /// so masked prompts and padding make it smaller, never larger.
    Chunked,
}

/// ZeRO data-parallel sharding (Rajbhandari et al. 2020); stage 3 is FSDP's full sharding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ZeroStage {
    /// Plain data parallelism: every GPU holds everything.
    Off,
    /// Optimizer states (with fp32 master weights) sharded.
    One,
    /// Optimizer states and gradients sharded.
    Two,
    /// Optimizer states, gradients and weights sharded; one block is gathered at a time.
    Three,
}

/// DeepSpeed's ZeRO-Offload and ZeRO-Infinity CPU offload (DeepSpeed 0.19's
/// `offload_optimizer` / `offload_param` with `device: cpu`): what moves from the GPU to the
/// host, priced per GPU as DeepSpeed's training code allocates it (the host side in
/// [`Memory::host`](crate::Memory::host)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Offload {
    /// Nothing offloaded.
    None,
    /// `offload_optimizer` (ZeRO stage 1, 2 or 3): the fp32 master partition, the fp32 gradient
    /// partition, the optimizer's moments and a 16-bit staging partition live on the CPU, which
    /// runs the step (`DeepSpeedCPUAdam`); the GPU keeps its weights and, for gradients, one
    /// buffer of the largest parameter (`temp_grad_buffer_for_gpu_offload`).
    Optimizer,
    /// `offload_optimizer` and `offload_param` (ZeRO-3 only): the 16-bit weight partitions too
    /// (pinned on the CPU); the GPU gathers one block at a time.
    OptimizerAndParams,
}

/// Device behaviour that changes what is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Device {
    /// CUDA: dropout keeps a one-byte bool mask (`native_dropout`).
    Cuda,
    /// CPU: dropout keeps its mask in the activation's dtype.
    Cpu,
}
