//! The command line, as clap derives it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// GPU memory for training or serving a model, from a Hugging Face config.json or a bundled
/// preset — offline, in milliseconds.
#[derive(Parser, Debug)]
#[command(
    name = "estimator",
    version,
    after_help = "Examples:
  estimator estimate --preset llama-2-7b --gpu rtx-4090 --qlora --batch 4 --seq 512
  estimator estimate --config config.json --mode infer --prompt 8192 --gpu l4 --json
  estimator plot --preset gpt2 --sweep batch --gpu rtx-4090 --out gpt2.svg
  estimator plot --preset llama-3-8b --mode infer --engine vllm --gpu l4 --compare h100-80gb --sweep context --out ctx.svg
  estimator validate memory.json --tolerance 0.10
  estimator presets"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Estimate the memory of training or serving a model, per GPU, and whether it fits.
    Estimate(EstimateArgs),
    /// Draw memory against batch size or context length as an SVG (stacked parts, GPU line), or
    /// vLLM's concurrency against `max_model_len` per GPU (`--sweep context`).
    Plot(PlotArgs),
    /// Compare estimates with measured runs (the `shared/reference/memory.json` format).
    Validate(ValidateArgs),
    /// List the bundled presets and GPUs.
    Presets,
}

/// Which model.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub(crate) struct Source {
    /// A Hugging Face config.json.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// A bundled preset (see `estimator presets`).
    #[arg(long, value_name = "NAME")]
    pub(crate) preset: Option<String>,
    /// A model on disk: a checkpoint directory (config.json and its .safetensors, whose
    /// headers give the stored weights' exact bytes for serving), a .safetensors file beside a
    /// config.json, a llama.cpp .gguf file (with `--mode infer --engine llama.cpp`), or a Hub
    /// id `org/name[@revision]`: read from the local Hugging Face cache (HF_HUB_CACHE, HF_HOME),
    /// what it lacks fetched from HF_ENDPOINT (with HF_TOKEN) unless HF_HUB_OFFLINE=1 — the
    /// config, the safetensors index and headers, never the weights.
    #[arg(long, value_name = "PATH")]
    pub(crate) model: Option<PathBuf>,
}

/// Training or inference.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// One training step.
    Train,
    /// Generation with a KV cache.
    Infer,
}

/// `--precision`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrecisionArg {
    /// Everything in fp32.
    Fp32,
    /// 16-bit weights and gradients, fp32 master weights and states (16 bytes/param).
    Mixed,
    /// As mixed, plus fp32 gradient copies (the 20 bytes/param convention).
    MixedFp32Grads,
    /// Everything in 16 bits.
    Pure,
    /// torch.autocast: fp32 parameters, 16-bit matmuls.
    Autocast,
}

/// A 16-bit compute type.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Half {
    /// bfloat16.
    Bf16,
    /// IEEE half.
    Fp16,
}

/// `--optimizer`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OptimizerArg {
    /// Plain SGD.
    Sgd,
    /// SGD with momentum.
    SgdMomentum,
    /// Adam.
    Adam,
    /// AdamW.
    Adamw,
    /// bitsandbytes' 8-bit AdamW.
    Adamw8bit,
    /// Adafactor (factored second moment).
    Adafactor,
    /// Adafactor with beta1 (a full first moment too).
    AdafactorMomentum,
    /// Lion.
    Lion,
}

/// `--optimizer-impl`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ImplArg {
    /// PyTorch's CUDA default: one op over all parameters.
    Foreach,
    /// One parameter at a time (PyTorch's CPU default).
    SingleTensor,
    /// A fused kernel: no temporaries.
    Fused,
}

/// `--recompute`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecomputeArg {
    /// Keep every activation.
    None,
    /// Recompute attention scores.
    Selective,
    /// Checkpoint every block.
    Full,
}

/// `--attention`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttentionArg {
    /// FlashAttention / fused SDPA.
    Flash,
    /// Op by op: s × s scores kept.
    Eager,
    /// SDPA's math fallback as on CPU (fp32).
    Math,
}

