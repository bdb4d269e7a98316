//! Reading a Hugging Face `config.json` into a [`ModelConfig`], with errors that name the key.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde_json::{Map, Value};

use super::families::{
    DenseRule, Dim, Family, Flag, MoeRule, PositionRule, Refuse, Seq2SeqRule, SharedRule,
    SlidingRule, SsmRule, VisionRule,
};
use super::{
    Act, Attention, Deberta, Encoder, Head, Layout, Mla, Mlp, ModelConfig, ModelType, Moe, Norm,
    Positions, Pretraining, QkNorm, ScoreCorrection, Seq2Seq, Ssm, Vision,
};

/// What is wrong with a `config.json`: one line that names the key and says what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    message: String,
}

impl ConfigError {
    fn new(message: impl Into<String>) -> ConfigError {
        ConfigError {
            message: message.into(),
        }
    }

    /// The message, without the file name.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The keys of one config object, read with Hugging Face's defaults.
struct Keys<'a> {
    map: &'a Map<String, Value>,
}

impl Keys<'_> {
    /// The first of `keys` present and not null.
    fn first(&self, keys: &[&'static str]) -> Option<(&'static str, &Value)> {
        keys.iter().find_map(|k| match self.map.get(*k) {
            None | Some(Value::Null) => None,
            Some(v) => Some((*k, v)),
        })
    }

    /// A required positive integer under the first of `keys`.
    fn dim(&self, keys: &[&'static str]) -> Result<u64, ConfigError> {
        match self.first(keys) {
            Some((k, v)) => positive(k, v),
            None => Err(ConfigError::new(format!(
                "missing key `{}`; add it (a positive integer) to the config",
                keys.first().copied().unwrap_or("?")
            ))),
        }
    }

    /// An optional positive integer under the first of `keys`, `default` when none is present.
    fn dim_or(&self, keys: &[&'static str], default: u64) -> Result<u64, ConfigError> {
        match self.first(keys) {
            Some((k, v)) => positive(k, v),
            None => Ok(default),
        }
    }

    fn dim_rule(&self, rule: Dim, hidden: u64) -> Result<u64, ConfigError> {
        match rule {
            Dim::Key(keys) => self.dim(keys),
            Dim::Or(keys, default) => self.dim_or(keys, default),
            Dim::TimesHidden(keys, n) => self.dim_or(keys, hidden.saturating_mul(n)),
        }
    }

    /// An optional positive integer: `default` when absent or null.
    fn count_or(&self, key: &str, default: u64) -> Result<u64, ConfigError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => positive(key, v),
        }
    }

    /// An optional positive integer with no default.
    fn maybe_count(&self, key: &str) -> Result<Option<u64>, ConfigError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => positive(key, v).map(Some),
        }
    }

    /// An optional size that may be zero.
    fn number_or(&self, key: &str, default: u64) -> Result<u64, ConfigError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => size(key, v),
        }
    }

    /// An optional boolean.
    fn flag_or(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(ConfigError::new(format!(
                "`{key}` must be true or false, found {}",
                short(other)
            ))),
        }
    }

    fn flag(&self, f: Flag) -> Result<bool, ConfigError> {
        match f {
            Flag::Fixed(b) => Ok(b),
            Flag::Key(k, default) => self.flag_or(k, default),
            Flag::Keys(ks, default) => match self.first(ks) {
                Some((k, _)) => self.flag_or(k, default),
                None => Ok(default),
            },
        }
    }

    /// The first of `keys` present, as a number (integer or float).
    fn float(&self, keys: &[&'static str]) -> Result<Option<f64>, ConfigError> {
        match self.first(keys) {
            None => Ok(None),
            Some((k, v)) => v.as_f64().map(Some).ok_or_else(|| {
                ConfigError::new(format!("`{k}` must be a number, found {}", short(v)))
            }),
        }
    }

    /// Whether any of the dropout probabilities `keys` (each `default` when absent) is above
    /// zero: what `model.train()` keeps masks for.
    fn any_dropout(&self, keys: &[&str], default: f64) -> Result<bool, ConfigError> {
        for key in keys {
            if self.probability(key, default)? > 0.0 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// An optional probability.
    fn probability(&self, key: &str, default: f64) -> Result<f64, ConfigError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => match v.as_f64() {
                Some(p) if (0.0..=1.0).contains(&p) => Ok(p),
                _ => Err(ConfigError::new(format!(
                    "`{key}` must be a probability between 0 and 1, found {}",
                    short(v)
                ))),
            },
        }
    }

    /// A list of layer indices (`mlp_only_layers`).
    fn indices(&self, key: &str) -> Result<Vec<u64>, ConfigError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| {
                    x.as_u64().ok_or_else(|| {
                        ConfigError::new(format!(
                            "`{key}` must list layer indices, found {}",
                            short(x)
                        ))
                    })
                })
                .collect(),
            Some(other) => Err(ConfigError::new(format!(
                "`{key}` must be a list of layer indices, found {}",
                short(other)
            ))),
        }
    }
}

/// A JSON value shown briefly in an error.
fn short(v: &Value) -> String {
    clip(&v.to_string())
}

/// A string from a config shown in an error: cut to 40 characters (see [`clip_to`]).
#[must_use]
pub fn clip(s: &str) -> String {
    clip_to(s, 40)
}

