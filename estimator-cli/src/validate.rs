//! `estimator validate`: estimate every measured case with the settings it records and compare,
//! part by part (the format of `shared/reference/memory.json`).

use std::fmt::Write as _;

use estimator::config::{ModelConfig, clip};
use estimator::{
    AttentionKernel, DType, Device, Inference, Logits, Memory, Optimizer, OptimizerImpl, Phase,
    Precision, Training,
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
    let mut worst: (f64, String) = (0.0, String::new());
    for (name, case) in cases {
        let rows = compare(name, case, device)?;
        let _ = writeln!(out, "{name}");
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
    let _ = writeln!(
        out,
        "validate: {} cases, {within} within tolerance, worst {} {:+.2}%",
        cases.len(),
        worst.1,
        100.0 * worst.0
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

/// The optimizer a case names (`torch.optim.AdamW(...)`) and how its step runs (`fused=True`,
/// `foreach=…`; CUDA's default is foreach).
fn optimizer_of(inputs: &Value, device: Device) -> (Optimizer, OptimizerImpl) {
    let optimizer = text(inputs, "/optimizer");
    let optimizer = if optimizer.contains("AdamW") {
        Optimizer::AdamW
    } else if optimizer.contains("Adam") {
        Optimizer::Adam
    } else if optimizer.contains("SGD") {
        Optimizer::SgdMomentum
    } else {
        Optimizer::AdamW
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
    (optimizer, optimizer_impl)
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
    let cost = config.cost();
    let precision = match text(inputs, "/precision") {
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
    let (optimizer, optimizer_impl) = optimizer_of(inputs, device);
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
        .device(device);
    let step = t
        .checked_at(Phase::OptimizerStep)
        .map_err(|e| in_case(name, e))?;
    let forward = t.checked_at(Phase::Forward).map_err(|e| in_case(name, e))?;
    let peak: Memory = t.checked_estimate().map_err(|e| in_case(name, e))?;
    // saved for backward: activations, the loss's fp32 log-softmax, autocast's copies
    let log_softmax = batch
        .checked_mul(seq)
        .and_then(|n| n.checked_mul(cost.output))
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
    // measure.py's loop calls the model on the whole prompt: every token's logits
    let inf = Inference::new(cost, "case")
        .logits(Logits::Prompt)
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