/// `--offload`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OffloadArg {
    /// Nothing on the CPU.
    None,
    /// DeepSpeed's `offload_optimizer`: master weights, gradients and moments on the CPU.
    Optimizer,
    /// `offload_optimizer` and `offload_param` (ZeRO-3): the weights' partitions too.
    OptimizerAndParams,
}

/// `--optimizer-state`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateArg {
    /// 32-bit.
    Fp32,
    /// bfloat16.
    Bf16,
    /// IEEE half.
    Fp16,
}

/// `--engine`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EngineArg {
    /// Hugging Face transformers' generate loop.
    Hf,
    /// vLLM's V1 engine.
    Vllm,
    /// SGLang's server.
    Sglang,
    /// llama.cpp (`llama-server`, `llama-cli`).
    #[value(name = "llama.cpp")]
    LlamaCpp,
}

/// A ggml type for llama.cpp's KV cache (`-ctk`, `-ctv`).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GgmlArg {
    /// 32-bit float.
    F32,
    /// IEEE half.
    F16,
    /// bfloat16.
    Bf16,
    /// 8-bit blocks of 32 with an f16 scale (34 bytes).
    #[value(name = "q8_0")]
    Q8_0,
    /// 4-bit blocks of 32 with an f16 scale (18 bytes).
    #[value(name = "q4_0")]
    Q4_0,
    /// 4-bit blocks of 32 with a scale and minimum (20 bytes).
    #[value(name = "q4_1")]
    Q4_1,
    /// 5-bit blocks of 32 with a scale (22 bytes).
    #[value(name = "q5_0")]
    Q5_0,
    /// 5-bit blocks of 32 with a scale and minimum (24 bytes).
    #[value(name = "q5_1")]
    Q5_1,
    /// Non-linear 4-bit blocks of 32 (18 bytes).
    #[value(name = "iq4_nl")]
    Iq4Nl,
}

/// `--logits`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogitsArg {
    /// The last token's only.
    Last,
    /// Every prompt token's.
    Prompt,
}

/// `--dropout`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnOff {
    /// Active.
    On,
    /// Off.
    Off,
}

/// `--activations`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActivationArg {
    /// What PyTorch autograd keeps, layer by layer.
    Pytorch,
    /// Korthikanti et al.'s 34sbh + 5as²b per layer.
    Textbook,
}

/// `--loss`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LossArg {
    /// transformers' cross-entropy over every token's logits.
    Logits,
    /// TRL's fused head (SFTTrainer): the head in tiles, no logits.
    Chunked,
}

/// `--device`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceArg {
    /// One-byte dropout masks.
    Cuda,
    /// Masks in the activation dtype.
    Cpu,
}

/// `--weights` and `--kv-cache`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DTypeArg {
    /// fp32.
    Fp32,
    /// fp16.
    Fp16,
    /// bfloat16.
    Bf16,
    /// fp8 e4m3.
    Fp8,
    /// int8.
    Int8,
    /// int4.
    Int4,
    /// 4-bit NormalFloat with fp32 block scales.
    Nf4,
    /// NF4 with double-quantized scales.
    Nf4Dq,
    /// Ternary (1.58-bit, packed five per byte).
    Ternary,
}