/// `s` as one printable line of at most `max` characters (then `…`): control characters
/// (newlines, terminal escapes) are written as escapes, so that whatever a user typed or a
/// file held, an error that quotes it stays one line.
#[must_use]
pub fn clip_to(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The largest size accepted for any key: far beyond any real model, small enough that no
/// count derived from a config can overflow, and checked as each key is read (before a
/// per-layer list is built from it).
const MAX_DIM: u64 = 1 << 24;

/// A size read from `key` (0 allowed), at most [`MAX_DIM`].
fn size(key: &str, v: &Value) -> Result<u64, ConfigError> {
    match v.as_u64() {
        Some(n) if n > MAX_DIM => Err(ConfigError::new(format!(
            "`{key}` = {n} is beyond any real model (the limit is {MAX_DIM}); check the value"
        ))),
        Some(n) => Ok(n),
        None => Err(ConfigError::new(format!(
            "`{key}` must be a non-negative integer, found {}",
            short(v)
        ))),
    }
}

/// A size read from `key` that must be at least 1.
fn positive(key: &str, v: &Value) -> Result<u64, ConfigError> {
    match v.as_u64() {
        Some(0) => Err(ConfigError::new(format!(
            "`{key}` must be at least 1, found 0"
        ))),
        Some(_) => size(key, v),
        None => Err(ConfigError::new(format!(
            "`{key}` must be a positive integer, found {}",
            short(v)
        ))),
    }
}

/// The activation names Hugging Face's `ACT2FN` knows, as the memory model prices them.
fn activation(key: &str, name: &str) -> Result<Act, ConfigError> {
    Ok(match name {
        "gelu_new" | "gelu_fast" | "gelu_python" => Act::NewGelu,
        "relu" => Act::Relu,
        "quick_gelu" => Act::QuickGelu,
        "silu" | "swish" | "gelu" | "gelu_pytorch_tanh" | "gelu_accurate" | "relu2" | "relu6"
        | "tanh" | "sigmoid" | "mish" | "leaky_relu" | "gelu_10" => Act::Fused,
        other => {
            return Err(ConfigError::new(format!(
                "unknown activation `{}` in `{key}`; use one of Hugging Face's (silu, gelu, gelu_new, relu, …)",
                clip(other)
            )));
        }
    })
}

/// A classifier's labels: `num_labels`, else the entries of `id2label`, else the class's
/// `default`.
fn labels(keys: &Keys<'_>, default: u64) -> Result<u64, ConfigError> {
    if let Some(n) = keys.maybe_count("num_labels")? {
        return Ok(n);
    }
    Ok(match keys.map.get("id2label") {
        Some(Value::Object(m)) if !m.is_empty() => m.len() as u64,
        _ => default,
    })
}

/// The head `architectures[0]` names, as `from_pretrained` would build it.
fn head(keys: &Keys<'_>, f: &Family) -> Result<Head, ConfigError> {
    let name = match keys.map.get("architectures") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => match a.first() {
            None => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(other) => {
                return Err(ConfigError::new(format!(
                    "`architectures` must list class names, found {}",
                    short(other)
                )));
            }
        },
        Some(other) => {
            return Err(ConfigError::new(format!(
                "`architectures` must be a list of class names, found {}",
                short(other)
            )));
        }
    };
    if f.seq2seq.is_some() {
        return seq2seq_head(keys, name, f);
    }
    if f.vision.is_some() {
        return vision_head(keys, name, f);
    }
    let Some(name) = name else {
        return Ok(if f.encoder.is_some() {
            Head::None
        } else {
            Head::LanguageModel
        });
    };

    let lm = name.ends_with("ForCausalLM") || name.ends_with("LMHeadModel");
    let encoder = f.encoder.is_some();
    Ok(if lm || (encoder && name.ends_with("ForMaskedLM")) {
        Head::LanguageModel
    } else if name.ends_with("ForSequenceClassification") {
        Head::SequenceClassification(labels(keys, 2)?)
    } else if name.ends_with("ForTokenClassification") {
        Head::TokenClassification(labels(keys, 2)?)
    } else if name.ends_with("ForQuestionAnswering") {
        Head::QuestionAnswering
    } else if f.encoder.is_some_and(|e| e.pretraining.is_some()) && name.ends_with("ForPreTraining")
    {
        Head::PreTraining
    } else if name.ends_with("Model") {
        Head::None
    } else {
        return Err(ConfigError::new(format!(
            "unsupported head `{}` in `architectures`; supported: *ForCausalLM, *LMHeadModel, *Model, *ForSequenceClassification, *ForTokenClassification, *ForQuestionAnswering{}",
            clip(name),
            match f.encoder {
                Some(e) if e.pretraining.is_some() => ", *ForMaskedLM, *ForPreTraining",
                Some(_) => ", *ForMaskedLM",
                None => "",
            }
        )));
    })
}

/// An encoder–decoder's head: the language model (`*ForConditionalGeneration`, Marian's
/// `MarianMTModel`; the default), the bare `*Model`, BART's sequence classifier, or T5's
/// `*EncoderModel` (the encoder alone, read as [`Head::None`] with
/// [`Seq2Seq::encoder_only`](super::Seq2Seq::encoder_only)).
fn seq2seq_head(keys: &Keys<'_>, name: Option<&str>, f: &Family) -> Result<Head, ConfigError> {
    let Some(name) = name else {
        return Ok(Head::LanguageModel);
    };
    if name.ends_with("ForConditionalGeneration") || name.ends_with("MTModel") {
        return Ok(Head::LanguageModel);
    }
    if name.ends_with("Model") {
        return Ok(Head::None);
    }
    if f.seq2seq.is_some_and(|r| r.final_logits_bias) && name.ends_with("ForSequenceClassification")
    {
        return Ok(Head::SequenceClassification(labels(keys, 3)?));
    }
    Err(ConfigError::new(format!(
        "unsupported head `{}` in `architectures` for {}; supported: *ForConditionalGeneration, *Model{}",
        clip(name),
        f.name,
        if f.seq2seq.is_some_and(|r| r.final_logits_bias) {
            ", *ForSequenceClassification"
        } else {
            ""
        }
    )))
}

