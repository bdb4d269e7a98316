//! Reading a Hugging Face `config.json` into a [`ModelConfig`], with errors that name the key.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde_json::{Map, Value};

use super::{ModelConfig, ModelType};

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
    /// A required positive integer.
    fn count(&self, key: &str) -> Result<u64, ConfigError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Err(ConfigError::new(format!(
                "missing key `{key}`; add it (a positive integer) to the config"
            ))),
            Some(v) => positive(key, v),
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
}

/// A JSON value shown briefly in an error.
fn short(v: &Value) -> String {
    let mut s = v.to_string();
    if s.len() > 40 {
        let cut = (0..=37).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
        s.truncate(cut);
        s.push('…');
    }
    s
}

fn positive(key: &str, v: &Value) -> Result<u64, ConfigError> {
    match v.as_u64() {
        Some(0) => Err(ConfigError::new(format!(
            "`{key}` must be at least 1, found 0"
        ))),
        Some(n) => Ok(n),
        None => Err(ConfigError::new(format!(
            "`{key}` must be a positive integer, found {}",
            short(v)
        ))),
    }
}

/// The largest dimension accepted: far beyond any real model, small enough that no count
/// derived from a config can overflow.
const MAX_DIM: u64 = 1 << 24;

impl ModelConfig {
    /// Reads a Hugging Face `config.json`.
    ///
    /// Supported `model_type`s: see [`ModelType::NAMES`]. Hugging Face's defaults fill the
    /// optional keys (`num_key_value_heads`, `head_dim`, `tie_word_embeddings`, …).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the key when the JSON is malformed, a required key is missing,
    /// a value has the wrong type or is zero or absurd, the heads do not divide, or the
    /// `model_type` is not supported.
    pub fn from_json(text: &str) -> Result<ModelConfig, ConfigError> {
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
        let model_type = match map.get("model_type") {
            Some(Value::String(s)) => ModelType::from_name(s).ok_or_else(|| {
                ConfigError::new(format!(
                    "unsupported model_type `{s}`; supported: {}",
                    ModelType::NAMES.join(", ")
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
                    ModelType::NAMES.join(", ")
                )));
            }
        };
        let config = match model_type {
            ModelType::Gpt2 => gpt2(&keys)?,
            ModelType::Bert => bert(&keys, map)?,
            _ => llama_like(&keys, model_type)?,
        };
        check(&config)?;
        Ok(config)
    }
}

fn gpt2(keys: &Keys<'_>) -> Result<ModelConfig, ConfigError> {
    let d = keys.count("n_embd")?;
    let h = keys.count("n_head")?;
    let dropout = keys.any_dropout(&["resid_pdrop", "embd_pdrop", "attn_pdrop"], 0.1)?;
    Ok(ModelConfig {
        model_type: ModelType::Gpt2,
        vocab_size: keys.count("vocab_size")?,
        hidden_size: d,
        num_layers: keys.count("n_layer")?,
        num_heads: h,
        num_kv_heads: h,
        head_dim: d / h.max(1),
        intermediate_size: keys.count_or("n_inner", d.saturating_mul(4))?,
        max_positions: keys.count_or("n_positions", 1024)?,
        tie_word_embeddings: keys.flag_or("tie_word_embeddings", true)?,
        sliding_window: 0,
        num_experts: 0,
        experts_per_token: 0,
        qkv_bias: true,
        o_bias: true,
        type_vocab_size: 0,
        masked_lm: false,
        dropout,
    })
    .and_then(|c| divides(c, "n_embd", "n_head"))
}

fn bert(keys: &Keys<'_>, map: &Map<String, Value>) -> Result<ModelConfig, ConfigError> {
    let d = keys.count("hidden_size")?;
    let h = keys.count("num_attention_heads")?;
    let masked_lm = map
        .get("architectures")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some("BertForMaskedLM")));
    let dropout = keys.any_dropout(
        &["hidden_dropout_prob", "attention_probs_dropout_prob"],
        0.1,
    )?;
    Ok(ModelConfig {
        model_type: ModelType::Bert,
        vocab_size: keys.count("vocab_size")?,
        hidden_size: d,
        num_layers: keys.count("num_hidden_layers")?,
        num_heads: h,
        num_kv_heads: h,
        head_dim: d / h.max(1),
        intermediate_size: keys.count("intermediate_size")?,
        max_positions: keys.count_or("max_position_embeddings", 512)?,
        tie_word_embeddings: true,
        sliding_window: 0,
        num_experts: 0,
        experts_per_token: 0,
        qkv_bias: true,
        o_bias: true,
        type_vocab_size: keys.count_or("type_vocab_size", 2)?,
        masked_lm,
        dropout,
    })
    .and_then(|c| divides(c, "hidden_size", "num_attention_heads"))
}

