//! From command-line settings to an estimate: the library's builders, with every default that
//! was assumed written down.

use estimator::config::{Lora, LoraTargets, ModelConfig, Positions};
use estimator::gpu::{self, Gpu};
use estimator::{
    ActivationModel, AttentionKernel, Bytes, DType, Device, EstimateError, GgmlType, Inference,
    LlamaCpp, Logits, Loss, Memory, Offload, Optimizer, OptimizerImpl, Phase, Precision, Recompute,
    Sglang, Training, Vllm, ZeroStage,
};

use crate::CliError;
use crate::args::{
    ActivationArg, AttentionArg, DTypeArg, DeviceArg, EngineArg, GgmlArg, Half, ImplArg, LogitsArg,
    LossArg, Mode, OffloadArg, OnOff, OptimizerArg, PrecisionArg, RecomputeArg, Settings, StateArg,
};
use crate::model::Model;
use estimator::config::closest;

/// The largest LoRA rank accepted (larger than any layer it could adapt).
const MAX_RANK: u64 = 1 << 16;

/// A training or inference estimate, ready to run.
#[derive(Clone, Copy)]
pub(crate) enum Plan {
    Train(Training),
    Infer(Inference),
}

impl Plan {
    pub(crate) fn estimate(self) -> Result<Memory, CliError> {
        match self {
            Plan::Train(t) => t.checked_estimate(),
            Plan::Infer(i) => i.checked_estimate(),
        }
        .map_err(estimate_error)
    }

    pub(crate) fn at(self, phase: Phase) -> Result<Memory, CliError> {
        match self {
            Plan::Train(t) => t.checked_at(phase),
            Plan::Infer(i) => i.checked_at(phase),
        }
        .map_err(estimate_error)
    }

    /// The phases this workload has.
    pub(crate) fn phases(self) -> &'static [Phase] {
        match self {
            Plan::Train(_) => &[Phase::Forward, Phase::Backward, Phase::OptimizerStep],
            // nothing generated (an encoder, `--generate 0`): the forward pass alone
            Plan::Infer(i) if i.generated() == 0 => &[Phase::Prefill],
            Plan::Infer(_) => &[Phase::Prefill, Phase::Decode],
        }
    }

    pub(crate) fn with_batch(self, n: u64) -> Plan {
        match self {
            Plan::Train(t) => Plan::Train(t.batch(n)),
            Plan::Infer(i) => Plan::Infer(i.batch(n)),
        }
    }

    /// The same plan at sequence (training) or prompt (inference) length `n`.
    pub(crate) fn with_seq(self, n: u64) -> Plan {
        match self {
            Plan::Train(t) => Plan::Train(t.seq(n)),
            Plan::Infer(i) => Plan::Infer(i.prompt(n)),
        }
    }

    pub(crate) fn max_batch(self, budget: Bytes) -> u64 {
        match self {
            Plan::Train(t) => t.max_batch(budget),
            Plan::Infer(i) => i.max_batch(budget),
        }
    }

    pub(crate) fn max_seq(self, budget: Bytes) -> u64 {
        match self {
            Plan::Train(t) => t.max_seq(budget),
            Plan::Infer(i) => i.max_seq(budget),
        }
    }
}

pub(crate) fn estimate_error(e: EstimateError) -> CliError {
    CliError::new(e.to_string().trim_start_matches("estimator: ").to_owned())
}

/// A plan with what it was built from.
pub(crate) struct Built {
    pub(crate) plan: Plan,
    pub(crate) mode: Mode,
    pub(crate) lora: Option<Lora>,
    pub(crate) gpu: Option<Gpu>,
    /// One line describing the settings.
    pub(crate) described: String,
    /// The defaults that were assumed, as `name = value`.
    pub(crate) assumed: Vec<String>,
    /// What the user should know about the plan that does not stop it (a context past the
    /// trained one).
    pub(crate) notes: Vec<String>,
    /// The current batch and sequence (or prompt) length.
    pub(crate) batch: u64,
    pub(crate) seq: u64,
    /// vLLM's startup, when `--engine vllm`.
    pub(crate) vllm: Option<Vllm>,
    /// SGLang's startup, when `--engine sglang`.
    pub(crate) sglang: Option<Sglang>,
    /// llama.cpp's load, when `--engine llama.cpp`.
    pub(crate) llama_cpp: Option<LlamaCpp>,
    /// GPUs per node for the host memory, when `--offload`.
    pub(crate) gpus_per_node: Option<u64>,
    /// The tensor-parallel degree.
    pub(crate) tp: u64,
}

/// Takes a flag's value or its default, noting the default.
fn or_default<T: Copy>(
    value: Option<T>,
    default: T,
    name: &str,
    shown: &str,
    assumed: &mut Vec<String>,
) -> T {
    value.unwrap_or_else(|| {
        assumed.push(format!("{name} {shown}"));
        default
    })
}

fn positive(value: u64, flag: &str) -> Result<u64, CliError> {
    if value == 0 {
        Err(CliError::new(format!(
            "`--{flag}` must be at least 1, got 0"
        )))
    } else {
        Ok(value)
    }
}

pub(crate) fn dtype(d: DTypeArg) -> DType {
    match d {
        DTypeArg::Fp32 => DType::F32,
        DTypeArg::Fp16 => DType::F16,
        DTypeArg::Bf16 => DType::BF16,
        DTypeArg::Fp8 => DType::F8E4M3,
        DTypeArg::Int8 => DType::I8,
        DTypeArg::Int4 => DType::I4,
        DTypeArg::Nf4 => DType::NF4,
        DTypeArg::Nf4Dq => DType::NF4DoubleQuant,
        DTypeArg::Ternary => DType::Ternary,
    }
}

/// Flags that only make sense for one mode: rejected in the other, with what to do.
fn check_mode(s: &Settings, mode: Mode) -> Result<(), CliError> {
    let training_only = [
        ("seq", s.seq.is_some()),
        ("precision", s.precision.is_some()),
        ("optimizer", s.optimizer.is_some()),
        ("optimizer-impl", s.optimizer_impl.is_some()),
        ("recompute", s.recompute.is_some()),
        ("dropout", s.dropout.is_some()),
        ("grad-accum", s.grad_accum.is_some()),
        ("loss", s.loss.is_some()),
        ("sequence-parallel", s.sequence_parallel),
        ("offload", s.offload.is_some()),
        ("paged-optimizer", s.paged_optimizer),
        ("gpus-per-node", s.gpus_per_node.is_some()),
        ("optimizer-state", s.optimizer_state.is_some()),
        ("activations", s.activations.is_some()),
        ("lora-rank", s.lora_rank.is_some()),
        ("lora-targets", s.lora_targets.is_some()),
        ("qlora", s.qlora),
        ("zero", s.zero.is_some()),
        ("fsdp", s.fsdp),
        ("gpus", s.gpus.is_some()),
        ("pp", s.pp.is_some()),
        ("device", s.device.is_some()),
        ("dtype", s.dtype.is_some()),
    ];
    let inference_only = [
        ("prompt", s.prompt.is_some()),
        ("generate", s.generate.is_some()),
        ("weights", s.weights.is_some()),
        ("kv-cache", s.kv_cache.is_some()),
        ("logits", s.logits.is_some()),
        ("engine", s.engine.is_some()),
        ("gpu-memory-utilization", s.gpu_memory_utilization.is_some()),
        ("max-model-len", s.max_model_len.is_some()),
        ("target-concurrency", s.target_concurrency.is_some()),
        ("mem-fraction-static", s.mem_fraction_static.is_some()),
        ("max-total-tokens", s.max_total_tokens.is_some()),
        ("chunked-prefill-size", s.chunked_prefill_size.is_some()),
        ("page-size", s.page_size.is_some()),
        ("n-gpu-layers", s.n_gpu_layers.is_some()),
        ("n-ubatch", s.n_ubatch.is_some()),
        ("flash-attn", s.flash_attn.is_some()),
        ("cache-type-k", s.cache_type_k.is_some()),
        ("cache-type-v", s.cache_type_v.is_some()),
        ("block-size", s.block_size.is_some()),
        ("max-num-seqs", s.max_num_seqs.is_some()),
        ("max-num-batched-tokens", s.max_num_batched_tokens.is_some()),
    ];
    let (wrong, other) = match mode {
        Mode::Train => (&inference_only[..], "infer"),
        Mode::Infer => (&training_only[..], "train"),
    };
    match wrong.iter().find(|(_, given)| *given) {
        Some((flag, _)) => Err(CliError::new(format!(
            "`--{flag}` applies to `--mode {other}`; drop it or add `--mode {other}`"
        ))),
        None => Ok(()),
    }
}