/// A vision tower's head: the bare `*Model` (ViT's with its pooler), CLIP's
/// `*WithProjection`, ViT's `*ForImageClassification`.
fn vision_head(keys: &Keys<'_>, name: Option<&str>, f: &Family) -> Result<Head, ConfigError> {
    let Some(name) = name else {
        return Ok(Head::None);
    };
    if name.ends_with("Model") || name.ends_with("WithProjection") {
        return Ok(Head::None);
    }
    if name.ends_with("ForImageClassification") && f.vision.is_some_and(|v| !v.clip) {
        return Ok(Head::SequenceClassification(labels(keys, 2)?));
    }
    Err(ConfigError::new(format!(
        "unsupported head `{}` in `architectures` for {}; supported: *Model{}",
        clip(name),
        f.name,
        if f.vision.is_some_and(|v| v.clip) {
            ", *WithProjection"
        } else {
            ", *ForImageClassification"
        }
    )))
}

/// A vision tower's patches, read by its rule.
fn vision(keys: &Keys<'_>, r: VisionRule, d: u64, head: Head) -> Result<Vision, ConfigError> {
    let image_size = keys.count_or("image_size", 224)?;
    let patch_size = keys.count_or("patch_size", r.patch_default)?;
    if patch_size > image_size {
        return Err(ConfigError::new(format!(
            "`patch_size` ({patch_size}) is larger than `image_size` ({image_size}): the image has no patch"
        )));
    }
    let name = keys
        .map
        .get("architectures")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(Vision {
        image_size,
        patch_size,
        channels: keys.count_or("num_channels", 3)?,
        clip: r.clip,
        projection: if name.ends_with("WithProjection") {
            keys.count_or("projection_dim", 512)?
        } else {
            0
        },
        // ViTModel adds its pooler (`add_pooling_layer=True`); the classifier does not
        pooler: if !r.clip && matches!(head, Head::None) {
            keys.dim_or(&["pooler_output_size"], d)?
        } else {
            0
        },
    })
}

/// An encoder–decoder's encoder and cross-attention, read by its rule.
fn seq2seq(
    keys: &Keys<'_>,
    r: &Seq2SeqRule,
    decoder_positions: u64,
    (d, head_dim): (u64, u64),
) -> Result<Seq2Seq, ConfigError> {
    let encoder_heads = keys.dim(r.encoder_heads)?;
    let encoder_head_dim = if r.head_dim_key.is_some() {
        head_dim
    } else if d.is_multiple_of(encoder_heads) {
        d / encoder_heads
    } else {
        return Err(ConfigError::new(format!(
            "`{}` ({encoder_heads}) must divide `d_model` ({d})",
            r.encoder_heads
                .first()
                .copied()
                .unwrap_or("encoder_attention_heads")
        )));
    };
    let name = keys.map.get("architectures").and_then(Value::as_array);
    let encoder_only = name
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .is_some_and(|n| n.ends_with("EncoderModel"));
    let shared = match r.shared_key {
        Some(k) => keys.flag_or(k, true)?,
        None => true,
    };
    Ok(Seq2Seq {
        encoder_layers: keys.dim(r.encoder_layers)?,
        encoder_heads,
        encoder_head_dim,
        untied_stacks: r.untied_stacks,
        contiguous_heads: r.contiguous_heads,
        hidden_dropout: keys.probability(r.dropouts[0].0, r.dropouts[0].1)? > 0.0,
        attention_dropout: keys.probability(r.dropouts[1].0, r.dropouts[1].1)? > 0.0,
        activation_dropout: keys.probability(r.dropouts[2].0, r.dropouts[2].1)? > 0.0,
        encoder_ffn: keys.dim(r.encoder_ffn)?,
        relative_buckets: match r.relative {
            Some((k, default, _)) => keys.count_or(k, default)?,
            None => 0,
        },
        relative_every_layer: r.relative.is_some_and(|(_, _, every)| every),
        source_rows: match (r.relative, r.source_rows) {
            (Some(_), _) => 0,
            (None, Some((k, default))) => keys.count_or(k, default)?,
            (None, None) => decoder_positions,
        },
        mel_bins: match r.mel_bins {
            Some((k, default)) => keys.count_or(k, default)?,
            None => 0,
        },
        frozen_source_positions: r.frozen_positions.0,
        frozen_target_positions: r.frozen_positions.1,
        post_norm: r.post_norm,
        embed_norms: r.embed_norms,
        final_logits_bias: r.final_logits_bias,
        key_bias: r.key_bias,
        source_vocab: if shared {
            0
        } else {
            keys.dim(&["vocab_size"])?
        },
        encoder_only,
    })
}

/// T5's `feed_forward_proj`: `"relu"`, `"gated-gelu"` (which means `gelu_new`), `"gated-silu"`
/// …, as `T5Config` splits it: gated when the first part is `gated`, the activation the last.
fn ffn_proj(key: &str, v: &str) -> Result<(bool, Act), ConfigError> {
    let mut parts = v.split('-');
    let first = parts.next().unwrap_or_default();
    let last = v.rsplit('-').next().unwrap_or_default();
    let gated = first == "gated";
    let count = v.split('-').count();
    if (gated && count != 2) || (!gated && count != 1) {
        return Err(ConfigError::new(format!(
            "`{key}` must be an activation or `gated-` and an activation (\"relu\", \"gated-gelu\"), found \"{}\"",
            clip(v)
        )));
    }
    let act = if v == "gated-gelu" { "gelu_new" } else { last };
    Ok((gated, activation(key, act)?))
}

