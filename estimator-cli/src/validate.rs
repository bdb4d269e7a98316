//! `estimator validate`: estimate every measured case with the settings it records and compare,
//! part by part (the format of `shared/reference/memory.json`).

use std::fmt::Write as _;

use estimator::config::{Lora, ModelConfig, clip};
use estimator::{
    AttentionKernel, DType, Device, Inference, Logits, Loss, Memory, Optimizer, OptimizerImpl,
    Phase, Precision, Recompute, Training,
};
use serde_json::{Map, Value};

use crate::CliError;
use crate::args::ValidateArgs;
use crate::plan::estimate_error;
use crate::report::grouped;

/// The largest measurements file read: the bundled ones are under 256 KiB.
const MAX_FILE_BYTES: u64 = 64 << 20;

/// One compared part: its name, the estimate and the measurement.
struct Row {
    part: &'static str,
    estimate: u64,
    measured: u64,
}

impl Row {
    #[allow(
        clippy::cast_precision_loss,
        reason = "a relative error, for display and comparison"
    )]
    fn error(&self) -> f64 {
        if self.measured == 0 {
            if self.estimate == 0 {
                0.0
            } else {
                f64::INFINITY
            }
        } else {
            (self.estimate as f64 - self.measured as f64) / self.measured as f64
        }
    }
}

/// The output and whether every case is within the tolerance.
pub(crate) fn validate(args: &ValidateArgs) -> Result<(String, bool), CliError> {
    let shown = args.file.display();
    if !(args.tolerance.is_finite() && args.tolerance >= 0.0) {
        return Err(CliError::new(format!(
            "`--tolerance` must be a non-negative number such as 0.10, got {}",
            args.tolerance
        )));
    }
    let text = crate::read_bounded(&args.file, MAX_FILE_BYTES, "a measurements file")?;
    compare_all(&text, &shown.to_string(), args.tolerance)
}

/// [`validate`] of a file's text, `shown` naming it.
pub(crate) fn compare_all(
    text: &str,
    shown: &str,
    tolerance: f64,
) -> Result<(String, bool), CliError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let root: Value = serde_json::from_str(text)
        .map_err(|e| CliError::new(format!("`{shown}` is not valid JSON ({e})")))?;
    let cases = root
        .get("cases")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            CliError::new(format!(
                "`{shown}` has no `cases` object; see shared/reference/README.md for the format"
            ))
        })?;
    if cases.is_empty() {
        return Err(CliError::new(format!("`{shown}` has no cases")));
    }
    let device = match root.pointer("/_meta/device").and_then(Value::as_str) {
        Some("cpu") => Device::Cpu,
        _ => Device::Cuda,
    };
    let mut out = String::new();
    let mut within = 0;
    let mut refused = 0;
    let mut worst: (f64, String) = (0.0, String::new());
    for (name, case) in cases {
        let _ = writeln!(out, "{}", estimator::config::clip_to(name, 200));
        let rows = match compare(name, case, device) {
            Ok(rows) => rows,
            Err(e) => {
                // one case the estimate cannot express does not stop the others
                let _ = writeln!(out, "  refused: {e}");
                refused += 1;
                continue;
            }
        };
        let mut ok = true;
        for r in &rows {
            let e = r.error();
            let mark = if e.abs() <= tolerance {
                ""
            } else {
                "  OUTSIDE"
            };
            ok &= e.abs() <= tolerance;
            let _ = writeln!(
                out,
                "  {:<12} estimate {:>15}  measured {:>15}  {:>+8.2}%{mark}",
                r.part,
                grouped(r.estimate),
                grouped(r.measured),
                100.0 * e
            );
            if e.abs() > worst.0.abs() || worst.1.is_empty() {
                worst = (e, format!("{name} {}", r.part));
            }
        }
        within += usize::from(ok);
    }
    let worst = if worst.1.is_empty() {
        "none compared".to_owned()
    } else {
        format!("worst {} {:+.2}%", worst.1, 100.0 * worst.0)
    };
    let refused = if refused > 0 {
        format!(", {refused} refused")
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "validate: {} cases, {within} within tolerance{refused}, {worst}",
        cases.len(),
    );
    Ok((out, within == cases.len()))
}