/// Everything that describes one estimate.
#[derive(Args, Debug, Clone)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "each is a command-line switch (--qlora, --fsdp, …), as clap declares them"
)]
pub(crate) struct Settings {
    #[command(flatten)]
    pub(crate) source: Source,
    /// Training or inference [default: train].
    #[arg(long, value_enum)]
    pub(crate) mode: Option<Mode>,
    /// Micro-batch size per GPU (sequences) [default: 1].
    #[arg(long)]
    pub(crate) batch: Option<u64>,
    /// Training sequence length in tokens [default: 2048].
    #[arg(long)]
    pub(crate) seq: Option<u64>,
    /// Inference prompt length in tokens [default: 2048; an encoder–decoder's decoder: 1].
    #[arg(long)]
    pub(crate) prompt: Option<u64>,
    /// Encoder–decoders: the encoder's input in tokens (T5, BART), the decoder reading it
    /// through cross-attention; `--seq` is then the target [default: 512, or the encoder's
    /// position table].
    #[arg(long)]
    pub(crate) source_len: Option<u64>,
    /// Whisper: seconds of audio per clip, at most 30; every clip is padded to 30 s (3000 mel
    /// frames, 1500 encoder positions), so the memory is that of 30 s [default: 30].
    #[arg(long)]
    pub(crate) audio_seconds: Option<f64>,
    /// Inference: tokens generated after the prompt [default: 256].
    #[arg(long)]
    pub(crate) generate: Option<u64>,
    /// Training precision [default: mixed; autocast with --qlora].
    #[arg(long, value_enum)]
    pub(crate) precision: Option<PrecisionArg>,
    /// The 16-bit type of mixed, pure and autocast precision [default: bf16].
    #[arg(long, value_enum)]
    pub(crate) dtype: Option<Half>,
    /// Optimizer [default: adamw].
    #[arg(long, value_enum)]
    pub(crate) optimizer: Option<OptimizerArg>,
    /// How the optimizer step runs [default: foreach].
    #[arg(long, value_enum)]
    pub(crate) optimizer_impl: Option<ImplArg>,
    /// Activation recomputation [default: none; full with --qlora].
    #[arg(long, value_enum)]
    pub(crate) recompute: Option<RecomputeArg>,
    /// Attention kernel [default: flash].
    #[arg(long, value_enum)]
    pub(crate) attention: Option<AttentionArg>,
    /// The optimizer's moments in this type whatever the precision (`--precision pure
    /// --optimizer-state fp32`: 16-bit weights, fp32 moments, no master copy) [default: the
    /// precision's].
    #[arg(long, value_enum)]
    pub(crate) optimizer_state: Option<StateArg>,
    /// bitsandbytes' paged optimizer (`paged_adamw_32bit`, `paged_adamw_8bit`, `paged_lion`):
    /// its state in CUDA unified memory, which the driver moves to the host when the GPU runs
    /// short outside the optimizer step; the estimate is then the least GPU memory that runs.
    #[arg(long)]
    pub(crate) paged_optimizer: bool,
    /// DeepSpeed CPU offload (ZeRO-Offload, ZeRO-Infinity's `offload_param`): needs `--zero 1`
    /// to `3` (`optimizer-and-params`: `--zero 3`), works on one GPU; with `--fsdp`,
    /// `optimizer-and-params` is FSDP2's CPUOffloadPolicy; the host memory it takes is printed
    /// per GPU and per node [default: none].
    #[arg(long, value_enum)]
    pub(crate) offload: Option<OffloadArg>,
    /// GPUs per node, for the host memory per node under `--offload` [default: `--gpus`, at
    /// most 8].
    #[arg(long)]
    pub(crate) gpus_per_node: Option<u64>,
    /// The loss over the last hidden states: transformers' cross-entropy over the logits, or
    /// TRL's fused head (`chunked`, what SFTTrainer trains with: the head projected in tiles of
    /// 4096 tokens × 32768 entries, no logits) [default: logits].
    #[arg(long, value_enum)]
    pub(crate) loss: Option<LossArg>,
    /// Micro-batches accumulated per optimizer step: from the second on, the gradients are alive
    /// beside the activations (also what `zero_grad(set_to_none=False)` costs) [default: 1].
    #[arg(long)]
    pub(crate) grad_accum: Option<u64>,
    /// Dropout during training [default: on when the config has a dropout probability above 0].
    #[arg(long, value_enum)]
    pub(crate) dropout: Option<OnOff>,
    /// State-space models (Mamba, Jamba, Bamba): price `mamba_ssm`'s CUDA kernels (on) or
    /// transformers' PyTorch path (off: what runs without them, and on CPU, several times the
    /// activations) [default: on; off with `--device cpu`].
    #[arg(long, value_enum)]
    pub(crate) ssm_kernels: Option<OnOff>,
    /// Activation account [default: pytorch].
    #[arg(long, value_enum)]
    pub(crate) activations: Option<ActivationArg>,
    /// Device behaviour [default: cuda].
    #[arg(long, value_enum)]
    pub(crate) device: Option<DeviceArg>,
    /// LoRA rank: adapters on --lora-targets, everything else frozen; as peft and the Trainer
    /// run it unless --precision says otherwise: a 16-bit base, fp32 adapters, autocast.
    #[arg(long, value_name = "R")]
    pub(crate) lora_rank: Option<u64>,
    /// LoRA target modules, comma-separated [default: q_proj,v_proj].
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub(crate) lora_targets: Option<Vec<String>>,
    /// QLoRA as bitsandbytes and peft run it: LoRA (rank 16 unless --lora-rank) on a base whose
    /// Linears but the head are frozen in NF4 with double quantization; the rest of the base and
    /// the adapters in fp32 under bf16 autocast, gradient checkpointing on (peft's
    /// prepare_model_for_kbit_training) — unless --precision / --recompute say otherwise.
    #[arg(long)]
    pub(crate) qlora: bool,
    /// ZeRO stage over --gpus data-parallel GPUs [default: 0].
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=3))]
    pub(crate) zero: Option<u8>,
    /// PyTorch FSDP2 over --gpus data-parallel GPUs: `fully_shard` on every block, then on the
    /// model (the root: embeddings, final norm, head); `--precision mixed` is its
    /// MixedPrecisionPolicy (16-bit params, fp32 reduce); with `--offload optimizer-and-params`,
    /// CPUOffloadPolicy [default: off].
    #[arg(long, conflicts_with = "zero")]
    pub(crate) fsdp: bool,
    /// Data-parallel GPUs [default: 1].
    #[arg(long)]
    pub(crate) gpus: Option<u64>,
    /// Tensor-parallel degree [default: 1].
    #[arg(long)]
    pub(crate) tp: Option<u64>,
    /// Megatron-LM's sequence parallelism beside `--tp`: the residual stream, its dropout masks
    /// and norm statistics, which tensor parallelism replicates, are split over the `--tp` GPUs
    /// too (Korthikanti et al. 2022, Eq. 4 and 6) [default: off].
    #[arg(long)]
    pub(crate) sequence_parallel: bool,
    /// Pipeline-parallel degree [default: 1].
    #[arg(long)]
    pub(crate) pp: Option<u64>,
    /// Inference weight dtype [default: bf16].
    #[arg(long, value_enum)]
    pub(crate) weights: Option<DTypeArg>,
    /// KV-cache dtype [default: the compute dtype].
    #[arg(long, value_enum)]
    pub(crate) kv_cache: Option<DTypeArg>,
    /// Inference: the serving engine — Hugging Face's generate loop; vLLM's paged KV cache or
    /// SGLang's pool (then `--gpu` is needed: the startup budget, token capacity,
    /// concurrency); llama.cpp's GPU and host buffers [default: hf].
    #[arg(long, value_enum)]
    pub(crate) engine: Option<EngineArg>,
    /// vLLM: `gpu_memory_utilization`, the fraction of the GPU it takes [default: 0.92].
    #[arg(long)]
    pub(crate) gpu_memory_utilization: Option<f64>,
    /// vLLM: `max_model_len`; SGLang: `--context-length`; llama.cpp: `-c`, the KV cache's
    /// cells [default: the config's max_position_embeddings].
    #[arg(long)]
    pub(crate) max_model_len: Option<u64>,
    /// vLLM: `block_size` in tokens [default: 16].
    #[arg(long)]
    pub(crate) block_size: Option<u64>,
    /// vLLM: `max_num_seqs` [default: 1024 on a GPU of 70 GiB or more, else 256].
    #[arg(long)]
    pub(crate) max_num_seqs: Option<u64>,
    /// vLLM: `max_num_batched_tokens`, the profiling forward's tokens [default: 8192 on a GPU of
    /// 70 GiB or more, else 2048].
    #[arg(long)]
    pub(crate) max_num_batched_tokens: Option<u64>,
    /// SGLang: `--mem-fraction-static`, the fraction of the free memory for the weights and
    /// the KV pool [default: SGLang's reserve formula, e.g. 0.83 on an H100].
    #[arg(long)]
    pub(crate) mem_fraction_static: Option<f64>,
    /// SGLang: `--max-total-tokens`, a cap on the KV pool [default: none].
    #[arg(long)]
    pub(crate) max_total_tokens: Option<u64>,
    /// SGLang: `--chunked-prefill-size` [default: by GPU tier, 8192 on 60–160 GiB].
    #[arg(long)]
    pub(crate) chunked_prefill_size: Option<u64>,
    /// SGLang: `--page-size` [default: 1].
    #[arg(long)]
    pub(crate) page_size: Option<u64>,
    /// llama.cpp: `-ngl`, layers on the GPU, the output layer first [default: all].
    #[arg(long)]
    pub(crate) n_gpu_layers: Option<u64>,
    /// llama.cpp: `-ub`, the tokens of one graph [default: 512].
    #[arg(long)]
    pub(crate) n_ubatch: Option<u64>,
    /// llama.cpp: `-fa` [default: on (its auto, on a GPU that has it)].
    #[arg(long, value_enum)]
    pub(crate) flash_attn: Option<OnOff>,
    /// llama.cpp: `-ctk`, the K cache's type [default: f16].
    #[arg(long, value_enum)]
    pub(crate) cache_type_k: Option<GgmlArg>,
    /// llama.cpp: `-ctv`, the V cache's type [default: f16].
    #[arg(long, value_enum)]
    pub(crate) cache_type_v: Option<GgmlArg>,
    /// vLLM: requests of `max_model_len` to hold at once; prints the least
    /// `gpu_memory_utilization`, and the least tensor-parallel degree, that reach it.
    #[arg(long, value_name = "N")]
    pub(crate) target_concurrency: Option<u64>,
    /// Inference: which prompt tokens keep their logits — the last (`generate()`'s
    /// `logits_to_keep=1`, serving engines) or the whole prompt (a forward call on it, scoring)
    /// [default: last].
    #[arg(long, value_enum)]
    pub(crate) logits: Option<LogitsArg>,
    /// GPU to check against (see `estimator presets`).
    #[arg(long, value_name = "NAME")]
    pub(crate) gpu: Option<String>,
    /// Extra memory to reserve, in MiB (allocator reserve, workspaces).
    #[arg(long, value_name = "MIB")]
    pub(crate) overhead_mib: Option<u64>,
}