/// Which layers slide (`true`), from `layer_types` or the family's rule, and the window.
fn sliding(keys: &Keys<'_>, f: &Family, layers: u64) -> Result<(Vec<bool>, u64), ConfigError> {
    // 0 and null both mean no window (Qwen2-MoE writes 0)
    let window = Some(keys.number_or("sliding_window", 0)?).filter(|w| *w > 0);
    let n = usize::try_from(layers).unwrap_or(usize::MAX);
    let pattern: Vec<bool> = if let Some(types) =
        keys.map.get("layer_types").filter(|v| !v.is_null())
    {
        let Value::Array(types) = types else {
            return Err(ConfigError::new(format!(
                "`layer_types` must be a list of layer types, found {}",
                short(types)
            )));
        };
        if types.len() != n {
            return Err(ConfigError::new(format!(
                "`layer_types` lists {} layers but `num_hidden_layers` is {layers}; make them agree",
                types.len()
            )));
        }
        let mut out = Vec::with_capacity(n);
        for t in types {
            out.push(match t.as_str() {
                Some("full_attention") => false,
                Some("sliding_attention") => true,
                _ => {
                    return Err(ConfigError::new(format!(
                        "layer type {} in `layer_types` is not supported for {}; supported: full_attention, sliding_attention",
                        short(t),
                        f.name
                    )));
                }
            });
        }
        out
    } else {
        match f.sliding {
            SlidingRule::None => alloc::vec![false; n],
            SlidingRule::All { gate, default } => {
                let gated = match gate {
                    Some(g) => keys.flag_or(g, false)?,
                    None => true,
                };
                let set = match keys.map.get("sliding_window") {
                    None => default.is_some(),
                    Some(_) => window.is_some(),
                };
                if gated && set {
                    let w = window.or(default).unwrap_or(0);
                    return Ok((alloc::vec![true; n], w));
                }
                alloc::vec![false; n]
            }
            SlidingRule::EveryNth { keys: ks, default } => {
                let period = keys.dim_or(ks, default)?;
                (0..layers).map(|i| (i + 1) % period != 0).collect()
            }
            SlidingRule::FirstOfN { keys: ks, n } => {
                let period = keys.dim_or(ks, n)?;
                (0..layers).map(|i| i % period != 0).collect()
            }
            SlidingRule::FromMaxWindowLayers => {
                let on = keys.flag_or("use_sliding_window", false)? && window.is_some();
                let from = keys.number_or("max_window_layers", 28)?;
                (0..layers).map(|i| on && i >= from).collect()
            }
        }
    };
    let any = pattern.iter().any(|s| *s);
    match (any, window) {
        (false, _) => Ok((pattern, 0)),
        (true, Some(w)) => Ok((pattern, w)),
        // an encoder caches nothing: its local layers matter for their rotary table only
        (true, None) if f.encoder.is_some() => Ok((pattern, 0)),
        (true, None) => Err(ConfigError::new(
            "the config has sliding-window layers but no `sliding_window`; give the window in tokens",
        )),
    }
}

/// Which layers keep a dense MLP.
fn dense(
    keys: &Keys<'_>,
    rule: &MoeRule,
    experts: u64,
    layers: u64,
) -> Result<Vec<bool>, ConfigError> {
    Ok(match rule.dense {
        DenseRule::None => (0..layers).map(|_| false).collect(),
        DenseRule::First(key) => {
            let k = keys.number_or(key, 0)?;
            (0..layers).map(|i| i < k).collect()
        }
        DenseRule::Period => {
            let period = keys.count_or("expert_layer_period", 2)?;
            let offset = keys.number_or("expert_layer_offset", 1)?;
            (0..layers)
                .map(|i| experts <= 1 || i % period != offset)
                .collect()
        }
        DenseRule::SparseStep => {
            let step = keys.count_or("decoder_sparse_step", 1)?;
            let only = keys.indices("mlp_only_layers")?;
            (0..layers)
                .map(|i| only.contains(&i) || !(experts > 0 && (i + 1) % step == 0))
                .collect()
        }
    })
}

fn mixture(keys: &Keys<'_>, rule: &MoeRule, hidden: u64) -> Result<Moe, ConfigError> {
    let experts = keys.dim_or(rule.experts, rule.experts_default)?;
    let top_k = keys.dim_or(rule.top_k, rule.top_k_default)?;
    let width = keys.dim_rule(rule.width, hidden)?;
    let shared_width = match rule.shared {
        SharedRule::None => 0,
        SharedRule::Count(key) => keys.number_or(key, 0)?.saturating_mul(width),
        SharedRule::Width(key) => keys.number_or(key, 0)?,
    };
    if top_k > experts {
        return Err(ConfigError::new(format!(
            "`{}` ({top_k}) must be at most `{}` ({experts})",
            rule.top_k.first().copied().unwrap_or("num_experts_per_tok"),
            rule.experts.first().copied().unwrap_or("num_experts")
        )));
    }
    Ok(Moe {
        experts,
        top_k,
        width,
        shared_width,
        shared_gate: rule.shared_gate && shared_width > 0,
        router_bias: rule.router_bias,
        expert_bias: rule.expert_bias,
        score_correction: rule.score_correction,
        act: rule.act,
    })
}

/// Refuses what the description cannot count.
fn refusals(keys: &Keys<'_>, f: &Family, hidden: u64) -> Result<(), ConfigError> {
    if let Some(q) = keys.map.get("quantization_config").filter(|v| !v.is_null()) {
        let method = q
            .get("quant_method")
            .and_then(Value::as_str)
            .map(|m| format!(" ({})", clip(m)))
            .unwrap_or_default();
        return Err(ConfigError::new(format!(
            "`quantization_config`{method} is not priced here: the stored weights are not 16-bit; the command line prices bitsandbytes, gptq, awq, fp8 and mxfp4 configs (and a checkpoint's headers with --model DIR), or remove the key to count the unquantized model and choose the weights' dtype"
        )));
    }
    for r in f.refuse {
        let bad = match *r {
            Refuse::True(k) => keys.flag_or(k, false)?.then(|| format!("`{k}: true`")),
            Refuse::Present(k) => keys
                .map
                .get(k)
                .filter(|v| !v.is_null())
                .map(|v| format!("`{k}` ({})", short(v))),
            Refuse::NotHidden(k) => keys
                .maybe_count(k)?
                .filter(|v| *v != hidden)
                .map(|v| format!("`{k}` = {v} (not the hidden size {hidden})")),
        };
        if let Some(what) = bad {
            return Err(ConfigError::new(format!(
                "{what} changes what {} builds in a way this estimator does not count yet; remove it only if the checkpoint does not use it",
                f.name
            )));
        }
    }
    Ok(())
}

