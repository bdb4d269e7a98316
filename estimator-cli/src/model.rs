//! Loading a model: a config.json from disk, or a preset compiled into the binary.

use std::path::Path;

use estimator::config::ModelConfig;
use estimator::config::closest;

use crate::CliError;

/// The bundled presets: the repository's `configs/`, compiled in.
pub(crate) const PRESETS: &[(&str, &str)] = &[
    ("gpt2", include_str!("../../configs/gpt2.json")),
    (
        "gpt2-medium",
        include_str!("../../configs/gpt2-medium.json"),
    ),
    ("gpt2-large", include_str!("../../configs/gpt2-large.json")),
    ("gpt2-xl", include_str!("../../configs/gpt2-xl.json")),
    (
        "bert-base-uncased",
        include_str!("../../configs/bert-base-uncased.json"),
    ),
    (
        "bert-large-uncased",
        include_str!("../../configs/bert-large-uncased.json"),
    ),
    ("llama-2-7b", include_str!("../../configs/llama-2-7b.json")),
    (
        "llama-2-13b",
        include_str!("../../configs/llama-2-13b.json"),
    ),
    (
        "llama-2-70b",
        include_str!("../../configs/llama-2-70b.json"),
    ),
    ("llama-3-8b", include_str!("../../configs/llama-3-8b.json")),
    ("mistral-7b", include_str!("../../configs/mistral-7b.json")),
    (
        "mixtral-8x7b",
        include_str!("../../configs/mixtral-8x7b.json"),
    ),
    ("qwen2-7b", include_str!("../../configs/qwen2-7b.json")),
    ("gemma-2b", include_str!("../../configs/gemma-2b.json")),
    ("phi3-mini", include_str!("../../configs/phi3-mini.json")),
    (
        "llama-3.1-8b",
        include_str!("../../configs/llama-3.1-8b.json"),
    ),
    (
        "mistral-nemo-12b",
        include_str!("../../configs/mistral-nemo-12b.json"),
    ),
    ("qwen2.5-7b", include_str!("../../configs/qwen2.5-7b.json")),
    ("qwen3-8b", include_str!("../../configs/qwen3-8b.json")),
    (
        "qwen3-30b-a3b",
        include_str!("../../configs/qwen3-30b-a3b.json"),
    ),
    ("gemma-2-9b", include_str!("../../configs/gemma-2-9b.json")),
    (
        "gemma-3-12b",
        include_str!("../../configs/gemma-3-12b.json"),
    ),
    ("phi-2", include_str!("../../configs/phi-2.json")),
    (
        "phi-3-medium",
        include_str!("../../configs/phi-3-medium.json"),
    ),
    ("olmo-2-7b", include_str!("../../configs/olmo-2-7b.json")),
    ("smollm3-3b", include_str!("../../configs/smollm3-3b.json")),
    (
        "starcoder2-7b",
        include_str!("../../configs/starcoder2-7b.json"),
    ),
    (
        "deepseek-v2-lite",
        include_str!("../../configs/deepseek-v2-lite.json"),
    ),
    (
        "deepseek-v3",
        include_str!("../../configs/deepseek-v3.json"),
    ),
    (
        "gpt-oss-20b",
        include_str!("../../configs/gpt-oss-20b.json"),
    ),
    (
        "gpt-oss-120b",
        include_str!("../../configs/gpt-oss-120b.json"),
    ),
    (
        "pythia-6.9b",
        include_str!("../../configs/pythia-6.9b.json"),
    ),
    (
        "gpt-neox-20b",
        include_str!("../../configs/gpt-neox-20b.json"),
    ),
    ("falcon-7b", include_str!("../../configs/falcon-7b.json")),
    ("bloom-560m", include_str!("../../configs/bloom-560m.json")),
    ("opt-1.3b", include_str!("../../configs/opt-1.3b.json")),
    (
        "stablelm-2-1.6b",
        include_str!("../../configs/stablelm-2-1.6b.json"),
    ),
    (
        "llama-3.1-70b",
        include_str!("../../configs/llama-3.1-70b.json"),
    ),
    (
        "llama-3.1-405b",
        include_str!("../../configs/llama-3.1-405b.json"),
    ),
    (
        "llama-3.2-1b",
        include_str!("../../configs/llama-3.2-1b.json"),
    ),
    (
        "llama-3.2-3b",
        include_str!("../../configs/llama-3.2-3b.json"),
    ),
    (
        "qwen2.5-72b",
        include_str!("../../configs/qwen2.5-72b.json"),
    ),
    ("qwen3-32b", include_str!("../../configs/qwen3-32b.json")),
    (
        "qwen3-235b-a22b",
        include_str!("../../configs/qwen3-235b-a22b.json"),
    ),
    (
        "gemma-2-27b",
        include_str!("../../configs/gemma-2-27b.json"),
    ),
    (
        "gemma-3-27b",
        include_str!("../../configs/gemma-3-27b.json"),
    ),
    (
        "phi-3.5-moe",
        include_str!("../../configs/phi-3.5-moe.json"),
    ),
    ("opt-13b", include_str!("../../configs/opt-13b.json")),
    ("opt-66b", include_str!("../../configs/opt-66b.json")),
    ("bloom-7b1", include_str!("../../configs/bloom-7b1.json")),
];

/// A model to estimate: its name for reports and its hyper-parameters.
pub(crate) struct Model {
    pub(crate) name: String,
    pub(crate) config: ModelConfig,
}

/// The model named by `--config` or `--preset`.
pub(crate) fn load(config: Option<&Path>, preset: Option<&str>) -> Result<Model, CliError> {
    match (config, preset) {
        (Some(path), _) => {
            let shown = path.display();
            let bytes = std::fs::read(path).map_err(|e| {
                CliError::new(format!(
                    "cannot read `{shown}`: {e}; give the path of a config.json"
                ))
            })?;
            let text = String::from_utf8(bytes).map_err(|_| {
                CliError::new(format!(
                    "`{shown}` is not a text file (invalid UTF-8); give a config.json"
                ))
            })?;
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
            Ok(Model { name, config })
        }
        (None, Some(name)) => {
            let wanted = name.trim().to_ascii_lowercase();
            let Some((name, text)) = PRESETS.iter().find(|(n, _)| *n == wanted) else {
                let hint = closest(&wanted, PRESETS.iter().map(|(n, _)| *n))
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                return Err(CliError::new(format!(
                    "unknown preset `{name}`{hint}; run `estimator presets` for the list, or give --config FILE"
                )));
            };
            let config = ModelConfig::from_json(text)
                .map_err(|e| CliError::new(format!("preset `{name}`: {e}")))?;
            Ok(Model {
                name: (*name).to_owned(),
                config,
            })
        }
        (None, None) => Err(CliError::new(
            "give a model: --config FILE or --preset NAME",
        )),
    }
}
