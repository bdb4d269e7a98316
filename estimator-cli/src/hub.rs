//! A model named by its Hugging Face Hub id, `org/name[@revision]`, found in the local Hugging
//! Face cache as `huggingface_hub` lays it out (`models--org--name/refs/<revision>` holding a
//! commit, `snapshots/<commit>/` holding the files as links into `blobs/`), so the Python tools
//! and this one share it. Nothing is downloaded.

use std::path::{Path, PathBuf};

use crate::CliError;

/// The cache's root, as `huggingface_hub` resolves it (`constants.py`): `HF_HUB_CACHE`, then
/// the older `HUGGINGFACE_HUB_CACHE`, then `$HF_HOME/hub`, then
/// `$XDG_CACHE_HOME/huggingface/hub`, then `~/.cache/huggingface/hub`.
pub(crate) fn cache_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("HF_HUB_CACHE")
        .or_else(|| var("HUGGINGFACE_HUB_CACHE"))
        .or_else(|| var("HF_HOME").map(|h| h.join("hub")))
        .or_else(|| var("XDG_CACHE_HOME").map(|x| x.join("huggingface").join("hub")))
        .or_else(|| var("HOME").map(|h| h.join(".cache").join("huggingface").join("hub")))
}

/// Whether `text` reads as a Hub id, `org/name` or `org/name@revision`, rather than a path
/// on disk.
pub(crate) fn is_repo_id(text: &str) -> bool {
    let id = text.split('@').next().unwrap_or("");
    let parts: Vec<&str> = id.split('/').collect();
    let word = |w: &str| {
        !w.is_empty()
            && w.len() <= 96
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !w.starts_with('.')
    };
    parts.len() == 2 && parts.iter().all(|p| word(p)) && !Path::new(text).exists()
}

/// The snapshot directory of `id` (`org/name[@revision]`, revision `main` by default) in the
/// cache.
pub(crate) fn snapshot(id: &str) -> Result<PathBuf, CliError> {
    let (repo, revision) = match id.split_once('@') {
        Some((r, rev)) if !rev.is_empty() => (r, rev),
        _ => (id, "main"),
    };
    let Some(cache) = cache_dir() else {
        return Err(CliError::new(
            "no Hugging Face cache to look in: set HF_HUB_CACHE or HF_HOME, or give --model DIR",
        ));
    };
    let folder = cache.join(format!("models--{}", repo.replace('/', "--")));
    let fetch = format!(
        "fetch it with `huggingface-cli download {repo} config.json` (and its .safetensors index and headers), or give --model DIR; this tool does not download"
    );
    if !folder.is_dir() {
        return Err(CliError::new(format!(
            "`{repo}` is not a path on disk, nor in the Hugging Face cache ({}); {fetch}",
            cache.display()
        )));
    }
    // a revision is a ref (a branch or tag) holding a commit, or a commit itself
    let commit = match std::fs::read_to_string(folder.join("refs").join(revision)) {
        Ok(c) => c.trim().to_owned(),
        Err(_) if revision.len() == 40 && revision.chars().all(|c| c.is_ascii_hexdigit()) => {
            revision.to_owned()
        }
        Err(_) => {
            return Err(CliError::new(format!(
                "`{repo}` has no revision `{revision}` in the cache ({}); {fetch}",
                folder.display()
            )));
        }
    };
    if commit.len() != 40 || !commit.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(CliError::new(format!(
            "`{}` does not hold a commit (a damaged cache); delete `{}` and download the model again",
            folder.join("refs").join(revision).display(),
            folder.display()
        )));
    }
    let snapshot = folder.join("snapshots").join(&commit);
    if !snapshot.join("config.json").is_file() {
        return Err(CliError::new(format!(
            "`{repo}`'s snapshot {commit} in the cache has no config.json; {fetch}"
        )));
    }
    Ok(snapshot)
}