impl ModelConfig {
    /// Reads a Hugging Face `config.json`.
    ///
    /// Supported `model_type`s: [`families::ALL`](super::families::ALL), each read by its
    /// description with the defaults of its transformers configuration class;
    /// `architectures[0]` selects the head.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the key when the JSON is malformed, a required key is missing,
    /// a value has the wrong type or is zero or absurd, the heads do not divide, the
    /// `model_type` or head is not supported, or a key would change the model in a way the
    /// description does not count.
    pub fn from_json(text: &str) -> Result<ModelConfig, ConfigError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let value: Value = serde_json::from_str(text).map_err(|e| {
            ConfigError::new(format!(
                "not valid JSON ({e}); check the file is a config.json"
            ))
        })?;
        let Value::Object(map) = &value else {
            return Err(ConfigError::new(
                "a config.json must be a JSON object (`{ \"model_type\": … }`)",
            ));
        };
        let keys = Keys { map };
        let names = || {
            super::families::ALL
                .iter()
                .map(|f| f.name)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let model_type = match map.get("model_type") {
            Some(Value::String(s)) => ModelType::from_name(s).ok_or_else(|| {
                let hint = closest(s, super::families::ALL.iter().map(|f| f.name))
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                ConfigError::new(format!(
                    "unsupported model_type `{}`{hint}; supported: {}",
                    clip(s),
                    names()
                ))
            })?,
            Some(other) => {
                return Err(ConfigError::new(format!(
                    "`model_type` must be a string, found {}",
                    short(other)
                )));
            }
            None => {
                return Err(ConfigError::new(format!(
                    "missing key `model_type`; add one of: {}",
                    names()
                )));
            }
        };
        let config = read(&keys, model_type)?;
        check(&config)?;
        Ok(config)
    }
}