/// The source length of the flags (`--source-len`, `--audio-seconds`): 0 for a model without
/// an encoder, else the flag or the library's default, written down under `assumed:`.
fn source_of(
    s: &Settings,
    c: &ModelConfig,
    assumed: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Result<u64, CliError> {
    let model = c.model_type.name();
    let seq2seq = c.seq2seq.filter(|x| !x.encoder_only);
    let Some(x) = seq2seq else {
        return match (s.source_len, s.audio_seconds) {
            (Some(_), _) => Err(CliError::new(format!(
                "`--source-len` applies to encoder–decoder models (T5, BART, Whisper); {model} reads one sequence: give its length with `--seq` or `--prompt`"
            ))),
            (_, Some(_)) => Err(CliError::new(format!(
                "`--audio-seconds` applies to speech models (Whisper); {model} reads tokens"
            ))),
            _ => Ok(0),
        };
    };
    let default = Training::new(c.cost(), "model").source_len();
    if x.mel_bins > 0 {
        if let Some(n) = s.source_len.filter(|n| *n != default) {
            return Err(CliError::new(format!(
                "`--source-len {n}`: {model}'s encoder reads exactly {default} positions ({} mel frames, 30 s of audio: shorter clips are padded); give the clip's length with `--audio-seconds`, or drop the flag",
                2 * default
            )));
        }
        match s.audio_seconds {
            Some(a) if !(a > 0.0 && a <= 30.0) => Err(CliError::new(format!(
                "`--audio-seconds {a}`: {model} reads clips of up to 30 s (longer audio is transcribed in 30 s windows, one pass each); give a length in (0, 30]"
            ))),
            Some(a) => {
                if a < 30.0 {
                    notes.push(format!(
                        "{model} pads every clip to 30 s ({} mel frames): {a} s of audio costs what 30 s does",
                        2 * default
                    ));
                }
                Ok(default)
            }
            None => {
                assumed.push(format!(
                    "audio-seconds 30 ({} mel frames, {default} encoder positions; shorter clips are padded)",
                    2 * default
                ));
                Ok(default)
            }
        }
    } else {
        if s.audio_seconds.is_some() {
            return Err(CliError::new(format!(
                "`--audio-seconds` applies to speech models (Whisper); {model} reads tokens: give the source with `--source-len`"
            )));
        }
        if let Some(n) = s.source_len {
            return positive(n, "source-len");
        }
        assumed.push(if default < 512 {
            format!("source-len {default} (the encoder's position table)")
        } else {
            format!("source-len {default}")
        });
        Ok(default)
    }
}

/// The config with the state-space kernels of the flags (`--ssm-kernels`; off on CPU, where
/// `mamba_ssm` does not run), written down under `assumed:`.
fn with_kernels(
    s: &Settings,
    config: ModelConfig,
    assumed: &mut Vec<String>,
) -> Result<ModelConfig, CliError> {
    let cpu = s.device == Some(DeviceArg::Cpu);
    let Some(mut ssm) = config.ssm else {
        return match s.ssm_kernels {
            Some(_) => Err(CliError::new(format!(
                "`--ssm-kernels` applies to state-space models (mamba, mamba2, jamba, bamba); {} has no mixer",
                config.model_type.name()
            ))),
            None => Ok(config),
        };
    };
    ssm.kernels = match s.ssm_kernels {
        Some(OnOff::On) if cpu => {
            return Err(CliError::new(
                "`--ssm-kernels on` prices mamba_ssm's CUDA kernels, and `--device cpu` runs transformers' PyTorch path; drop one of them",
            ));
        }
        Some(k) => k == OnOff::On,
        None if cpu => {
            assumed.push("ssm-kernels off (CPU: transformers' PyTorch path)".to_owned());
            false
        }
        None => {
            assumed.push("ssm-kernels on (mamba_ssm's CUDA kernels)".to_owned());
            true
        }
    };
    Ok(ModelConfig {
        ssm: Some(ssm),
        ..config
    })
}

/// The LoRA of the flags: `--lora-rank`, `--lora-targets`, `--qlora`.
fn lora_of(
    s: &Settings,
    config: &ModelConfig,
    assumed: &mut Vec<String>,
) -> Result<Option<Lora>, CliError> {
    if s.lora_rank.is_none() && s.lora_targets.is_none() && !s.qlora {
        return Ok(None);
    }
    let rank = match s.lora_rank {
        Some(0) => return Err(CliError::new("`--lora-rank` must be at least 1, got 0")),
        Some(r) if r > MAX_RANK => {
            return Err(CliError::new(format!(
                "`--lora-rank` {r} is larger than any layer it could adapt (the limit is {MAX_RANK})"
            )));
        }
        Some(r) => r,
        None => {
            assumed.push("lora-rank 16".to_owned());
            16
        }
    };
    let family = config.model_type.family();
    if family.lora.is_empty() {
        return Err(CliError::new(format!(
            "LoRA on {} is not supported on the command line; declare it with `model!` in Rust",
            family.name
        )));
    }
    let names: Vec<String> = if let Some(t) = &s.lora_targets {
        t.iter().map(|n| n.trim().to_owned()).collect()
    } else {
        // peft's defaults (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING): the modules
        // holding the query and value projections, fused or not
        let default: Vec<String> = family
            .lora
            .iter()
            .filter(|(_, r)| r.q || r.v)
            .map(|(n, _)| (*n).to_owned())
            .collect();
        assumed.push(format!("lora-targets {}", default.join(",")));
        default
    };
    lora_targets(config, rank, &names).map(Some)
}

/// LoRA of `rank` on peft's `target_modules` `names` (the family's module names, or
/// `all-linear`), or an error naming an unknown module or an unsupported target.
pub(crate) fn lora_targets(
    config: &ModelConfig,
    rank: u64,
    names: &[String],
) -> Result<Lora, CliError> {
    let family = config.model_type.family();
    let known: Vec<&str> = family
        .lora
        .iter()
        .map(|(n, _)| *n)
        .chain(["all-linear"])
        .collect();
    let mut t = LoraTargets::default();
    for name in names {
        if name == "all-linear" {
            t = LoraTargets::ALL;
            continue;
        }
        let Some((_, roles)) = family.lora.iter().find(|(n, _)| n == name) else {
            let hint = closest(name, known.iter().copied())
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            return Err(CliError::new(format!(
                "unknown LoRA target `{name}`{hint} for {}; use {}",
                family.name,
                known.join(", ")
            )));
        };
        t = t.union(*roles);
    }
    if !config.supports_lora(t) {
        let attention: Vec<&str> = family
            .lora
            .iter()
            .filter(|(_, r)| r.q || r.k || r.v || r.o)
            .map(|(n, _)| *n)
            .collect();
        return Err(CliError::new(format!(
            "LoRA on mixture-of-experts MLPs is not supported; target the attention projections ({})",
            attention.join(", ")
        )));
    }
    Ok(Lora { rank, targets: t })
}

/// The GPU preset `name`, or an error listing them with the closest.
pub(crate) fn gpu_named(name: &str) -> Result<Gpu, CliError> {
    Gpu::by_name(name).ok_or_else(|| {
        let names: Vec<&str> = gpu::ALL.iter().map(|g| g.name).collect();
        let hint = closest(&name.to_ascii_lowercase(), names.iter().copied())
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        CliError::new(format!(
            "unknown GPU `{name}`{hint}; known: {}",
            names.join(", ")
        ))
    })
}

/// vLLM's startup of the same flags on GPU `g` (the knobs' defaults follow its size), for a
/// plan built with `--engine vllm`.
pub(crate) fn vllm_on(
    s: &Settings,
    model: &Model,
    g: Gpu,
    built: &Built,
) -> Result<Vllm, CliError> {
    let config = with_kernels(s, model.config, &mut Vec::new())?;
    match (built.plan, built.vllm) {
        (Plan::Infer(inf), Some(_)) => vllm_of(
            s,
            &config,
            Some(g),
            (inf, built.tp),
            EngineArg::Vllm,
            &mut Vec::new(),
        )?
        .ok_or_else(|| CliError::new("vLLM's plot needs `--engine vllm`")),
        _ => Err(CliError::new(
            "`--sweep context` plots vLLM's concurrency; add `--mode infer --engine vllm --gpu NAME`",
        )),
    }
}

/// The plan the flags describe.
#[allow(
    clippy::too_many_lines,
    reason = "one flag after another, each with its default"
)]
pub(crate) fn build(s: &Settings, model: &Model) -> Result<Built, CliError> {
    let mut assumed = Vec::new();
    let mode = or_default(s.mode, Mode::Train, "mode", "train", &mut assumed);
    check_mode(s, mode)?;
    if model.gguf.is_some() && (mode != Mode::Infer || s.engine != Some(EngineArg::LlamaCpp)) {
        return Err(CliError::new(
            "a GGUF file is what llama.cpp serves; add `--mode infer --engine llama.cpp` (for the other engines give the model's config.json)",
        ));
    }
    if let Some(g) = &model.generic
        && mode != Mode::Infer
    {
        return Err(CliError::new(format!(
            "`model_type` `{}` is not a family this tool describes: training needs its layers; serving is priced from its {} with `--mode infer`",
            estimator::config::clip(&g.model_type),
            g.source
        )));
    }
    let config = with_kernels(s, model.config, &mut assumed)?;
    let c = &config;
    // the reports name the model themselves
    let name = "model";
    let gpu = match &s.gpu {
        None => None,
        Some(g) => Some(gpu_named(g)?),
    };
    let overhead = match s.overhead_mib {
        None => Bytes::ZERO,
        Some(m) => Bytes::new(m.checked_mul(1 << 20).ok_or_else(|| {
            CliError::new(format!("`--overhead-mib` {m} is beyond any GPU; give MiB"))
        })?),
    };
    let batch = positive(or_default(s.batch, 1, "batch", "1", &mut assumed), "batch")?;
    let tp = positive(or_default(s.tp, 1, "tp", "1", &mut assumed), "tp")?;
    // a learned position table bounds the sequence: the defaults stay inside it
    let base = c.cost();
    let table = base.positions;
    let mut notes = Vec::new();
    if let Some(g) = &model.generic {
        notes.push(format!(
            "`{}` is not a family this tool describes: the weights are exact, from its {}; the KV cache and activations are priced as a Llama-style decoder of its dims ({}), every layer caching every token — an estimate, not the architecture's own",
            estimator::config::clip(&g.model_type),
            g.source,
            g.read
        ));
    }
    let source = source_of(s, c, &mut assumed, &mut notes)?;
    if mode == Mode::Infer {
        // the library's defaults, which stay inside a position table
        let defaults = Inference::new(base, name);
        let encoder_only =
            c.encoder.is_some() || c.vision.is_some() || c.seq2seq.is_some_and(|x| x.encoder_only);
        let generate = if encoder_only {
            // an encoder reads its input in one pass and generates nothing
            match s.generate {
                Some(g) if g > 0 => {
                    return Err(CliError::new(format!(
                        "`--generate {g}`: {} is an encoder, which generates nothing; `--mode infer` prices one forward pass over `--prompt` tokens (a vision model's: its patches)",
                        c.model_type.name()
                    )));
                }
                _ => 0,
            }
        } else {
            s.generate.unwrap_or_else(|| {
                let g = defaults.generated();
                assumed.push(if source > 0 && g < 256 {
                    format!("generate {g} (the decoder's {table} positions less its start token)")
                } else if g < 256 {
                    format!("generate {g} (a quarter of the {table} positions)")
                } else {
                    format!("generate {g}")
                });
                g
            })
        };
        let prompt = match s.prompt {
            Some(p) => positive(p, "prompt")?,
            None if source > 0 => {
                assumed.push("prompt 1 (the decoder's start token)".to_owned());
                1
            }
            None if table > 0 && table.saturating_sub(generate) < 2048 => {
                let p = table.saturating_sub(generate).max(1);
                assumed.push(if generate == 0 {
                    format!("prompt {p} (the model's position table)")
                } else {
                    format!("prompt {p} (the {table} positions less {generate} generated)")
                });
                p
            }
            None => {
                let p = defaults.prompt_len();
                assumed.push(format!("prompt {p}"));
                p
            }
        };
        past_context(c, prompt.saturating_add(generate), &mut notes);
        if model.stored.is_some() && s.weights.is_some() {
            return Err(CliError::new(
                "the checkpoint's safetensors headers give the weights' dtypes and bytes; drop `--weights`",
            ));
        }
        let weights = match model.stored.as_ref() {
            Some(st) => {
                assumed.push(format!(
                    "weights as stored: {} in {} tensors ({}; the safetensors headers)",
                    Bytes::new(st.bytes),
                    st.tensors,
                    st.summary()
                ));
                match st.float_dtype() {
                    Some("F32") => DType::F32,
                    Some("F16") => DType::F16,
                    // bf16, or quantized weights computed in 16 bits
                    _ => DType::BF16,
                }
            }
            // quantized weights compute in 16 bits; a GGUF file's types are its tensor list's
            None if (model.quant.is_some() || model.gguf.is_some()) && s.weights.is_none() => {
                DType::BF16
            }
            None => dtype(or_default(
                s.weights,
                DTypeArg::Bf16,
                "weights",
                "bf16",
                &mut assumed,
            )),
        };
        let mut inf = Inference::new(base, name)
            .source(source)
            .batch(batch)
            .prompt(prompt)
            .generate(generate)
            .weights(weights)
            .tensor_parallel(tp)
            .overhead(overhead)
            .attention(attention(or_default(
                s.attention,
                AttentionArg::Flash,
                "attention",
                "flash",
                &mut assumed,
            )));
        if let Some(kv) = s.kv_cache {
            inf = inf.kv_cache(dtype(kv));
        }
        if let Some(st) = &model.stored {
            inf = inf.stored_weights(Bytes::new(st.bytes));
        } else if let Some(q) = &model.quant {
            if s.weights.is_some() {
                return Err(CliError::new(
                    "the config's quantization_config says how the weights are stored; drop `--weights`",
                ));
            }
            assumed.push(format!(
                "weights per the quantization_config: {}",
                q.describe()
            ));
            inf = inf.stored_weights(Bytes::new(q.stored_bytes(&c.cost())));
        }
        if !encoder_only {
            inf = inf.logits(
                match or_default(
                    s.logits,
                    LogitsArg::Last,
                    "logits",
                    "last (generate()'s logits_to_keep=1)",
                    &mut assumed,
                ) {
                    LogitsArg::Last => Logits::Last,
                    LogitsArg::Prompt => Logits::Prompt,
                },
            );
        }
        let engine = or_default(s.engine, EngineArg::Hf, "engine", "hf", &mut assumed);
        let vllm = vllm_of(s, c, gpu, (inf, tp), engine, &mut assumed)?;
        let sglang = sglang_of(s, c, gpu, (inf, tp), engine, &mut assumed)?;
        let llama_cpp = llama_cpp_of(s, (c, model), inf, engine, &mut assumed)?;
        if engine != EngineArg::Hf {
            // the generate loop's request is not what an engine's startup allocates for: its
            // defaults and its context note are left out of what the report says it assumed
            assumed.retain(|a| {
                !["batch ", "generate ", "prompt ", "logits ", "attention "]
                    .iter()
                    .any(|p| a.starts_with(p))
            });
            notes.retain(|n| !n.contains(" tokens is past the "));
        }
        let engine_name = match engine {
            EngineArg::Hf => None,
            EngineArg::Vllm => Some("vLLM"),
            EngineArg::Sglang => Some("SGLang"),
            EngineArg::LlamaCpp => Some("llama.cpp"),
        };
        let described = if let Some(e) = engine_name {
            format!(
                "serving under {e}, {} weights{}",
                if model.gguf.is_some() {
                    "GGUF"
                } else {
                    weights.name()
                },
                s.kv_cache
                    .map(|k| format!(", {} KV cache", dtype(k).name()))
                    .unwrap_or_default()
            )
        } else {
            format!(
                "inference, batch {batch}, {}prompt {prompt} + {generate} generated tokens, {} weights{}",
                if source > 0 {
                    format!("source {source}, ")
                } else {
                    String::new()
                },
                weights.name(),
                s.kv_cache
                    .map(|k| format!(", {} KV cache", dtype(k).name()))
                    .unwrap_or_default()
            )
        };
        return Ok(Built {
            plan: Plan::Infer(inf),
            mode,
            lora: None,
            gpu,
            described,
            assumed,
            notes,
            batch,
            seq: prompt,
            vllm,
            sglang,
            llama_cpp,
            gpus_per_node: None,
            tp,
        });
    }
    let seq = if let Some(n) = s.seq {
        positive(n, "seq")?
    } else {
        // the library's default, which stays inside a position table
        let n = Training::new(base, name).seq_len();
        assumed.push(if n == table {
            format!("seq {n} (the model's position table)")
        } else if source > 0 {
            format!("seq {n} (target tokens)")
        } else {
            format!("seq {n}")
        });
        n
    };
    past_context(c, seq, &mut notes);
    if let (Some(PrecisionArg::Fp32), Some(d)) = (s.precision, s.dtype) {
        return Err(CliError::new(format!(
            "`--dtype {}` picks the 16-bit type of mixed, pure or autocast precision, and `--precision fp32` has none; drop one of them",
            match d {
                Half::Bf16 => "bf16",
                Half::Fp16 => "fp16",
            }
        )));
    }
    let half = match s.dtype {
        Some(Half::Fp16) => DType::F16,
        Some(Half::Bf16) => DType::BF16,
        // fp32 has no 16-bit type to assume
        None if s.precision == Some(PrecisionArg::Fp32) => DType::BF16,
        None => {
            assumed.push("dtype bf16".to_owned());
            DType::BF16
        }
    };
    let lora = lora_of(s, c, &mut assumed)?;
    // QLoRA as peft writes it: prepare_model_for_kbit_training casts the base's unquantized
    // parameters to fp32 and turns gradient checkpointing on, the adapters are fp32
    // (autocast_adapter_dtype), the Trainer runs under bf16 autocast
    let (precision_default, precision_shown, recompute_default, recompute_shown) = if s.qlora {
        (
            PrecisionArg::Autocast,
            "autocast (QLoRA with peft: the embeddings, norms, head and adapters in fp32 — prepare_model_for_kbit_training, autocast_adapter_dtype)",
            RecomputeArg::Full,
            "full (prepare_model_for_kbit_training turns gradient checkpointing on)",
        )
    } else if lora.is_some() {
        // LoRA as peft and the Trainer run it: the base loaded in 16 bits, the adapters fp32
        // (get_peft_model's autocast_adapter_dtype), bf16 autocast
        (
            PrecisionArg::Pure,
            "pure (LoRA with peft: the base in 16 bits, the adapters fp32 — autocast_adapter_dtype — under autocast)",
            RecomputeArg::None,
            "none",
        )
    } else {
        (PrecisionArg::Mixed, "mixed", RecomputeArg::None, "none")
    };
    let precision = match or_default(
        s.precision,
        precision_default,
        "precision",
        precision_shown,
        &mut assumed,
    ) {
        PrecisionArg::Fp32 => Precision::Fp32,
        PrecisionArg::Mixed => Precision::Mixed(half),
        PrecisionArg::MixedFp32Grads => Precision::MixedFp32Grads(half),
        PrecisionArg::Pure => Precision::Pure(half),
        PrecisionArg::Autocast => Precision::Autocast(half),
    };
    let optimizer = match or_default(
        s.optimizer,
        OptimizerArg::Adamw,
        "optimizer",
        "adamw",
        &mut assumed,
    ) {
        OptimizerArg::Sgd => Optimizer::Sgd,
        OptimizerArg::SgdMomentum => Optimizer::SgdMomentum,
        OptimizerArg::Adam => Optimizer::Adam,
        OptimizerArg::Adamw => Optimizer::AdamW,
        OptimizerArg::Adamw8bit => Optimizer::AdamW8bit,
        OptimizerArg::Adafactor => Optimizer::Adafactor,
        OptimizerArg::AdafactorMomentum => Optimizer::AdafactorMomentum,
        OptimizerArg::Lion => Optimizer::Lion,
    };
    let optimizer_impl = match or_default(
        s.optimizer_impl,
        ImplArg::Foreach,
        "optimizer-impl",
        "foreach",
        &mut assumed,
    ) {
        ImplArg::Foreach => OptimizerImpl::Foreach,
        ImplArg::SingleTensor => OptimizerImpl::SingleTensor,
        ImplArg::Fused => OptimizerImpl::Fused,
    };
    let recompute = match or_default(
        s.recompute,
        recompute_default,
        "recompute",
        recompute_shown,
        &mut assumed,
    ) {
        RecomputeArg::None => Recompute::None,
        RecomputeArg::Selective => Recompute::Selective,
        RecomputeArg::Full => Recompute::Full,
    };
    let kernel = attention(or_default(
        s.attention,
        AttentionArg::Flash,
        "attention",
        "flash",
        &mut assumed,
    ));
    if base.eager_attention {
        notes.push(format!(
            "{}'s attention has no fused kernel in transformers: it is estimated eager, whatever `--attention` says",
            c.model_type.name()
        ));
    }
    let dropout = if let Some(d) = s.dropout {
        d == OnOff::On
    } else {
        assumed.push(format!(
            "dropout {} (from the config)",
            if c.dropout { "on" } else { "off" }
        ));
        c.dropout
    };
    let activation_model = match or_default(
        s.activations,
        ActivationArg::Pytorch,
        "activations",
        "pytorch",
        &mut assumed,
    ) {
        ActivationArg::Pytorch => ActivationModel::PyTorch,
        ActivationArg::Textbook => ActivationModel::Textbook,
    };
    let device = match or_default(s.device, DeviceArg::Cuda, "device", "cuda", &mut assumed) {
        DeviceArg::Cuda => Device::Cuda,
        DeviceArg::Cpu => Device::Cpu,
    };
    let gpus = positive(or_default(s.gpus, 1, "gpus", "1", &mut assumed), "gpus")?;
    let stage = if s.fsdp {
        assumed.push("fsdp: fully_shard on every block, then on the model (its root group: embeddings, final norm, head, unsharded from the first forward to the end of backward), default reshard_after_forward; --precision mixed is MixedPrecisionPolicy(param_dtype 16-bit, reduce_dtype float32); every tensor's first dimension a multiple of --gpus (no padding)".to_owned());
        ZeroStage::Three
    } else {
        match or_default(s.zero, 0, "zero", "0", &mut assumed) {
            0 => ZeroStage::Off,
            1 => ZeroStage::One,
            2 => ZeroStage::Two,
            _ => ZeroStage::Three,
        }
    };
    let offload = match or_default(s.offload, OffloadArg::None, "offload", "none", &mut assumed) {
        OffloadArg::None => Offload::None,
        OffloadArg::Optimizer => Offload::Optimizer,
        OffloadArg::OptimizerAndParams => Offload::OptimizerAndParams,
    };
    // ZeRO-Offload on one GPU is its headline use; without offload, ZeRO on one GPU shards
    // nothing
    if stage != ZeroStage::Off && gpus < 2 && offload == Offload::None {
        return Err(CliError::new(format!(
            "`{}` shards over data-parallel GPUs, and {} has one; add `--gpus N` (N ≥ 2) or drop it",
            if s.fsdp {
                "--fsdp".to_owned()
            } else {
                format!("--zero {}", stage as u8)
            },
            if s.gpus.is_some() {
                "`--gpus 1`"
            } else {
                "the default `--gpus`"
            }
        )));
    }
    let gpus_per_node = offload_plan(s, offload, stage, gpus, &mut assumed)?;
    if s.paged_optimizer {
        if offload != Offload::None {
            return Err(CliError::new(
                "`--paged-optimizer` pages the optimizer state to the host on demand, and `--offload` keeps it there; drop one of them",
            ));
        }
        if !matches!(
            optimizer,
            Optimizer::Adam | Optimizer::AdamW | Optimizer::AdamW8bit | Optimizer::Lion
        ) {
            return Err(CliError::new(format!(
                "`--paged-optimizer`: bitsandbytes pages adam, adamw, adamw8bit and lion, not `{}`; use one of those or drop it",
                optimizer.name()
            )));
        }
    }
    let pp = positive(or_default(s.pp, 1, "pp", "1", &mut assumed), "pp")?;
    let accumulation = positive(
        or_default(s.grad_accum, 1, "grad-accum", "1", &mut assumed),
        "grad-accum",
    )?;
    if s.sequence_parallel && tp < 2 {
        return Err(CliError::new(format!(
            "`--sequence-parallel` splits what tensor parallelism replicates, and {} is one GPU; add `--tp N` (N ≥ 2) or drop `--sequence-parallel`",
            if s.tp.is_some() {
                "`--tp 1`"
            } else {
                "the default `--tp`"
            }
        )));
    }
    if tp > 1 && !s.sequence_parallel {
        assumed.push(
            "sequence parallel off (`--sequence-parallel` to split the residual stream too)"
                .to_owned(),
        );
    }
    if model.quant.is_some() {
        notes.push(
            "training prices the model as --precision and --qlora say; the config's quantization_config applies to serving".to_owned(),
        );
    }
    if model.stored.is_some() {
        notes.push(
            "training prices the weights by --precision (they train in its dtypes); the checkpoint's stored bytes are what serving loads".to_owned(),
        );
    }
    let cost = c.architecture(lora).cost();
    let mut t = Training::new(cost, name)
        .batch(batch)
        .seq(seq)
        .source(source)
        .precision(precision)
        .optimizer(optimizer)
        .optimizer_impl(optimizer_impl)
        .recompute(recompute)
        .attention(kernel)
        .dropout(dropout)
        .activation_model(activation_model)
        .device(device)
        .zero(stage, gpus)
        .tensor_parallel(tp)
        .sequence_parallel(s.sequence_parallel)
        .pipeline_parallel(pp)
        .grad_accumulation(accumulation)
        .loss(
            match or_default(s.loss, LossArg::Logits, "loss", "logits", &mut assumed) {
                LossArg::Chunked => Loss::Chunked,
                LossArg::Logits => Loss::Logits,
            },
        )
        .offload(offload)
        .paged_optimizer(s.paged_optimizer)
        .overhead(overhead);
    if s.fsdp {
        t = t.fsdp(gpus);
    }
    if let Some(state) = s.optimizer_state {
        t = t.optimizer_state_dtype(match state {
            StateArg::Fp32 => DType::F32,
            StateArg::Bf16 => DType::BF16,
            StateArg::Fp16 => DType::F16,
        });
    }
    if lora.is_some() && !s.qlora && matches!(precision, Precision::Pure(_)) {
        // peft's adapters on a 16-bit base
        t = t.trainable_dtype(DType::F32);
        assumed.push("lora adapters fp32 (peft's autocast_adapter_dtype), with their gradients and optimizer state".to_owned());
    }
    if s.qlora {
        t = t.frozen_weights(DType::NF4DoubleQuant);
        assumed.push(
            "qlora: NF4 with double quantization on every Linear but the head (bitsandbytes through transformers: get_keys_to_not_convert), 1,092 B of code books a tensor".to_owned(),
        );
    }
    let described = format!(
        "training, batch {batch} × {}{seq} tokens{}, {}, {} ({}), {} attention, recompute {}{}{}{}{}",
        if source > 0 {
            format!("{source} source + ")
        } else {
            String::new()
        },
        if accumulation > 1 {
            format!(" (× {accumulation} accumulated)")
        } else {
            String::new()
        },
        match precision {
            Precision::Fp32 => precision.name().to_owned(),
            _ => format!("{} {}", precision.name(), half.name()),
        },
        optimizer.name(),
        match optimizer_impl {
            OptimizerImpl::Foreach => "foreach",
            OptimizerImpl::SingleTensor => "single-tensor",
            OptimizerImpl::Fused => "fused",
        },
        match kernel {
            AttentionKernel::Flash => "flash",
            AttentionKernel::Eager => "eager",
            AttentionKernel::Math => "math",
        },
        match recompute {
            Recompute::None => "none",
            Recompute::Selective => "selective",
            Recompute::Full => "full",
        },
        match (dropout, s.loss) {
            (true, Some(LossArg::Chunked)) => ", dropout, TRL's fused head",
            (false, Some(LossArg::Chunked)) => ", TRL's fused head",
            (true, _) => ", dropout",
            (false, _) => "",
        },
        match lora {
            Some(l) if s.qlora => format!(", QLoRA r={} (NF4 base)", l.rank),
            Some(l) => format!(", LoRA r={}", l.rank),
            None => String::new(),
        },
        if gpus > 1 || tp > 1 || pp > 1 {
            format!(
                ", {} × {gpus} GPUs, TP {tp}{}, PP {pp}",
                if s.fsdp {
                    "FSDP2".to_owned()
                } else {
                    format!("ZeRO-{}", stage as u8)
                },
                if s.sequence_parallel { " + SP" } else { "" }
            )
        } else {
            String::new()
        },
        match offload {
            Offload::None => "",
            Offload::Optimizer => ", optimizer offloaded to the CPU",
            Offload::OptimizerAndParams if s.fsdp => {
                ", parameters, gradients and optimizer offloaded to the CPU"
            }
            Offload::OptimizerAndParams => ", optimizer and weights offloaded to the CPU",
        }
    );
    Ok(Built {
        plan: Plan::Train(t),
        mode,
        lora,
        gpu,
        described,
        assumed,
        notes,
        batch,
        seq,
        vllm: None,
        sglang: None,
        llama_cpp: None,
        gpus_per_node,
        tp,
    })
}