fn llama_like(keys: &Keys<'_>, model_type: ModelType) -> Result<ModelConfig, ConfigError> {
    let d = keys.count("hidden_size")?;
    let h = keys.count("num_attention_heads")?;
    let kv = keys.count_or("num_key_value_heads", h)?;
    let explicit_head_dim = keys.maybe_count("head_dim")?;
    let head_dim = match (explicit_head_dim, model_type) {
        (Some(hd), _) => hd,
        (None, ModelType::Gemma) => 256,
        (None, _) => {
            if d % h != 0 {
                return Err(ConfigError::new(format!(
                    "`num_attention_heads` ({h}) must divide `hidden_size` ({d}), or give `head_dim`"
                )));
            }
            d / h
        }
    };
    let (qkv_bias, o_bias) = if model_type == ModelType::Qwen2 {
        (true, false)
    } else {
        let b = keys.flag_or("attention_bias", false)?;
        (b, b)
    };
    let sliding_window = match model_type {
        // HF's MistralConfig defaults to 4096; null turns it off (v0.2 on)
        ModelType::Mistral => match keys.map.get("sliding_window") {
            None => 4096,
            Some(_) => keys.maybe_count("sliding_window")?.unwrap_or(0),
        },
        ModelType::Mixtral | ModelType::Phi3 => keys.maybe_count("sliding_window")?.unwrap_or(0),
        ModelType::Qwen2 if keys.flag_or("use_sliding_window", false)? => {
            keys.maybe_count("sliding_window")?.unwrap_or(0)
        }
        _ => 0,
    };
    let (num_experts, experts_per_token) = match model_type {
        ModelType::Mixtral => (
            keys.count_or("num_local_experts", 8)?,
            keys.count_or("num_experts_per_tok", 2)?,
        ),
        _ => (0, 0),
    };
    let tie_default = matches!(model_type, ModelType::Gemma);
    let dropout = keys.any_dropout(&["attention_dropout"], 0.0)?;
    let config = ModelConfig {
        model_type,
        vocab_size: keys.count("vocab_size")?,
        hidden_size: d,
        num_layers: keys.count("num_hidden_layers")?,
        num_heads: h,
        num_kv_heads: kv,
        head_dim,
        intermediate_size: keys.count("intermediate_size")?,
        max_positions: keys.count_or("max_position_embeddings", 2048)?,
        tie_word_embeddings: keys.flag_or("tie_word_embeddings", tie_default)?,
        sliding_window,
        num_experts,
        experts_per_token,
        qkv_bias,
        o_bias,
        type_vocab_size: 0,
        masked_lm: false,
        dropout,
    };
    if h % kv != 0 {
        return Err(ConfigError::new(format!(
            "`num_key_value_heads` ({kv}) must divide `num_attention_heads` ({h})"
        )));
    }
    if head_dim % 2 != 0 {
        return Err(ConfigError::new(format!(
            "the head width ({head_dim}) must be even for rotary embeddings"
        )));
    }
    if experts_per_token > num_experts {
        return Err(ConfigError::new(format!(
            "`num_experts_per_tok` ({experts_per_token}) must be at most `num_local_experts` ({num_experts})"
        )));
    }
    Ok(config)
}

fn divides(c: ModelConfig, d_key: &str, h_key: &str) -> Result<ModelConfig, ConfigError> {
    if c.hidden_size.is_multiple_of(c.num_heads) {
        Ok(c)
    } else {
        Err(ConfigError::new(format!(
            "`{h_key}` ({}) must divide `{d_key}` ({})",
            c.num_heads, c.hidden_size
        )))
    }
}

/// The key as the model type's config.json spells it (GPT-2 has its own names).
fn file_key(model_type: ModelType, key: &'static str) -> &'static str {
    match (model_type, key) {
        (ModelType::Gpt2, "hidden_size") => "n_embd",
        (ModelType::Gpt2, "num_hidden_layers") => "n_layer",
        (ModelType::Gpt2, "num_attention_heads" | "num_key_value_heads") => "n_head",
        (ModelType::Gpt2, "intermediate_size") => "n_inner",
        (ModelType::Gpt2, "max_position_embeddings") => "n_positions",
        _ => key,
    }
}

/// Rejects absurd sizes before any count is formed, so that counting cannot overflow.
fn check(c: &ModelConfig) -> Result<(), ConfigError> {
    let dims = [
        ("vocab_size", c.vocab_size),
        ("hidden_size", c.hidden_size),
        ("num_hidden_layers", c.num_layers),
        ("num_attention_heads", c.num_heads),
        ("num_key_value_heads", c.num_kv_heads),
        ("head_dim", c.head_dim),
        ("intermediate_size", c.intermediate_size),
        ("max_position_embeddings", c.max_positions),
        ("num_local_experts", c.num_experts),
        ("type_vocab_size", c.type_vocab_size),
    ];
    for (key, value) in dims {
        let key = file_key(c.model_type, key);
        if value > MAX_DIM {
            return Err(ConfigError::new(format!(
                "`{key}` = {value} is beyond any real model (the limit is {MAX_DIM}); check the value"
            )));
        }
    }
    // every parameter count is at most layers · (widths)² · experts: keep it below 2^60
    let widest = [
        c.vocab_size,
        c.hidden_size,
        c.intermediate_size,
        c.num_heads * c.head_dim,
    ]
    .into_iter()
    .max()
    .map_or(0, u128::from);
    let bound =
        (u128::from(c.num_layers) + 2) * widest * widest * 4 * (u128::from(c.num_experts) + 1);
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