#[allow(
    clippy::too_many_lines,
    reason = "one part of the description after another, each read once"
)]
fn read(keys: &Keys<'_>, model_type: ModelType) -> Result<ModelConfig, ConfigError> {
    let f = model_type.family();
    let d = keys.dim(f.hidden)?;
    let layers = keys.dim(f.layers)?;
    // a pure state-space model has no attention heads
    let h = if f.heads.is_empty() {
        1
    } else {
        keys.dim(f.heads)?
    };
    // a vision tower reads pixels, not tokens
    let vocab = if f.vision.is_some() {
        0
    } else {
        keys.dim(f.vocab)?
    };
    refusals(keys, f, d)?;
    let new_decoder = match f.new_decoder_key {
        Some(k) => keys.flag_or(k, false)?,
        None => false,
    };
    let multi_query = match f.multi_query {
        Some((k, default)) if !new_decoder => keys.flag_or(k, default)?,
        _ => false,
    };
    let kv = if multi_query {
        1
    } else {
        keys.dim_or(f.kv_heads, h)?
    };
    let head_key = f.heads.first().copied().unwrap_or("num_attention_heads");
    let hidden_key = f.hidden.first().copied().unwrap_or("hidden_size");
    let explicit = match f.seq2seq.and_then(|r| r.head_dim_key) {
        Some(k) => keys.maybe_count(k)?,
        None if f.head_dim_key => keys.maybe_count("head_dim")?,
        None => None,
    };
    let head_dim = match explicit {
        Some(hd) => hd,
        None if f.head_dim_default > 0 => f.head_dim_default,
        // Hugging Face's `hidden_size // num_attention_heads`
        None if f.head_dim_key && d >= h => d / h,
        None => {
            if !d.is_multiple_of(h) {
                return Err(ConfigError::new(format!(
                    "`{head_key}` ({h}) must divide `{hidden_key}` ({d})"
                )));
            }
            d / h
        }
    };
    if !h.is_multiple_of(kv) {
        return Err(ConfigError::new(format!(
            "`num_key_value_heads` ({kv}) must divide `{head_key}` ({h})"
        )));
    }
    let mut max_positions = keys.dim_rule(f.max_positions, d)?;
    let head_kind = head(keys, f)?;
    let vision = match f.vision {
        Some(r) => Some(vision(keys, r, d, head_kind)?),
        None => None,
    };
    if let Some(v) = vision {
        // the patches and the class token
        let side = v.image_size / v.patch_size;
        max_positions = side * side + 1;
    }
    // RoBERTa numbers positions from `pad_token_id + 1`: the table's rows hold that many fewer
    // tokens (514 rows, 512 tokens)
    let table_rows = max_positions;
    if f.encoder.is_some_and(|e| e.pad_offset) {
        let pad = keys.number_or("pad_token_id", 1)?;
        max_positions = match max_positions.checked_sub(pad.saturating_add(1)) {
            Some(n) if n > 0 => n,
            _ => {
                return Err(ConfigError::new(format!(
                    "`max_position_embeddings` ({max_positions}) leaves no position after `pad_token_id` ({pad}): positions start at pad_token_id + 1; raise `max_position_embeddings` (released RoBERTa checkpoints have 514) or check `pad_token_id`"
                )));
            }
        };
    }
    let intermediate_size = keys.dim_rule(f.intermediate, d)?;
    let mla = if f.mla {
        Some(Mla {
            // null: a plain `q_proj` (DeepSeek-V2-Lite); absent: the class default
            q_lora_rank: if keys.map.contains_key("q_lora_rank") {
                keys.number_or("q_lora_rank", 0)?
            } else {
                1536
            },
            kv_lora_rank: keys.count_or("kv_lora_rank", 512)?,
            qk_nope_head_dim: keys.count_or("qk_nope_head_dim", 128)?,
            qk_rope_head_dim: keys.count_or("qk_rope_head_dim", 64)?,
            v_head_dim: keys.count_or("v_head_dim", 128)?,
        })
    } else {
        None
    };
    let head_dim = match mla {
        Some(m) => m.qk_nope_head_dim + m.qk_rope_head_dim,
        None => head_dim,
    };
    let (slides, window) = sliding(keys, f, layers)?;
    let moe = match &f.moe {
        // Jamba with one expert (or none) builds dense MLPs only
        Some(rule)
            if rule.dense == DenseRule::Period
                && keys.dim_or(rule.experts, rule.experts_default)? <= 1 =>
        {
            None
        }
        Some(rule) => Some((rule, mixture(keys, rule, d)?)),
        None => None,
    };
    let dense_pattern = match moe {
        Some((rule, m)) => dense(keys, rule, m.experts, layers)?,
        None => alloc::vec![true; slides.len()],
    };
    let count = |v: &[bool]| v.iter().filter(|x| **x).count() as u64;
    let both: Vec<bool> = slides
        .iter()
        .zip(&dense_pattern)
        .map(|(s, dn)| *s && *dn)
        .collect();
    let positions = match f.positions {
        PositionRule::Rotary { factor } => {
            // transformers 5 writes it in `rope_parameters`; older files at the top level, or
            // as GPT-NeoX's `rotary_pct`
            let nested = match keys.map.get("rope_parameters") {
                Some(Value::Object(r)) => Keys { map: r }.float(&["partial_rotary_factor"])?,
                _ => None,
            };
            let factor = match nested {
                Some(x) => x,
                None => keys
                    .float(&["partial_rotary_factor", "rotary_pct"])?
                    .unwrap_or(factor),
            };
            if !(factor > 0.0 && factor <= 1.0) {
                return Err(ConfigError::new(format!(
                    "`partial_rotary_factor` must be in (0, 1], found {factor}"
                )));
            }
            let rotated = match mla {
                Some(m) => m.qk_rope_head_dim,
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    clippy::cast_precision_loss,
                    reason = "Hugging Face's int(head_dim * partial_rotary_factor), of a head width below 2^24"
                )]
                None => (head_dim as f64 * factor) as u64,
            };
            let kinds =
                u64::from(slides.iter().any(|s| *s)) + u64::from(slides.iter().any(|s| !*s));
            Positions::Rotary {
                dim: rotated,
                tables: if f.rope_per_layer_type {
                    kinds.max(1)
                } else {
                    1
                },
            }
        }
        PositionRule::RotaryTable => Positions::RotaryTable {
            dim: keys.count_or("rotary_dim", head_dim)?,
        },
        PositionRule::Learned { offset } => Positions::Learned {
            rows: table_rows + offset,
        },
        PositionRule::Sinusoidal { offset } => Positions::Sinusoidal {
            rows: max_positions + offset,
        },
        PositionRule::None => Positions::None,
    };
    let layout = match f.parallel {
        Some((k, default, _)) if new_decoder && keys.flag_or(k, default)? => Layout::Parallel {
            norms: keys.count_or("num_ln_in_parallel_attn", 2)?.min(2),
        },
        Some((k, default, norms)) if keys.flag_or(k, default)? => Layout::Parallel { norms },
        _ => f.layout,
    };
    let qk_norm = match f.qk_norm_key {
        Some((k, default)) if !keys.flag_or(k, default)? => QkNorm::None,
        _ => f.qk_norm,
    };
    let act_key = f.act_keys.first().copied().unwrap_or("hidden_act");
    let act = match keys.first(f.act_keys) {
        Some((k, Value::String(s))) => activation(k, s)?,
        Some((k, other)) => {
            return Err(ConfigError::new(format!(
                "`{k}` must name an activation, found {}",
                short(other)
            )));
        }
        None => activation(act_key, f.act_default)?,
    };
    let dropout = keys.any_dropout(f.dropout_keys, f.dropout_default)?;
    // T5's `feed_forward_proj` sets both the activation and the gate
    let (gated, act) = match f.seq2seq.and_then(|r| r.ffn_proj) {
        Some(k) => match keys.map.get(k) {
            None | Some(Value::Null) => (false, Act::Relu),
            Some(Value::String(v)) => ffn_proj(k, v)?,
            Some(other) => {
                return Err(ConfigError::new(format!(
                    "`{k}` must name a feed-forward projection (\"relu\", \"gated-gelu\"), found {}",
                    short(other)
                )));
            }
        },
        None => (f.gated, act),
    };
    let seq2seq = match &f.seq2seq {
        Some(r) => Some(seq2seq(
            keys,
            r,
            match positions {
                Positions::Learned { rows } => rows,
                _ => 0,
            },
            (d, head_dim),
        )?),
        None => None,
    };
    Ok(ModelConfig {
        model_type,
        head: head_kind,
        vocab_size: vocab,
        hidden_size: d,
        num_layers: layers,
        num_heads: h,
        num_kv_heads: kv,
        head_dim,
        intermediate_size,
        max_positions,
        positions,
        norm: match f.norm_bias_key {
            Some((k, default)) if !keys.flag_or(k, default)? => Norm::LayerNormNoBias,
            _ => f.norm,
        },
        layout,
        attention: Attention {
            qkv_bias: keys.flag(f.qkv_bias)?,
            o_bias: keys.flag(f.o_bias)?,
            fused_qkv: f.fused_qkv,
            qk_norm,
            qk_norm_kind: f.qk_norm_kind,
            sinks: f.sinks,
            softmax_fp32: f.softmax_fp32,
            softcap: match f.softcap_key {
                Some(k) => keys.map.get(k).is_some_and(|v| !v.is_null()),
                None => false,
            },
            value_views_fused: f.value_views_fused,
            kv_expanded: new_decoder,
            mla,
        },
        mlp: Mlp {
            gated,
            fused_gate_up: f.fused_gate_up,
            bias: keys.flag(f.mlp_bias)?,
            act,
        },
        moe: moe.map_or(NO_MOE, |(_, m)| m),
        sliding_layers: count(&slides),
        sliding_dense_layers: count(&both),
        dense_layers: count(&dense_pattern),
        sliding_window: window,
        tie_word_embeddings: keys.flag(f.tie)?,
        head_bias: keys.flag(f.head_bias)?,
        embed_norm: f.embed_norm,
        embed_scale: f.embed_scale,
        causal_mask: f.causal_mask,
        resid_dropout: f.resid_dropout,
        encoder: match f.encoder {
            None => None,
            Some(e) => Some(Encoder {
                type_vocab_size: match (e.token_types, e.deberta) {
                    (false, _) => 0,
                    // DeBERTa builds no table for 0 (BERT would build an empty one)
                    (true, true) => keys.number_or("type_vocab_size", e.type_vocab_default)?,
                    (true, false) => keys.count_or("type_vocab_size", e.type_vocab_default)?,
                },
                embedding_size: match e.embedding_size {
                    Some(k) => keys.dim_or(&[k], d)?,
                    None => d,
                },
                pooler: e.pooler,
                out_dropout: e.out_dropout,
                tied_decoder_bias: e.tied_decoder_bias,
                pretraining: match e.pretraining {
                    Some(p) => p,
                    None => Pretraining::NextSentence,
                },
                pre_norm: match e.pre_norm {
                    Some((k, default)) => Some(keys.flag_or(k, default)?),
                    None => None,
                },
                deberta: if e.deberta {
                    Some(deberta(keys, max_positions, d)?)
                } else {
                    None
                },
            }),
        },
        seq2seq,
        vision,
        ssm: match f.ssm {
            Some(rule) => Some(ssm(keys, rule, d, &dense_pattern)?),
            None => None,
        },
        dropout,
    })
}