/// Checks `--offload` against the ZeRO stage and the optimizer, naming the flags, and returns
/// the GPUs per node its host memory is reported for.
fn offload_plan(
    s: &Settings,
    offload: Offload,
    stage: ZeroStage,
    gpus: u64,
    assumed: &mut Vec<String>,
) -> Result<Option<u64>, CliError> {
    if offload == Offload::None {
        if s.gpus_per_node.is_some() {
            return Err(CliError::new(
                "`--gpus-per-node` sizes the host memory of `--offload`; add `--offload optimizer` or drop it",
            ));
        }
        return Ok(None);
    }
    if stage == ZeroStage::Off {
        return Err(CliError::new(
            "`--offload` moves ZeRO's partitions to the CPU; add `--zero 1`, `--zero 2` or `--zero 3` (one GPU is enough), or `--fsdp`",
        ));
    }
    if s.fsdp && offload == Offload::Optimizer {
        return Err(CliError::new(
            "FSDP2's CPUOffloadPolicy moves the parameters, the gradients and the step together; use `--offload optimizer-and-params` with `--fsdp`",
        ));
    }
    if offload == Offload::OptimizerAndParams && stage != ZeroStage::Three {
        return Err(CliError::new(format!(
            "`--offload optimizer-and-params` moves ZeRO-3's weight partitions, and the plan has `--zero {}`; use `--zero 3` or `--offload optimizer`",
            stage as u8
        )));
    }
    if s.optimizer == Some(OptimizerArg::Adamw8bit) {
        return Err(CliError::new(
            "`--optimizer adamw8bit` (bitsandbytes) runs on the GPU, and `--offload` runs the step on the CPU; use `--optimizer adamw` or drop `--offload`",
        ));
    }
    let per_node = if let Some(n) = s.gpus_per_node {
        positive(n, "gpus-per-node")?
    } else {
        let n = gpus.min(8);
        assumed.push(format!("gpus-per-node {n}"));
        n
    };
    if per_node > gpus {
        return Err(CliError::new(format!(
            "`--gpus-per-node {per_node}` is more than the {gpus} GPUs of the plan; give at most `--gpus`"
        )));
    }
    Ok(Some(per_node))
}

