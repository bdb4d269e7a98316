//! Loading a model: a config.json from disk, or a preset compiled into the binary.

use std::path::Path;

use estimator::config::ModelConfig;
use estimator::config::{clip, closest};

use crate::CliError;
use crate::args::Source;
use crate::checkpoint::Stored;
use crate::gguf::Gguf;
use crate::quant::Quant;

/// `(name, text)` for each `configs/<name>.json`, compiled in.
macro_rules! presets {
    ($($name:literal),+ $(,)?) => {
        &[$(($name, include_str!(concat!("../../configs/", $name, ".json")))),+]
    };
}

/// The bundled presets: the repository's `configs/`, compiled in (each one's PyTorch count is
/// in `tests/fixtures/config-params.json`, and `tests/families.rs` checks every file).
pub(crate) const PRESETS: &[(&str, &str)] = presets![
    "gpt2",
    "gpt2-medium",
    "gpt2-large",
    "gpt2-xl",
    "bert-base-uncased",
    "bert-large-uncased",
    "roberta-base",
    "roberta-large",
    "xlm-roberta-base",
    "distilbert-base-uncased",
    "electra-base-discriminator",
    "modernbert-base",
    "modernbert-large",
    "deberta-v3-base",
    "deberta-v3-large",
    "t5-small",
    "t5-base",
    "flan-t5-xl",
    "mt5-small",
    "bart-large",
    "opus-mt-en-de",
    "pegasus-large",
    "whisper-tiny",
    "whisper-base",
    "whisper-large-v3",
    "vit-base-patch16-224",
    "vit-large-patch16-224",
    "clip-vit-large-patch14-vision",
    "mamba-130m",
    "mamba-2.8b",
    "mamba2-2.7b",
    "jamba-v0.1",
    "bamba-9b",
    "llama-2-7b",
    "llama-2-13b",
    "llama-2-70b",
    "llama-3-8b",
    "mistral-7b",
    "mixtral-8x7b",
    "qwen2-7b",
    "gemma-2b",
    "phi3-mini",
    "llama-3.1-8b",
    "mistral-nemo-12b",
    "qwen2.5-7b",
    "qwen3-8b",
    "qwen3-30b-a3b",
    "gemma-2-9b",
    "gemma-3-12b",
    "phi-2",
    "phi-3-medium",
    "olmo-2-7b",
    "smollm3-3b",
    "starcoder2-7b",
    "deepseek-v2-lite",
    "deepseek-v3",
    "gpt-oss-20b",
    "gpt-oss-120b",
    "pythia-6.9b",
    "gpt-neox-20b",
    "falcon-7b",
    "bloom-560m",
    "opt-1.3b",
    "stablelm-2-1.6b",
    "llama-3.1-70b",
    "llama-3.1-405b",
    "llama-3.2-1b",
    "llama-3.2-3b",
    "qwen2.5-72b",
    "qwen3-32b",
    "qwen3-235b-a22b",
    "gemma-2-27b",
    "gemma-3-27b",
    "phi-3.5-moe",
    "opt-13b",
    "opt-66b",
    "opt-175b",
    "bloom-7b1",
];

/// The largest `config.json` read: real ones are a few kilobytes (the largest bundled, with
/// its per-layer lists, is under 10 KiB); the same limit as `model!`'s.
pub(crate) const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// A model to estimate: its name for reports and its hyper-parameters, and a GGUF file's
/// header when it came from one.
pub(crate) struct Model {
    pub(crate) name: String,
    pub(crate) config: ModelConfig,
    pub(crate) gguf: Option<Gguf>,
    /// A checkpoint's weights as its safetensors headers give them.
    pub(crate) stored: Option<Stored>,
    /// The config's `quantization_config`.
    pub(crate) quant: Option<Quant>,
    /// A `model_type` no family describes, served from its headers: the type and the dims its
    /// Llama-style stand-in takes ([`stand_in`]).
    pub(crate) generic: Option<Generic>,
}

impl Model {
    /// The `model_type` reported: the family's, or the undescribed one's.
    pub(crate) fn type_name(&self) -> &str {
        self.generic
            .as_ref()
            .map_or(self.config.model_type.name(), |g| g.model_type.as_str())
    }

    /// The count reported: the family's `params`, or an undescribed model's stored elements.
    pub(crate) fn count(&self, params: u64) -> u64 {
        self.generic.as_ref().map_or(params, |g| g.elements)
    }
}