/// A state-space family's mixer, and which of its layers are attention (see [`SsmRule`]).
fn ssm(keys: &Keys<'_>, rule: SsmRule, d: u64, dense: &[bool]) -> Result<Ssm, ConfigError> {
    let layers = dense.len() as u64;
    let mamba2 = matches!(rule, SsmRule::Mamba2 | SsmRule::Bamba);
    let hybrid = matches!(rule, SsmRule::Jamba | SsmRule::Bamba);
    let key = |plain: &'static str, prefixed: &'static str| if hybrid { prefixed } else { plain };
    let expand = keys.count_or(key("expand", "mamba_expand"), 2)?;
    let inner = expand.saturating_mul(d);
    let state = keys.count_or(
        key("state_size", "mamba_d_state"),
        match rule {
            SsmRule::Mamba | SsmRule::Jamba => 16,
            SsmRule::Mamba2 => 128,
            SsmRule::Bamba => 256,
        },
    )?;
    let conv = keys.count_or(key("conv_kernel", "mamba_d_conv"), 4)?;
    let (heads, head_dim, groups, chunk) = if mamba2 {
        let heads = keys.count_or(key("num_heads", "mamba_n_heads"), 128)?;
        let head_dim = match keys.map.get(key("head_dim", "mamba_d_head")) {
            None | Some(Value::Null) => inner / heads,
            Some(Value::String(s)) if s == "auto" => inner / heads,
            Some(_) => keys.count_or(key("head_dim", "mamba_d_head"), 64)?,
        };
        if heads.saturating_mul(head_dim) != inner {
            return Err(ConfigError::new(format!(
                "the SSM heads ({heads}) × their width ({head_dim}) must be the inner width expand · hidden_size ({inner})"
            )));
        }
        (
            heads,
            head_dim,
            keys.count_or(key("n_groups", "mamba_n_groups"), 1)?,
            keys.count_or(key("chunk_size", "mamba_chunk_size"), 256)?,
        )
    } else {
        (0, 0, 0, 0)
    };
    // "auto" (or absent): ceil(hidden_size / 16)
    let rank_key = key("time_step_rank", "mamba_dt_rank");
    let dt_rank = if mamba2 {
        0
    } else {
        match keys.map.get(rank_key) {
            None | Some(Value::Null) => d.div_ceil(16),
            Some(Value::String(s)) if s == "auto" => d.div_ceil(16),
            Some(_) => keys.count_or(rank_key, 1)?,
        }
    };
    let attention: Vec<bool> = match rule {
        SsmRule::Mamba | SsmRule::Mamba2 => alloc::vec![false; dense.len()],
        SsmRule::Jamba => {
            let period = keys.count_or("attn_layer_period", 8)?;
            let offset = keys.number_or("attn_layer_offset", 4)?;
            (0..layers).map(|i| i % period == offset).collect()
        }
        SsmRule::Bamba => {
            let at = keys.indices("attn_layer_indices")?;
            if let Some(bad) = at.iter().find(|i| **i >= layers) {
                return Err(ConfigError::new(format!(
                    "`attn_layer_indices` names layer {bad}, and the model has {layers}"
                )));
            }
            (0..layers).map(|i| at.contains(&i)).collect()
        }
    };
    let count = |f: &dyn Fn(usize) -> bool| (0..dense.len()).filter(|i| f(*i)).count() as u64;
    Ok(Ssm {
        heads,
        head_dim,
        groups,
        inner,
        state,
        conv,
        dt_rank,
        chunk,
        proj_bias: keys.flag_or(key("use_bias", "mamba_proj_bias"), false)?,
        conv_bias: keys.flag_or(key("use_conv_bias", "mamba_conv_bias"), true)?,
        dt_norms: matches!(rule, SsmRule::Jamba),
        mixer_only: !hybrid,
        attention_layers: count(&|i| attention[i]),
        attention_moe_layers: count(&|i| attention[i] && !dense[i]),
        kernels: true,
    })
}