/// A fraction in (0, 1] given as `--flag`, in thousandths (at least 1).
fn permille(f: f64, flag: &str, meaning: &str) -> Result<u64, CliError> {
    if !(f > 0.0 && f <= 1.0) {
        return Err(CliError::new(format!(
            "`--{flag} {f}` must be in (0, 1]: {meaning}"
        )));
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a fraction in (0, 1] as thousandths"
    )]
    let p = (f * 1000.0).round() as u64;
    Ok(p.max(1))
}

/// A serving engine's context: `--max-model-len`, else the config's
/// `max_position_embeddings`, written under `assumed:` as the engine names it (`name`,
/// `flag`: vLLM's `max-model-len`, SGLang's `context-length`, llama.cpp's `n-ctx`).
fn context(
    s: &Settings,
    c: &ModelConfig,
    (name, flag): (&str, &str),
    assumed: &mut Vec<String>,
) -> Result<u64, CliError> {
    match s.max_model_len {
        Some(n) => positive(n, "max-model-len"),
        None if c.max_positions > 0 => {
            assumed.push(format!(
                "{name} {} (max_position_embeddings)",
                c.max_positions
            ));
            Ok(c.max_positions)
        }
        None => Err(CliError::new(format!(
            "the config has no max_position_embeddings: give `--max-model-len N` (the engine's {flag})"
        ))),
    }
}