/// An estimate's error, naming the case.
fn in_case(case: &str, e: estimator::EstimateError) -> CliError {
    CliError::new(format!("case `{}`: {}", clip(case), estimate_error(e)))
}

/// An inference case's weight dtype (`inputs.dtype`; fp32 when absent, as measure.py runs).
fn weights_of(inputs: &Value) -> DType {
    match text(inputs, "/dtype") {
        "bf16" => DType::BF16,
        "fp16" => DType::F16,
        _ => DType::F32,
    }
}

/// `a + b` of measured or estimated bytes, an error naming the case when it exceeds `u64`.
fn sum(case: &str, a: u64, b: u64) -> Result<u64, CliError> {
    a.checked_add(b).ok_or_else(|| {
        CliError::new(format!(
            "case `{}`: the measured sizes add up past u64 bytes; check the file",
            clip(case)
        ))
    })
}

fn count(v: &Value, pointer: &str, case: &str) -> Result<u64, CliError> {
    v.pointer(pointer).and_then(Value::as_u64).ok_or_else(|| {
        CliError::new(format!(
            "case `{case}`: `{}` is missing or not a count",
            pointer.trim_start_matches('/').replace('/', ".")
        ))
    })
}

/// An encoder–decoder case's source length (`inputs.source_len`: encoder positions), 0 for
/// the other cases.
fn source_of(inputs: &Value, case: &str) -> Result<u64, CliError> {
    match inputs.get("source_len") {
        None => Ok(0),
        Some(_) => count(inputs, "/source_len", case),
    }
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The model of a case: its `config_kwargs`, with the `model_type` named by the case's model
/// when the kwargs leave it out.
fn model_of(name: &str, inputs: &Value) -> Result<ModelConfig, CliError> {
    let mut kwargs: Map<String, Value> = inputs
        .get("config_kwargs")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| CliError::new(format!("case `{name}`: no `inputs.config_kwargs`")))?;
    if !kwargs.contains_key("model_type") {
        let model = text(inputs, "/model").to_ascii_lowercase();
        let guess = ModelType::guess(&model).ok_or_else(|| {
            CliError::new(format!(
                "case `{name}`: cannot tell the model_type of `{model}`; add `model_type` to its config_kwargs"
            ))
        })?;
        kwargs.insert("model_type".to_owned(), Value::String(guess.to_owned()));
    }
    let mut config = ModelConfig::from_json(&Value::Object(kwargs).to_string())
        .map_err(|e| CliError::new(format!("case `{name}`: {e}")))?;
    // measured on CPU: transformers' PyTorch path of the state-space mixers
    if let Some(ssm) = config.ssm.as_mut() {
        ssm.kernels = false;
    }
    Ok(config)
}

/// The `model_type` a model's name suggests.
struct ModelType;

impl ModelType {
    fn guess(model: &str) -> Option<&'static str> {
        // the longest name that the model's name contains (`qwen2_moe` before `qwen2`)
        estimator::config::families::ALL
            .iter()
            .map(|f| f.name)
            .filter(|t| model.contains(t))
            .max_by_key(|t| t.len())
    }
}

/// The attention kernel a case's settings take: on CPU, SDPA runs the math path with dropout,
/// and when the query/key heads are wider than the value heads (latent attention), which its
/// flash kernel does not take.
fn kernel(attn: &str, config: &ModelConfig, dropout: bool, device: Device) -> AttentionKernel {
    let unequal = config
        .attention
        .mla
        .is_some_and(|m| m.qk_nope_head_dim + m.qk_rope_head_dim != m.v_head_dim);
    match (attn, dropout || unequal, device) {
        ("sdpa", true, Device::Cpu) => AttentionKernel::Math,
        ("eager", _, _) => AttentionKernel::Eager,
        _ => AttentionKernel::Flash,
    }
}

/// One case of the file, with what estimating it needs.
struct Case<'a> {
    name: &'a str,
    inputs: &'a Value,
    m: &'a Value,
    config: ModelConfig,
    attn: &'a str,
    device: Device,
}