/// A checkpoint of an architecture no family describes.
pub(crate) struct Generic {
    /// Its `model_type` (a GGUF file's `general.architecture`).
    pub(crate) model_type: String,
    /// How the stand-in was read, for the report's note.
    pub(crate) read: String,
    /// What gives the weights: "safetensors headers" or "GGUF tensor list".
    pub(crate) source: &'static str,
    /// The stored tensors.
    pub(crate) tensors: usize,
    /// Their elements: the count reported (packed quantized tensors count storage words).
    pub(crate) elements: u64,
}

/// A decoder's dimensions, as a Hugging Face config names them.
pub(crate) struct Dims {
    /// `hidden_size`.
    pub(crate) hidden: u64,
    /// `intermediate_size`.
    pub(crate) ffn: u64,
    /// `num_hidden_layers`.
    pub(crate) layers: u64,
    /// `num_attention_heads`.
    pub(crate) heads: u64,
    /// `num_key_value_heads`.
    pub(crate) kv: u64,
    /// `head_dim`.
    pub(crate) head_dim: u64,
    /// `vocab_size`.
    pub(crate) vocab: u64,
    /// `max_position_embeddings`.
    pub(crate) positions: u64,
    /// `tie_word_embeddings`.
    pub(crate) tied: bool,
}

/// The `config.json` of a `model_type` decoder of `d`'s dimensions (the family's defaults for
/// the rest): the stand-in of an undescribed architecture, and a GGUF header's family.
pub(crate) fn decoder_json(model_type: &str, d: &Dims) -> serde_json::Value {
    serde_json::json!({
        "model_type": model_type,
        "hidden_size": d.hidden,
        "intermediate_size": d.ffn,
        "num_hidden_layers": d.layers,
        "num_attention_heads": d.heads,
        "num_key_value_heads": d.kv,
        "head_dim": d.head_dim,
        "vocab_size": d.vocab,
        "max_position_embeddings": d.positions,
        "tie_word_embeddings": d.tied,
    })
}

/// The generic dims every transformers decoder config carries, as a Llama `config.json` that
/// stands in for an architecture no family describes, when `text`'s `model_type` is one (and
/// `None` when it is a family's, or absent: the family reader's errors say more). The dims are
/// read at the top level or, for a multimodal config, from its `text_config`.
fn stand_in(text: &str) -> Result<Option<(String, String, String)>, String> {
    let Ok(serde_json::Value::Object(top)) = serde_json::from_str::<serde_json::Value>(text) else {
        return Ok(None);
    };
    let Some(model_type) = top.get("model_type").and_then(|v| v.as_str()) else {
        return Ok(None);
    };
    if estimator::config::ModelType::from_name(model_type).is_some() {
        return Ok(None);
    }
    let shown = clip(model_type);
    let (dims, from) = match top.get("text_config").and_then(|v| v.as_object()) {
        Some(t) if !top.contains_key("hidden_size") => (t, " of its `text_config`"),
        _ => (&top, ""),
    };
    if let Some(why) = not_a_decoder(&top, dims) {
        return Err(format!(
            "`model_type` `{shown}` is not a family this tool describes, and {why}: a Llama stand-in would misprice it (a KV cache its layers do not have), so it is not priced"
        ));
    }
    let sliding = dims
        .get("layer_types")
        .and_then(|v| v.as_array())
        .is_some_and(|a| a.iter().any(|t| t.as_str() == Some("sliding_attention")));
    let int = |k: &str| {
        dims.get(k)
            .and_then(serde_json::Value::as_u64)
            .filter(|&v| v > 0)
    };
    let need = |k: &str| {
        int(k).ok_or_else(|| {
            format!(
                "`model_type` `{shown}` is not a family this tool describes, and its config has no `{k}`{from} to price its serving from; give a config of a supported family"
            )
        })
    };
    let (hidden, layers, heads, vocab) = (
        need("hidden_size")?,
        need("num_hidden_layers")?,
        need("num_attention_heads")?,
        need("vocab_size")?,
    );
    let kv = int("num_key_value_heads").unwrap_or(heads);
    let head_dim = match int("head_dim") {
        Some(d) => d,
        None if hidden % heads == 0 => hidden / heads,
        None => {
            return Err(format!(
                "`{shown}`: {heads} heads do not divide hidden_size {hidden} and there is no `head_dim`; a damaged config"
            ));
        }
    };
    let mut guessed = Vec::new();
    let ffn = int("intermediate_size").unwrap_or_else(|| {
        guessed.push("intermediate_size absent, so 4 × hidden_size");
        4 * hidden
    });
    let positions = int("max_position_embeddings").unwrap_or_else(|| {
        guessed.push("max_position_embeddings absent, so Llama's 2048");
        2048
    });
    let json = decoder_json(
        "llama",
        &Dims {
            hidden,
            ffn,
            layers,
            heads,
            kv,
            head_dim,
            vocab,
            positions,
            tied: false,
        },
    );
    if int("sliding_window").is_some() || sliding {
        guessed.push(
            "a sliding window, which the stand-in caches whole: its KV cache is an upper bound",
        );
    }
    let absent = if guessed.is_empty() {
        String::new()
    } else {
        format!("; {}", guessed.join(", "))
    };
    let read = format!(
        "hidden_size {hidden}, intermediate_size {ffn}, {layers} layers, {heads} heads, {kv} KV heads of {head_dim}, vocab {vocab}{from}{absent}"
    );
    Ok(Some((json.to_string(), model_type.to_owned(), read)))
}