/// vLLM's startup for `--engine vllm` (on `--gpu`), with its knobs or their defaults written
/// down under `assumed:`; nothing for the Hugging Face loop.
fn vllm_of(
    s: &Settings,
    c: &ModelConfig,
    gpu: Option<Gpu>,
    (inf, tp): (Inference, u64),
    engine: EngineArg,
    assumed: &mut Vec<String>,
) -> Result<Option<Vllm>, CliError> {
    let knobs = s.gpu_memory_utilization.is_some()
        || s.target_concurrency.is_some()
        || s.block_size.is_some()
        || s.max_num_seqs.is_some()
        || s.max_num_batched_tokens.is_some();
    match engine {
        EngineArg::Hf | EngineArg::Sglang | EngineArg::LlamaCpp if knobs => {
            return Err(CliError::new(
                "vLLM's knobs (--gpu-memory-utilization, --block-size, --max-num-seqs, --max-num-batched-tokens, --target-concurrency) apply to `--engine vllm`; add it or drop them",
            ));
        }
        EngineArg::Hf if s.max_model_len.is_some() => {
            return Err(CliError::new(
                "`--max-model-len` is a serving engine's; add `--engine vllm`, `sglang` or `llama.cpp`, or drop it",
            ));
        }
        EngineArg::Hf | EngineArg::Sglang | EngineArg::LlamaCpp => return Ok(None),
        EngineArg::Vllm => {}
    }
    let Some(g) = gpu else {
        return Err(CliError::new(
            "`--engine vllm` sizes its KV cache from the GPU's memory; add `--gpu NAME` (see `estimator presets`)",
        ));
    };
    if let Some(n) = s.target_concurrency {
        positive(n, "target-concurrency")?;
    }
    let mut v = Vllm::new(c.cost(), "model", g.capacity)
        .weights(inf.weight_dtype())
        .tensor_parallel(tp);
    if let Some(b) = inf.stored() {
        v = v.stored_weights(b);
    }
    if let Some(kv) = s.kv_cache {
        v = v.kv_cache(dtype(kv));
    }
    let util = s.gpu_memory_utilization.unwrap_or_else(|| {
        assumed.push("gpu-memory-utilization 0.92".to_owned());
        0.92
    });
    v = v.gpu_memory_utilization_permille(permille(
        util,
        "gpu-memory-utilization",
        "the fraction of the GPU vLLM takes",
    )?);
    v = v.max_model_len(context(s, c, ("max-model-len", "max_model_len"), assumed)?);
    let large = g.capacity.get() >= 70 << 30;
    let block = positive(
        or_default(s.block_size, 16, "block-size", "16", assumed),
        "block-size",
    )?;
    let seqs = positive(
        or_default(
            s.max_num_seqs,
            if large { 1024 } else { 256 },
            "max-num-seqs",
            if large { "1024" } else { "256" },
            assumed,
        ),
        "max-num-seqs",
    )?;
    let tokens = positive(
        or_default(
            s.max_num_batched_tokens,
            if large { 8192 } else { 2048 },
            "max-num-batched-tokens",
            if large { "8192" } else { "2048" },
            assumed,
        ),
        "max-num-batched-tokens",
    )?;
    if let Some((layers, state, checkpoint)) = vllm_mamba(c, tp, inf.weight_dtype(), assumed)? {
        v = v.mamba(layers, state, checkpoint);
    }
    Ok(Some(
        v.block_size(block)
            .max_num_seqs(seqs)
            .max_num_batched_tokens(tokens),
    ))
}