fn compare(name: &str, case: &Value, device: Device) -> Result<Vec<Row>, CliError> {
    let inputs = case
        .get("inputs")
        .ok_or_else(|| CliError::new(format!("case `{name}`: no `inputs`")))?;
    let m = case
        .get("measured")
        .ok_or_else(|| CliError::new(format!("case `{name}`: no `measured`")))?;
    unread(name, inputs)?;
    let c = Case {
        name,
        inputs,
        m,
        config: model_of(name, inputs)?,
        attn: text(inputs, "/attn_implementation"),
        device,
    };
    match text(case, "/kind") {
        "training_step" => training(&c),
        "inference_kv_cache" | "inference_seq2seq" => inference(&c),
        "inference_forward" => forward(&c),
        other => Err(CliError::new(format!(
            "case `{name}`: unknown kind `{other}`; expected training_step, inference_kv_cache, inference_seq2seq or inference_forward"
        ))),
    }
}

/// The `inputs` keys validate reads: the model, the shapes, the precision and kernel, the
/// optimizer, the training settings (see [`settings_of`]) and the generation's.
const READ: &[&str] = &[
    "model",
    "config_kwargs",
    "batch",
    "seq",
    "source_len",
    "precision",
    "attn_implementation",
    "optimizer",
    "optimizer_impl",
    "optimizer_name",
    "gradient_accumulation_steps",
    "zero_grad",
    "gradient_checkpointing",
    "lora",
    "loss",
    "enable_input_require_grads",
    "iterations",
    "use_cache",
    "smoke_shapes",
    "prompt_len",
    "decode_forward_calls",
    "dtype",
    "logits_to_keep",
    "generation_api",
];

/// `inputs` keys that record provenance and change nothing validate estimates: the parameter
/// counts and dtypes PyTorch reported, thread counts, the loop's description, the effective
/// dropout (the config holds it), Whisper's mel frames (twice `source_len`), and the CUDA
/// script's additions (`shared/cuda/README.md`).
const DESCRIPTIVE: &[&str] = &[
    "params",
    "labels",
    "loop",
    "model_mode",
    "torch_threads",
    "tokens_generated",
    "mel_frames",
    "device",
    "model_class",
    "optimizer_impl_resolved",
    "dropout",
    "instruments",
    "trainable_params",
    "param_numel_by_dtype",
    "gradient_checkpointing_info",
    "cache_class",
    "cache_kwarg",
    "trl_version",
];

/// Refuses a case that records a setting validate does not read: estimating it without the
/// setting would report the estimator's error for what is the file's.
fn unread(name: &str, inputs: &Value) -> Result<(), CliError> {
    let Some(keys) = inputs.as_object() else {
        return Err(CliError::new(format!(
            "case `{}`: `inputs` is not an object",
            clip(name)
        )));
    };
    if let Some(key) = keys
        .keys()
        .find(|k| !READ.contains(&k.as_str()) && !DESCRIPTIVE.contains(&k.as_str()))
    {
        return Err(CliError::new(format!(
            "case `{}`: `inputs.{}` is a setting validate does not read (docs/reference.md lists those it does); estimating the case without it would not be comparing like with like",
            clip(name),
            clip(key)
        )));
    }
    if inputs.get("smoke_shapes").and_then(Value::as_bool) == Some(true) {
        return Err(CliError::new(format!(
            "case `{}`: a smoke run (`smoke_shapes`: its shapes were shrunk), never validated",
            clip(name)
        )));
    }
    Ok(())
}