/// Why a config is not a decoder of attention layers a Llama stand-in can price, if it says
/// so: an encoder–decoder, state-space, recurrent or hybrid layers (their keys, or
/// `layer_types` naming other than attention).
fn not_a_decoder(
    top: &serde_json::Map<String, serde_json::Value>,
    dims: &serde_json::Map<String, serde_json::Value>,
) -> Option<String> {
    if top
        .get("is_encoder_decoder")
        .and_then(serde_json::Value::as_bool)
        == Some(true)
    {
        return Some("it is an encoder–decoder (`is_encoder_decoder`)".to_owned());
    }
    let key = dims.keys().find(|k| {
        let k = k.to_ascii_lowercase();
        [
            "ssm",
            "mamba",
            "conv_l_cache",
            "linear_",
            "layers_block_type",
            "hybrid_override",
            "attn_layer_",
            "time_step",
            "rwkv",
            "xlstm",
        ]
        .iter()
        .any(|r| k.contains(r))
    });
    if let Some(k) = key {
        return Some(format!(
            "its config has `{}` (a state-space, recurrent or hybrid model's)",
            clip(k)
        ));
    }
    dims.get("layer_types")
        .and_then(|v| v.as_array())
        .and_then(|a| {
            a.iter()
                .filter_map(|t| t.as_str())
                .find(|t| !matches!(*t, "full_attention" | "sliding_attention"))
        })
        .map(|t| format!("its config has layer type `{}` (a hybrid model's)", clip(t)))
}

/// The model of a checkpoint's `config.json` and stored weights: the family's, or for a
/// `model_type` no family describes, the Llama-style stand-in of its generic dims.
fn checkpoint_model(config: &Path, stored: Stored, name: String) -> Result<Model, CliError> {
    let shown = config.display();
    let text = crate::read_bounded(config, MAX_CONFIG_BYTES, "a config.json")?;
    let Some((json, model_type, read)) =
        stand_in(&text).map_err(|e| CliError::new(format!("`{shown}`: {e}")))?
    else {
        let mut model = load(&Source {
            config: Some(config.to_path_buf()),
            preset: None,
            model: None,
        })?;
        model.name = name;
        model.stored = Some(stored);
        return Ok(model);
    };
    let config =
        ModelConfig::from_json(&json).map_err(|e| CliError::new(format!("`{shown}`: {e}")))?;
    let generic = Generic {
        model_type,
        read,
        source: "safetensors headers",
        tensors: stored.tensors,
        elements: stored.elements,
    };
    Ok(Model {
        name,
        config,
        gguf: None,
        stored: Some(stored),
        quant: None,
        generic: Some(generic),
    })
}