/// DeBERTa's keys, with the defaults its model code reads them with (`getattr`): most are not
/// fields of the 5.24 configuration class.
fn deberta(keys: &Keys<'_>, max_positions: u64, hidden: u64) -> Result<Deberta, ConfigError> {
    // -1 means "none" for both
    let signed = |k: &'static str, default: i64| -> Result<i64, ConfigError> {
        match keys.map.get(k) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v.as_i64().ok_or_else(|| {
                ConfigError::new(format!(
                    "`{k}` must be an integer (-1 for none), found {}",
                    short(v)
                ))
            }),
        }
    };
    let relative = keys.flag_or("relative_attention", false)?;
    let buckets = signed("position_buckets", -1)?;
    let max_relative = signed("max_relative_positions", -1)?;
    let span = if buckets > 0 {
        buckets.unsigned_abs()
    } else if max_relative >= 1 {
        max_relative.unsigned_abs()
    } else {
        max_positions
    };
    if span > MAX_DIM {
        return Err(ConfigError::new(format!(
            "the relative position span {span} is beyond any real model (the limit is {MAX_DIM}); check `position_buckets` and `max_relative_positions`"
        )));
    }
    let text_list = |k: &'static str| -> Result<Vec<String>, ConfigError> {
        match keys.map.get(k) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(t)) => Ok(t
                .split('|')
                .map(|p| p.trim().to_ascii_lowercase())
                .collect()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str().map(str::to_ascii_lowercase).ok_or_else(|| {
                        ConfigError::new(format!("`{k}` must list names, found {}", short(i)))
                    })
                })
                .collect(),
            Some(other) => Err(ConfigError::new(format!(
                "`{k}` must be a name or a list of names, found {}",
                short(other)
            ))),
        }
    };
    let kinds = text_list("pos_att_type")?;
    if let Some(unknown) = kinds.iter().find(|k| !matches!(k.as_str(), "c2p" | "p2c")) {
        return Err(ConfigError::new(format!(
            "unknown `pos_att_type` entry `{}`; expected c2p and p2c",
            clip(unknown)
        )));
    }
    let conv_kernel = keys.number_or("conv_kernel_size", 0)?;
    let conv_groups = keys.count_or("conv_groups", 1)?;
    if conv_kernel > 0 && !hidden.is_multiple_of(conv_groups) {
        return Err(ConfigError::new(format!(
            "`conv_groups` ({conv_groups}) must divide `hidden_size` ({hidden})"
        )));
    }
    if conv_kernel > MAX_DIM {
        return Err(ConfigError::new(format!(
            "`conv_kernel_size` = {conv_kernel} is beyond any real model (the limit is {MAX_DIM}); check the value"
        )));
    }
    Ok(Deberta {
        absolute: keys.flag_or("position_biased_input", true)?,
        rel_rows: if relative { 2 * span } else { 0 },
        rel_norm: text_list("norm_rel_ebd")?.iter().any(|n| n == "layer_norm"),
        c2p: relative && kinds.iter().any(|k| k == "c2p"),
        p2c: relative && kinds.iter().any(|k| k == "p2c"),
        share_att_key: keys.flag_or("share_att_key", false)?,
        conv_kernel,
        conv_groups,
        legacy: keys.flag_or("legacy", true)?,
    })
}

const NO_MOE: Moe = Moe {
    experts: 0,
    top_k: 0,
    width: 0,
    shared_width: 0,
    shared_gate: false,
    router_bias: false,
    expert_bias: false,
    score_correction: ScoreCorrection::None,
    act: Act::Fused,
};

/// Rejects a model too large to count. Each key is at most [`MAX_DIM`] as it is read; every
/// parameter count is at most layers · (widest width)² · experts, kept below 2^60 so that no
/// count derived from the config can overflow.
fn check(c: &ModelConfig) -> Result<(), ConfigError> {
    let v_head_dim = c.attention.mla.map_or(0, |m| m.v_head_dim);
    let widest = [
        c.vocab_size,
        c.hidden_size,
        c.intermediate_size,
        c.moe.width,
        c.moe.shared_width,
        c.num_heads.saturating_mul(c.head_dim),
        c.num_heads.saturating_mul(v_head_dim),
        c.max_positions,
    ]
    .into_iter()
    .max()
    .map_or(0, u128::from);
    let bound = (u128::from(c.num_layers) + 2)
        .saturating_mul(widest)
        .saturating_mul(widest)
        .saturating_mul(8)
        .saturating_mul(u128::from(c.moe.experts) + 1);
    if bound >= 1 << 60 {
        return Err(ConfigError::new(
            "the model is too large to count (beyond 2^60 parameters); check the sizes",
        ));
    }
    Ok(())
}

/// The candidate closest to `word` by edit distance, when it is close enough to be the word
/// meant (at most two edits, or a quarter of its length): for "did you mean …?" hints.
#[must_use]
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // a long word is no typo of a short name (and its distance would cost its length squared)
    if word.len() > 64 {
        return None;
    }
    candidates
        .into_iter()
        .map(|c| (distance(word, c), c))
        .min()
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .map(|(_, c)| c)
}

/// Levenshtein distance between two short words.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = alloc::vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