/// The optimizer a case names — `optimizer_name` (the CUDA script's `adamw`, `sgd_momentum`,
/// `adafactor`), else the description in `optimizer` (`torch.optim.AdamW(...)`,
/// `torch.optim.SGD(lr=…, momentum=…)`, `transformers.optimization.Adafactor(…, beta1=…)`) —
/// and how its step runs (`fused=True`, `foreach=True`, else PyTorch's default for the device:
/// foreach on CUDA, the single-tensor loop on CPU).
fn optimizer_of(
    name: &str,
    inputs: &Value,
    device: Device,
) -> Result<(Optimizer, OptimizerImpl), CliError> {
    let described = text(inputs, "/optimizer");
    let optimizer = match text(inputs, "/optimizer_name") {
        "adamw" => Optimizer::AdamW,
        "sgd_momentum" => Optimizer::SgdMomentum,
        "adafactor" => Optimizer::Adafactor,
        "" if described.is_empty() => {
            return Err(CliError::new(format!(
                "case `{}`: no `optimizer` (or `optimizer_name`): the optimizer's state is part of the step, so the case must say which ran",
                clip(name)
            )));
        }
        "" => optimizer_described(described).ok_or_else(|| {
            CliError::new(format!(
                "case `{}`: optimizer `{}` is not one validate reads; it reads torch.optim.AdamW, Adam and SGD (with or without momentum), transformers' Adafactor (with or without beta1) and bitsandbytes' AdamW8bit",
                clip(name),
                clip(described)
            ))
        })?,
        other => {
            return Err(CliError::new(format!(
                "case `{}`: unknown `optimizer_name` `{}`; expected adamw, sgd_momentum or adafactor",
                clip(name),
                clip(other)
            )));
        }
    };
    let implementation = text(inputs, "/optimizer_impl");
    let optimizer_impl = if implementation.contains("fused=True") {
        OptimizerImpl::Fused
    } else if implementation.contains("foreach=True")
        || (device == Device::Cuda && !implementation.contains("foreach=False"))
    {
        OptimizerImpl::Foreach
    } else {
        OptimizerImpl::SingleTensor
    };
    Ok((optimizer, optimizer_impl))
}