/// The model of `--model`: a Hub id in the local cache, a checkpoint directory or
/// `.safetensors` file, or a `.gguf` file.
fn load_path(path: &Path) -> Result<Model, CliError> {
    // a Hub id: its snapshot in the local cache, read as a checkpoint directory
    if let Some(id) = path.to_str().filter(|t| crate::hub::is_repo_id(t)) {
        let found = crate::hub::resolve(id)?;
        let mut model = if found.weights.is_empty() {
            load(&Source {
                config: Some(found.config),
                preset: None,
                model: None,
            })?
        } else {
            let stored = crate::checkpoint::stored(&found.weights)?;
            checkpoint_model(&found.config, stored, id.to_owned())?
        };
        id.clone_into(&mut model.name);
        return Ok(model);
    }
    let shown = path.display();
    let safetensors = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("safetensors"));
    if path.is_dir() || safetensors {
        let (config_path, stored) = crate::checkpoint::read(path)?;
        let dir_name = |p: &Path| p.file_name().map(|s| s.to_string_lossy().into_owned());
        let name = if safetensors {
            path.parent().and_then(dir_name)
        } else {
            dir_name(path)
        };
        let model = checkpoint_model(
            &config_path,
            stored,
            name.unwrap_or_else(|| "model".to_owned()),
        )?;
        return Ok(model);
    }
    if !path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
    {
        return Err(CliError::new(format!(
            "`--model {shown}`: give a checkpoint directory (config.json and .safetensors), a .safetensors file or a .gguf file"
        )));
    }
    let gguf = Gguf::read(path)?;
    let (text, stand_in) = gguf
        .config_json()
        .map_err(|e| CliError::new(format!("`{shown}`: {e}")))?;
    let generic = stand_in.map(|(model_type, read)| Generic {
        model_type,
        read,
        source: "GGUF tensor list",
        tensors: gguf.tensors.len(),
        elements: gguf.tensors.iter().map(|t| t.elements).sum(),
    });
    let config =
        ModelConfig::from_json(&text).map_err(|e| CliError::new(format!("`{shown}`: {e}")))?;
    let name = path
        .file_stem()
        .map_or_else(|| "model".to_owned(), |s| s.to_string_lossy().into_owned());
    Ok(Model {
        name,
        config,
        gguf: Some(gguf),
        stored: None,
        quant: None,
        generic,
    })
}

/// The model named by `--config`, `--preset` or `--model`.
pub(crate) fn load(source: &Source) -> Result<Model, CliError> {
    if let Some(path) = &source.model {
        return load_path(path);
    }
    match (source.config.as_deref(), source.preset.as_deref()) {
        (Some(path), _) => {
            let shown = path.display();
            let text = crate::read_bounded(path, MAX_CONFIG_BYTES, "a config.json")?;
            if let Ok(Some((_, model_type, _))) = stand_in(&text) {
                return Err(CliError::new(format!(
                    "`{shown}`: `model_type` `{}` is not a family this tool describes; serving it is priced from its weights' safetensors headers: give the checkpoint (--model DIR, FILE.safetensors, or org/name with the Hub reachable)",
                    clip(&model_type)
                )));
            }
            let (text, quant) =
                crate::quant::split(&text).map_err(|e| CliError::new(format!("`{shown}`: {e}")))?;
            let config = ModelConfig::from_json(&text)
                .map_err(|e| CliError::new(format!("`{shown}`: {e}")))?;
            let name = path
                .file_stem()
                .map_or_else(|| "model".to_owned(), |s| s.to_string_lossy().into_owned());
            let name = if name == "config" {
                path.parent()
                    .and_then(Path::file_name)
                    .map_or(name, |d| d.to_string_lossy().into_owned())
            } else {
                name
            };
            Ok(Model {
                name,
                config,
                gguf: None,
                stored: None,
                quant,
                generic: None,
            })
        }
        (None, Some(name)) => {
            let wanted = name.trim().to_ascii_lowercase();
            let Some((name, text)) = PRESETS.iter().find(|(n, _)| *n == wanted) else {
                let hint = closest(&wanted, PRESETS.iter().map(|(n, _)| *n))
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                return Err(CliError::new(format!(
                    "unknown preset `{}`{hint}; run `estimator presets` for the list, or give --config FILE",
                    clip(name)
                )));
            };
            let config = ModelConfig::from_json(text)
                .map_err(|e| CliError::new(format!("preset `{name}`: {e}")))?;
            Ok(Model {
                name: (*name).to_owned(),
                config,
                gguf: None,
                stored: None,
                quant: None,
                generic: None,
            })
        }
        (None, None) => Err(CliError::new(
            "give a model: --config FILE, --preset NAME or --model PATH (a checkpoint directory, .safetensors or .gguf)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::PRESETS;

    #[test]
    fn every_bundled_config_is_a_preset() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("configs/ is readable")
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                Some(name.strip_suffix(".json")?.to_owned())
            })
            .collect();
        files.sort();
        let mut names: Vec<String> = PRESETS.iter().map(|(n, _)| (*n).to_owned()).collect();
        names.sort();
        assert_eq!(names, files);
    }
}