/// One mixer's state per request on one GPU of `tp`, as vLLM 0.33 and SGLang 0.5.23 both
/// shape it (vLLM's `model_executor/layers/mamba/mamba_utils.py`, SGLang's
/// `configs/mamba_utils.py`): a conv state of `(k − 1)` rows of `conv_dim / tp` (`I` for
/// Mamba-1, `I + 2·G'·N` for Mamba-2, `G'` = `tp` when it does not divide the groups) in
/// `conv_bytes`, and an SSM state of `I/tp · N` (Mamba-2: `H/tp · P · N`) in `ssm_bytes`.
/// Both engines assert the divisions; `engine` names the one refusing a degree that does not
/// divide.
fn mamba_state(
    m: &estimator::config::Ssm,
    tp: u64,
    (conv_bytes, ssm_bytes): (u64, u64),
    engine: &str,
) -> Result<u64, CliError> {
    let divides = |n: u64| n.is_multiple_of(tp);
    let groups = if m.heads == 0 || divides(m.groups) {
        m.groups
    } else if tp > m.groups {
        tp
    } else {
        0
    };
    let (conv_dim, ssm) = if m.heads == 0 {
        (m.inner, m.inner / tp * m.state)
    } else {
        (
            m.inner + 2 * groups * m.state,
            m.heads / tp * m.head_dim * m.state,
        )
    };
    if (m.heads > 0 && (groups == 0 || !divides(m.heads))) || !divides(conv_dim) {
        return Err(CliError::new(format!(
            "{engine} splits the mixer's {conv_dim} conv channels (and Mamba-2's {} heads, {} groups) over tensor parallel {tp}, which does not divide them; use a degree that does",
            m.heads, m.groups
        )));
    }
    Ok(m.conv.saturating_sub(1) * (conv_dim / tp) * conv_bytes + ssm * ssm_bytes)
}