/// The optimizer a description names: its class, and the arguments that change its state
/// (SGD's `momentum`, Adafactor's `beta1`); `None` for one the estimate does not price.
fn optimizer_described(d: &str) -> Option<Optimizer> {
    // an argument's value as written: `momentum=0.9`, `beta1=None`
    let arg = |key: &str| {
        d.split(['(', ',', ')', ' '])
            .find_map(|a| a.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or("")
    };
    let set = |v: &str| !v.is_empty() && v != "None" && v.parse::<f64>() != Ok(0.0);
    // the class: `torch.optim.AdamW(lr=1e-4) defaults` → `AdamW`
    let class = d.split('(').next().unwrap_or("").trim();
    match class.rsplit('.').next().unwrap_or("") {
        // AMSGrad keeps a third state, `max_exp_avg_sq`, the estimate does not price
        "AdamW" | "Adam" if arg("amsgrad") == "True" => None,
        "AdamW" => Some(Optimizer::AdamW),
        "Adam" => Some(Optimizer::Adam),
        "AdamW8bit" => Some(Optimizer::AdamW8bit),
        "SGD" if set(arg("momentum")) => Some(Optimizer::SgdMomentum),
        "SGD" => Some(Optimizer::Sgd),
        "Adafactor" if set(arg("beta1")) => Some(Optimizer::AdafactorMomentum),
        "Adafactor" => Some(Optimizer::Adafactor),
        _ => None,
    }
}

/// The training settings a case records, as the estimate takes them.
struct Settings {
    /// `gradient_accumulation_steps` (1 when absent); `zero_grad` `set_to_none=False` keeps the
    /// gradients alive the same way, which the estimate prices as accumulation over 2.
    accumulation: u64,
    /// `gradient_checkpointing`: transformers checkpoints every decoder layer.
    recompute: Recompute,
    /// `lora`: peft's `r` and `target_modules` (its `alpha` scales, allocating nothing).
    lora: Option<Lora>,
    /// `loss`: `logits` (the default) or `trl_fused_lm_head` (TRL's `add_fused_lm_head`).
    loss: Loss,
}

/// Reads a training case's settings, or refuses the case naming the one it cannot express.
fn settings_of(name: &str, inputs: &Value, config: &ModelConfig) -> Result<Settings, CliError> {
    let refuse = |what: String| CliError::new(format!("case `{}`: {what}", clip(name)));
    let mut accumulation = match inputs.get("gradient_accumulation_steps") {
        None => 1,
        Some(_) => count(inputs, "/gradient_accumulation_steps", name)?,
    };
    if accumulation == 0 {
        return Err(refuse(
            "`gradient_accumulation_steps` is 0; it counts micro-batches, at least 1".to_owned(),
        ));
    }
    match text(inputs, "/zero_grad") {
        "" | "set_to_none=True" => {}
        // the gradients stay allocated (zeroed) through the next forward, as between
        // accumulated micro-batches
        "set_to_none=False" => accumulation = accumulation.max(2),
        other => {
            return Err(refuse(format!(
                "unknown `zero_grad` `{}`; expected set_to_none=True or set_to_none=False",
                clip(other)
            )));
        }
    }
    match inputs.get("iterations").map(Value::as_u64) {
        None | Some(Some(2..)) => {}
        Some(_) => return Err(refuse("fewer than 2 `iterations`: the estimate is a steady step, with the optimizer's state allocated before the forward".to_owned())),
    }
    if inputs.get("use_cache").and_then(Value::as_bool) == Some(true) {
        return Err(refuse(
            "`use_cache` true in training: the estimate prices no KV cache in a training step"
                .to_owned(),
        ));
    }
    let recompute = match inputs.get("gradient_checkpointing") {
        None | Some(Value::Bool(false)) => Recompute::None,
        Some(Value::Bool(true)) => Recompute::Full,
        Some(_) => {
            return Err(refuse(
                "`gradient_checkpointing` is not true or false".to_owned(),
            ));
        }
    };
    let lora = match inputs.get("lora") {
        None | Some(Value::Null) => None,
        Some(l) => Some(lora_of(name, l, config)?),
    };
    let loss = match text(inputs, "/loss") {
        "" | "logits" => Loss::Logits,
        "trl_fused_lm_head" => Loss::Chunked,
        other => {
            return Err(refuse(format!(
                "unknown `loss` `{}`; expected logits or trl_fused_lm_head",
                clip(other)
            )));
        }
    };
    Ok(Settings {
        accumulation,
        recompute,
        lora,
        loss,
    })
}

/// A case's `lora` object (`r`, `target_modules`, `dropout`, and the CUDA script's provenance
/// keys) as the estimate's LoRA, or a refusal naming what it cannot express.
fn lora_of(name: &str, l: &Value, config: &ModelConfig) -> Result<Lora, CliError> {
    let refuse = |what: &str| CliError::new(format!("case `{}`: LoRA {what}", clip(name)));
    let rank = count(l, "/r", name)?;
    let targets: Vec<String> = l
        .get("target_modules")
        .and_then(Value::as_array)
        .and_then(|t| t.iter().map(|n| n.as_str().map(str::to_owned)).collect())
        .ok_or_else(|| refuse("without a `target_modules` list of names"))?;
    if l.get("dropout")
        .and_then(Value::as_f64)
        .is_some_and(|p| p != 0.0)
    {
        return Err(refuse(
            "with dropout: peft's lora_dropout keeps a dropped copy of every adapted input, which the estimate does not price",
        ));
    }
    if !matches!(text(l, "/bias"), "" | "none") {
        return Err(refuse("with trained biases (`bias` other than none)"));
    }
    // a 16-bit base is read in `training` (with its precision); adapters other than peft's
    // fp32 default are not
    if !matches!(
        text(l, "/base_dtype"),
        "" | "float32" | "bfloat16" | "float16"
    ) {
        return Err(refuse(
            "on a base in a dtype other than float32, bfloat16 or float16",
        ));
    }
    let adapters = l.get("adapter_dtypes").and_then(Value::as_array);
    if adapters.is_some_and(|a| a.iter().any(|d| d.as_str() != Some("float32"))) {
        return Err(refuse(
            "with adapters other than fp32 (peft's default, `autocast_adapter_dtype=True`)",
        ));
    }
    if rank == 0 {
        return Err(refuse("of rank 0"));
    }
    crate::plan::lora_targets(config, rank, &targets)
        .map_err(|e| CliError::new(format!("case `{}`: {e}", clip(name))))
}

/// A training case's precision, and whether it is LoRA on a 16-bit base (the model loaded in
/// bf16, peft's adapters fp32) under autocast: the base and its activations as in pure 16 bits,
/// the adapters fp32.
fn precision_of(name: &str, inputs: &Value) -> Result<(Precision, bool), CliError> {
    let precision = text(inputs, "/precision");
    match (text(inputs, "/lora/base_dtype"), precision) {
        ("bfloat16", "bf16_autocast") => return Ok((Precision::Pure(DType::BF16), true)),
        ("float16", "fp16_autocast") => return Ok((Precision::Pure(DType::F16), true)),
        ("" | "float32", _) => {}
        (base, _) => {
            return Err(CliError::new(format!(
                "case `{name}`: a LoRA base in {} under `{}`: the estimate reads a 16-bit base under autocast in the same type",
                clip(base),
                clip(precision)
            )));
        }
    }
    let precision = match precision {
        "fp32" => Precision::Fp32,
        "bf16_autocast" => Precision::Autocast(DType::BF16),
        "fp16_autocast" => Precision::Autocast(DType::F16),
        "bf16_pure" => Precision::Pure(DType::BF16),
        "fp16_pure" => Precision::Pure(DType::F16),
        other => {
            return Err(CliError::new(format!(
                "case `{name}`: unknown precision `{other}`; expected fp32, bf16_autocast, bf16_pure"
            )));
        }
    };
    Ok((precision, false))
}

/// A training step: weights, gradients and optimizer state exactly, saved activations, peak.
fn training(c: &Case<'_>) -> Result<Vec<Row>, CliError> {
    let Case {
        name,
        inputs,
        m,
        config,
        attn,
        device,
    } = *c;
    let settings = settings_of(name, inputs, &config)?;
    let cost = config.architecture(settings.lora).cost();
    let (precision, base16) = precision_of(name, inputs)?;
    let (optimizer, optimizer_impl) = optimizer_of(name, inputs, device)?;
    let batch = count(inputs, "/batch", name)?;
    let seq = count(inputs, "/seq", name)?;
    let t = Training::new(cost, "case")
        .batch(batch)
        .seq(seq)
        .source(source_of(inputs, name)?)
        .precision(precision)
        .optimizer(optimizer)
        .optimizer_impl(optimizer_impl)
        .attention(kernel(attn, &config, config.attention_dropout(), device))
        .dropout(config.dropout)
        .device(device)
        .recompute(settings.recompute)
        .grad_accumulation(settings.accumulation)
        .loss(settings.loss);
    let t = if base16 {
        t.trainable_dtype(DType::F32)
    } else {
        t
    };
    let step = t
        .checked_at(Phase::OptimizerStep)
        .map_err(|e| in_case(name, e))?;
    let forward = t.checked_at(Phase::Forward).map_err(|e| in_case(name, e))?;
    let peak: Memory = t.checked_estimate().map_err(|e| in_case(name, e))?;
    // saved for backward: activations, the loss's fp32 log-softmax (TRL's fused head keeps
    // none: its saves are among the activations), autocast's copies
    let vocab = match settings.loss {
        Loss::Logits => cost.output,
        Loss::Chunked => 0,
    };
    let log_softmax = batch
        .checked_mul(seq)
        .and_then(|n| n.checked_mul(vocab))
        .and_then(|n| n.checked_mul(4))
        .ok_or_else(|| in_case(name, estimator::EstimateError::Overflow))?;
    let saved = m.pointer("/saved_for_backward_last_iter/by_kind");
    let measured_saved = match saved {
        None => None,
        Some(s) => {
            let kind = |k: &str| s.get(k).and_then(Value::as_u64).unwrap_or(0);
            Some(sum(name, kind("activation"), kind("param_cast_copy"))?)
        }
    };
    let mut rows = vec![
        Row {
            part: "weights",
            estimate: step.weights.get(),
            measured: sum(
                name,
                count(m, "/parameter_bytes", name)?,
                m.get("buffer_bytes").and_then(Value::as_u64).unwrap_or(0),
            )?,
        },
        Row {
            part: "gradients",
            estimate: step.gradients.get(),
            measured: count(m, "/gradient_bytes", name)?,
        },
        Row {
            part: "optimizer",
            estimate: step.optimizer.get(),
            measured: count(m, "/optimizer_state_bytes", name)?,
        },
    ];
    if let Some(measured) = measured_saved {
        rows.push(Row {
            part: "activations",
            estimate: sum(
                name,
                sum(name, forward.activations.get(), log_softmax)?,
                forward.temporaries.get(),
            )?,
            measured,
        });
    }
    rows.push(Row {
        part: "peak",
        estimate: peak.total().get(),
        measured: count(m, "/memtracker_peak_bytes", name)?,
    });
    Ok(rows)
}

/// The prefill's logits a generation case computes: every prompt token's (measure.py's loop
/// calls the model on the whole prompt, the default) or the last one's (`generation_api`
/// `generate`, or `logits_to_keep` 1, as `generate()` asks the model for).
fn logits_of(name: &str, inputs: &Value) -> Result<Logits, CliError> {
    let refuse = |what: String| CliError::new(format!("case `{}`: {what}", clip(name)));
    let keep = match inputs.get("logits_to_keep") {
        None => None,
        Some(v) => match v.as_u64() {
            Some(0) => Some(Logits::Prompt),
            Some(1) => Some(Logits::Last),
            _ => {
                return Err(refuse(format!(
                    "`logits_to_keep` {}: the estimate prices all the prompt's logits (0) or the last token's (1)",
                    clip(&v.to_string())
                )));
            }
        },
    };
    let api = match text(inputs, "/generation_api") {
        "" => None,
        "forward" => Some(Logits::Prompt),
        "generate" => Some(Logits::Last),
        other => {
            return Err(refuse(format!(
                "unknown `generation_api` `{}`; expected forward (the model called on the whole prompt) or generate",
                clip(other)
            )));
        }
    };
    match (keep, api) {
        (Some(a), Some(b)) if a != b => Err(refuse(
            "`logits_to_keep` and `generation_api` disagree on the prefill's logits".to_owned(),
        )),
        (k, a) => Ok(k.or(a).unwrap_or(Logits::Prompt)),
    }
}

/// One forward pass without generation (an encoder's inference): the peak.
fn forward(c: &Case<'_>) -> Result<Vec<Row>, CliError> {
    let Case {
        name,
        inputs,
        m,
        config,
        attn,
        device,
    } = *c;
    let weights = weights_of(inputs);
    let inf = Inference::new(config.cost(), "case")
        .source(source_of(inputs, name)?)
        .batch(count(inputs, "/batch", name)?)
        .prompt(count(inputs, "/prompt_len", name)?)
        .generate(0)
        .weights(weights)
        .attention(kernel(attn, &config, false, device));
    let peak = inf.checked_estimate().map_err(|e| in_case(name, e))?;
    Ok(vec![Row {
        part: "peak",
        estimate: peak.total().get(),
        measured: count(m, "/memtracker_peak_bytes", name)?,
    }])
}

/// Generation: the final KV cache, the peak.
fn inference(c: &Case<'_>) -> Result<Vec<Row>, CliError> {
    let Case {
        name,
        inputs,
        m,
        config,
        attn,
        device,
    } = *c;
    let cost = config.cost();
    let prompt = count(inputs, "/prompt_len", name)?;
    // the decode steps, or (older files) the cache's final length less the prompt
    let cached = match inputs.get("decode_forward_calls").and_then(Value::as_u64) {
        Some(steps) => prompt.saturating_add(steps),
        None => count(m, "/kv_cache_final_len", name)?,
    };
    let weights = weights_of(inputs);
    let inf = Inference::new(cost, "case")
        .logits(logits_of(name, inputs)?)
        .source(source_of(inputs, name)?)
        .batch(count(inputs, "/batch", name)?)
        .prompt(prompt)
        .generate(cached.saturating_sub(prompt))
        .weights(weights)
        .attention(kernel(attn, &config, false, device));
    let decode = inf
        .checked_at(Phase::Decode)
        .map_err(|e| in_case(name, e))?;
    let peak = inf.checked_estimate().map_err(|e| in_case(name, e))?;
    Ok(vec![
        Row {
            part: "kv_cache",
            estimate: decode.kv_cache.get(),
            // an encoder–decoder's cache holds the cross-attention's keys and values too, a
            // state-space model's its convolution and recurrent states
            measured: [
                "cross_kv_cache_bytes",
                "conv_state_bytes",
                "ssm_state_bytes",
            ]
            .iter()
            .try_fold(count(m, "/kv_cache_bytes_final", name)?, |acc, k| {
                sum(name, acc, m.get(*k).and_then(Value::as_u64).unwrap_or(0))
            })?,
        },
        Row {
            part: "peak",
            estimate: peak.total().get(),
            measured: count(m, "/memtracker_peak_bytes", name)?,
        },
    ])
}