/// `estimator estimate`.
#[derive(Args, Debug)]
pub(crate) struct EstimateArgs {
    #[command(flatten)]
    pub(crate) settings: Settings,
    /// One JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    /// SI units (GB) instead of binary (GiB).
    #[arg(long)]
    pub(crate) si: bool,
    /// Levels of the per-layer summary (0: none).
    #[arg(long, default_value_t = 1)]
    pub(crate) depth: usize,
    /// Also the weights' total and largest layer in every dtype at once (fp32, bf16, int8,
    /// int4), as `accelerate estimate-memory` prints them.
    #[arg(long, value_enum)]
    pub(crate) dtypes: Option<DtypesArg>,
}

/// `--dtypes`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DtypesArg {
    /// fp32, bf16 (or fp16), int8 and int4.
    All,
}

/// What `plot` sweeps.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sweep {
    /// Batch size.
    Batch,
    /// Sequence length (the prompt, for inference).
    Seq,
    /// vLLM's `max_model_len`: requests of that context at once, one line per GPU (`--gpu` and
    /// `--compare`); needs `--mode infer --engine vllm`.
    Context,
}

/// `estimator plot`.
#[derive(Args, Debug)]
pub(crate) struct PlotArgs {
    #[command(flatten)]
    pub(crate) settings: Settings,
    /// What to put on the x axis.
    #[arg(long, value_enum)]
    pub(crate) sweep: Sweep,
    /// The SVG file to write.
    #[arg(long, value_name = "FILE.svg")]
    pub(crate) out: PathBuf,
    /// The sweep's largest value [default: past what fits, or 64 / 32768; `context`: the
    /// model's max_position_embeddings, or 131072].
    #[arg(long)]
    pub(crate) max: Option<u64>,
    /// `--sweep context`: more GPU presets to draw beside `--gpu`.
    #[arg(long, value_name = "GPU,GPU", value_delimiter = ',')]
    pub(crate) compare: Vec<String>,
}

/// `estimator validate`.
#[derive(Args, Debug)]
pub(crate) struct ValidateArgs {
    /// Measurements in the format of shared/reference/memory.json.
    pub(crate) file: PathBuf,
    /// The largest relative error accepted per part.
    #[arg(long, default_value_t = 0.10, allow_negative_numbers = true)]
    pub(crate) tolerance: f64,
}