/// SGLang 0.5.23's state of one state-space layer per request ([`mamba_state`], conv in bf16,
/// the SSM state in fp32: `mamba2_state_dtype`'s defaults); it serves Mamba and Mamba-2
/// (`models/mamba.py`, `mamba2.py`), not Jamba or Bamba. `(layers, bytes)`.
fn sglang_mamba(
    c: &ModelConfig,
    tp: u64,
    assumed: &mut Vec<String>,
) -> Result<Option<(u64, u64)>, CliError> {
    let Some(m) = c.ssm else {
        return Ok(None);
    };
    if m.attention_layers > 0 {
        return Err(CliError::new(format!(
            "SGLang 0.5.23 has no model class for {} (it serves Mamba and Mamba-2, and hybrids such as Nemotron-H); price it with `--engine vllm` or `--engine hf`",
            c.model_type.name()
        )));
    }
    let state = mamba_state(&m, tp, (2, 4), "SGLang")?;
    assumed.push(
        "Mamba states: conv bf16, SSM fp32 (SGLang's defaults), mamba_full_memory_ratio 0.9, three state slots a request (radix cache on)"
            .to_owned(),
    );
    Ok(Some((c.num_layers, state)))
}

/// vLLM 0.33's state of one state-space layer per request ([`mamba_state`], both states in
/// the model dtype: `mamba_cache_dtype` and `mamba_ssm_cache_dtype` "auto"); `(layers, bytes,
/// Mamba-2's prefill checkpoint block)`. `None` without state-space layers.
fn vllm_mamba(
    c: &ModelConfig,
    tp: u64,
    weights: DType,
    assumed: &mut Vec<String>,
) -> Result<Option<(u64, u64, u64)>, CliError> {
    let Some(m) = c.ssm else {
        return Ok(None);
    };
    if c.model_type.name() == "bamba" {
        return Err(CliError::new(
            "vLLM 0.33 no longer serves BambaForCausalLM (supported until 0.23, `model_executor/models/registry.py`); price it with `--engine hf`",
        ));
    }
    let b = if matches!(weights, DType::F32) { 4 } else { 2 };
    let state = mamba_state(&m, tp, (b, b), "vLLM")?;
    let checkpoint = u64::from(m.heads > 0);
    let layers = c.num_layers.saturating_sub(m.attention_layers);
    assumed.push(if m.attention_layers > 0 {
        "Mamba states in the model dtype (mamba_cache_dtype auto), prefix caching on for a hybrid (mamba_cache_mode align)".to_owned()
    } else {
        "Mamba states in the model dtype (mamba_cache_dtype auto), prefix caching off for an attention-free model (a state a request)".to_owned()
    });
    Ok(Some((layers, state, checkpoint)))
}

/// Whether `engine` is `wanted`; an error (`refusal`) when it is not and that engine's knobs
/// were given.
fn engine_chosen(
    engine: EngineArg,
    wanted: EngineArg,
    knobs: bool,
    refusal: &str,
) -> Result<bool, CliError> {
    match (engine == wanted, knobs) {
        (true, _) => Ok(true),
        (false, true) => Err(CliError::new(refusal)),
        (false, false) => Ok(false),
    }
}

/// SGLang's startup for `--engine sglang` (on `--gpu`), with its knobs or their defaults
/// written down under `assumed:`; nothing for the other engines.
fn sglang_of(
    s: &Settings,
    c: &ModelConfig,
    gpu: Option<Gpu>,
    (inf, tp): (Inference, u64),
    engine: EngineArg,
    assumed: &mut Vec<String>,
) -> Result<Option<Sglang>, CliError> {
    let knobs = s.mem_fraction_static.is_some()
        || s.max_total_tokens.is_some()
        || s.chunked_prefill_size.is_some()
        || s.page_size.is_some();
    if !engine_chosen(
        engine,
        EngineArg::Sglang,
        knobs,
        "SGLang's knobs (--mem-fraction-static, --max-total-tokens, --chunked-prefill-size, --page-size) apply to `--engine sglang`; add it or drop them",
    )? {
        return Ok(None);
    }
    let Some(g) = gpu else {
        return Err(CliError::new(
            "`--engine sglang` sizes its KV pool from the GPU's memory; add `--gpu NAME` (see `estimator presets`)",
        ));
    };
    let mut v = Sglang::new(c.cost(), "model", g)
        .weights(inf.weight_dtype())
        .tensor_parallel(tp);
    if let Some((layers, state)) = sglang_mamba(c, tp, assumed)? {
        v = v.mamba(layers, state);
    }
    // SGLang's split sliding-window pool serves the architectures on its hybrid-SWA list
    // (`configs/model_config.py`, `is_hybrid_swa_model`: GptOssForCausalLM among ours)
    if c.model_type.name() == "gpt_oss" {
        v = v.split_sliding_window(800);
        assumed.push(
            "SGLang's split sliding-window pool, swa_full_tokens_ratio 0.8 (its default for gpt-oss)"
                .to_owned(),
        );
    }
    if let Some(b) = inf.stored() {
        v = v.stored_weights(b);
    }
    if let Some(kv) = s.kv_cache {
        v = v.kv_cache(dtype(kv));
    }
    assumed.push(
        "free memory before the weights: the GPU's less the CUDA context (SGLang measures it)"
            .to_owned(),
    );
    match s.mem_fraction_static {
        Some(f) => {
            v = v.mem_fraction_static_permille(permille(
                f,
                "mem-fraction-static",
                "the fraction of the free memory for the weights and the KV pool",
            )?);
        }
        None => assumed.push("mem-fraction-static from SGLang's reserve formula".to_owned()),
    }
    let len = context(s, c, ("context-length", "--context-length"), assumed)?;
    v = v.context_length(len);
    let page = positive(
        or_default(s.page_size, 1, "page-size", "1", assumed),
        "page-size",
    )?;
    v = v.page_size(page);
    if let Some(n) = s.chunked_prefill_size {
        v = v.chunked_prefill_size(positive(n, "chunked-prefill-size")?);
    }
    if let Some(n) = s.max_total_tokens {
        v = v.max_total_tokens(positive(n, "max-total-tokens")?);
    }
    Ok(Some(v))
}

/// A ggml type of the flags.
const fn ggml(t: GgmlArg) -> GgmlType {
    match t {
        GgmlArg::F32 => GgmlType::F32,
        GgmlArg::F16 => GgmlType::F16,
        GgmlArg::Bf16 => GgmlType::BF16,
        GgmlArg::Q8_0 => GgmlType::Q8_0,
        GgmlArg::Q4_0 => GgmlType::Q4_0,
        GgmlArg::Q4_1 => GgmlType::Q4_1,
        GgmlArg::Q5_0 => GgmlType::Q5_0,
        GgmlArg::Q5_1 => GgmlType::Q5_1,
        GgmlArg::Iq4Nl => GgmlType::Iq4Nl,
    }
}

/// llama.cpp's load for `--engine llama.cpp`, with its knobs or their defaults written down
/// under `assumed:`; nothing for the other engines.
fn llama_cpp_of(
    s: &Settings,
    (c, model): (&ModelConfig, &Model),
    inf: Inference,
    engine: EngineArg,
    assumed: &mut Vec<String>,
) -> Result<Option<LlamaCpp>, CliError> {
    let knobs = s.n_gpu_layers.is_some()
        || s.n_ubatch.is_some()
        || s.flash_attn.is_some()
        || s.cache_type_k.is_some()
        || s.cache_type_v.is_some();
    if !engine_chosen(
        engine,
        EngineArg::LlamaCpp,
        knobs,
        "llama.cpp's knobs (--n-gpu-layers, --n-ubatch, --flash-attn, --cache-type-k, --cache-type-v) apply to `--engine llama.cpp`; add it or drop them",
    )? {
        return Ok(None);
    }
    if s.kv_cache.is_some() {
        return Err(CliError::new(
            "llama.cpp's KV cache types are `--cache-type-k` and `--cache-type-v` (f16, q8_0, q4_0 …); use them instead of `--kv-cache`",
        ));
    }
    if model.stored.is_some() {
        return Err(CliError::new(
            "llama.cpp loads GGUF files; give the model's .gguf with --model (or convert the checkpoint with llama.cpp's convert_hf_to_gguf.py)",
        ));
    }
    if model.gguf.is_some() && s.weights.is_some() {
        return Err(CliError::new(
            "the GGUF file gives every tensor's type; drop `--weights`",
        ));
    }
    let weights = match inf.weight_dtype() {
        _ if model.gguf.is_some() => GgmlType::F16,
        DType::BF16 => GgmlType::BF16,
        DType::F16 => GgmlType::F16,
        DType::F32 => GgmlType::F32,
        DType::I8 => {
            assumed.push("weights int8 as llama.cpp's q8_0 (34 bytes a block of 32)".to_owned());
            GgmlType::Q8_0
        }
        other => {
            return Err(CliError::new(format!(
                "`--weights {}` under llama.cpp: its quantized files (Q4_0, Q4_K_M …) give some tensors other types (the head, every few layers' down projections), which only the GGUF file's tensor list says; use --weights bf16, fp16, fp32 or int8 (q8_0)",
                other.name()
            )));
        }
    };
    let n_ctx = context(s, c, ("n-ctx", "-c"), assumed)?;
    let mut v = LlamaCpp::new(c.cost(), "model")
        .n_ctx(n_ctx)
        .weights(weights);
    match s.n_gpu_layers {
        Some(n) => v = v.n_gpu_layers(n),
        None => {
            assumed.push("n-gpu-layers all (llama.cpp's auto, when --fit finds room)".to_owned());
        }
    }
    let ub = positive(
        or_default(s.n_ubatch, 512, "n-ubatch", "512", assumed),
        "n-ubatch",
    )?;
    let fa = or_default(
        s.flash_attn,
        OnOff::On,
        "flash-attn",
        "on (llama.cpp's auto, on a GPU that has it)",
        assumed,
    ) == OnOff::On;
    let k = or_default(s.cache_type_k, GgmlArg::F16, "cache-type-k", "f16", assumed);
    let vt = or_default(s.cache_type_v, GgmlArg::F16, "cache-type-v", "f16", assumed);
    if !fa && !matches!(vt, GgmlArg::F16 | GgmlArg::F32 | GgmlArg::Bf16) {
        return Err(CliError::new(
            "llama.cpp refuses a quantized V cache without flash attention; drop `--flash-attn off` or use `--cache-type-v f16`",
        ));
    }
    let mut plan = v
        .n_ubatch(ub)
        .flash_attention(fa)
        .cache_types(ggml(k), ggml(vt));
    // a GGUF file: its tensors' own bytes, placed as llama.cpp places them
    if let Some(g) = &model.gguf {
        let layers = c.num_layers;
        let ngl = s.n_gpu_layers.unwrap_or(layers + 1);
        assumed.push(format!("weights from the GGUF file ({})", g.types()));
        let (gpu, host) = g.split(layers, ngl);
        plan = plan.stored_weights(Bytes::new(gpu), Bytes::new(host));
    }
    Ok(Some(plan))
}

/// A note when `tokens` run past the context a rotary or relative-position model was trained
/// for (`max_position_embeddings`): nothing bounds the memory there, but the model's quality
/// is not assured (rope scaling, …). Learned tables refuse such plans outright.
fn past_context(c: &ModelConfig, tokens: u64, notes: &mut Vec<String>) {
    // rotary, or relative positions (DeBERTa-v3 has no absolute table)
    let unbounded = matches!(c.positions, Positions::Rotary { .. })
        || c.encoder
            .is_some_and(|e| e.deberta.is_some_and(|d| !d.absolute));
    if unbounded && c.max_positions > 0 && tokens > c.max_positions {
        notes.push(format!(
            "{tokens} tokens is past the {} positions the model was trained for (max_position_embeddings); the memory is estimated, the quality is not assured",
            c.max_positions
        ));
    }
}

fn attention(a: AttentionArg) -> AttentionKernel {
    match a {
        AttentionArg::Flash => AttentionKernel::Flash,
        AttentionArg::Eager => AttentionKernel::Eager,
        AttentionArg::Math => AttentionKernel::Math,
    }
}
