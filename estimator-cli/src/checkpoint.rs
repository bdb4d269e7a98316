//! A Hugging Face checkpoint on disk: a directory with its `config.json` and `*.safetensors`
//! (or a `model.safetensors.index.json` naming them), or one `.safetensors` file beside a
//! `config.json`. Only the safetensors headers are read (`safetensors`' own `Metadata`): every
//! tensor's dtype and shape, so the weights' bytes as stored — packed int4 in `I32`/`U8`,
//! scales, zero points, fp8 with its scales, all as they are.

use std::io::Read;
use std::path::{Path, PathBuf};

use safetensors::tensor::Metadata;

use crate::CliError;

/// A safetensors header is at most this long (`safetensors`' own `MAX_HEADER_SIZE`).
pub(crate) const MAX_HEADER_BYTES: u64 = 100_000_000;
/// Checkpoint files read at most (the largest releases shard into a few hundred).
const MAX_FILES: usize = 4096;
/// The index of a sharded checkpoint, as `transformers` names it.
pub(crate) const INDEX: &str = "model.safetensors.index.json";

/// What the headers say about the weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stored {
    /// Their bytes as stored.
    pub(crate) bytes: u64,
    /// Tensors read.
    pub(crate) tensors: usize,
    /// Their elements (packed quantized tensors count their storage words).
    pub(crate) elements: u64,
    /// Their dtypes by bytes, largest first (`BF16 ×291`).
    pub(crate) dtypes: Vec<(String, usize, u64)>,
}

impl Stored {
    /// The dtypes, as `bf16 ×291, f32 ×65`.
    pub(crate) fn summary(&self) -> String {
        self.dtypes
            .iter()
            .map(|(d, n, _)| format!("{} ×{n}", d.to_ascii_lowercase()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The floating dtype holding most of the bytes, if one of F32, F16 or BF16 does.
    pub(crate) fn float_dtype(&self) -> Option<&str> {
        self.dtypes
            .first()
            .map(|(d, _, _)| d.as_str())
            .filter(|d| matches!(*d, "F32" | "F16" | "BF16"))
    }
}

/// The header of one safetensors file: `(tensors, elements, bytes)`, its dtypes added to `into`.
fn header(
    path: &Path,
    into: &mut Vec<(String, usize, u64)>,
) -> Result<(usize, u64, u64), CliError> {
    let shown = path.display();
    let file = std::fs::File::open(path)
        .map_err(|e| CliError::new(format!("cannot read `{shown}`: {e}")))?;
    let mut r = std::io::BufReader::new(file);
    let mut len = [0u8; 8];
    r.read_exact(&mut len).map_err(|_| {
        CliError::new(format!(
            "`{shown}` is not a safetensors file (shorter than its header's length)"
        ))
    })?;
    let n = u64::from_le_bytes(len);
    if n > MAX_HEADER_BYTES {
        return Err(CliError::new(format!(
            "`{shown}`: a header of {n} bytes, over safetensors' limit of {MAX_HEADER_BYTES}; not a safetensors file"
        )));
    }
    let mut text = Vec::new();
    r.take(n)
        .read_to_end(&mut text)
        .map_err(|e| CliError::new(format!("cannot read `{shown}`: {e}")))?;
    if text.len() as u64 != n {
        return Err(CliError::new(format!(
            "`{shown}`: the header ends early (a truncated file); download it again"
        )));
    }
    let meta: Metadata = serde_json::from_slice(&text).map_err(|e| {
        CliError::new(format!(
            "`{shown}` is not a safetensors header ({e}); download the file again"
        ))
    })?;
    let (mut bytes, mut count) = (0u64, 0u64);
    let tensors = meta.tensors();
    for (name, info) in &tensors {
        let elements = info
            .shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d as u64));
        let size = elements
            .and_then(|e| e.checked_mul(info.dtype.bitsize() as u64))
            .map(|bits| bits.div_ceil(8))
            .ok_or_else(|| {
                CliError::new(format!(
                    "`{shown}`: tensor `{name}`'s size overflows; a damaged header: download the file again"
                ))
            })?;
        let (start, end) = info.data_offsets;
        if end.checked_sub(start).map(|d| d as u64) != Some(size) {
            return Err(CliError::new(format!(
                "`{shown}`: tensor `{name}`'s offsets do not hold its shape; a damaged header: download the file again"
            )));
        }
        bytes = bytes.saturating_add(size);
        count = count.saturating_add(elements.unwrap_or(0));
        let dtype = format!("{:?}", info.dtype);
        match into.iter_mut().find(|(d, _, _)| *d == dtype) {
            Some((_, count, b)) => {
                *count += 1;
                *b = b.saturating_add(size);
            }
            None => into.push((dtype, 1, size)),
        }
    }
    Ok((tensors.len(), count, bytes))
}

/// The file names a `model.safetensors.index.json` maps the tensors to, each once, sorted.
pub(crate) fn index_names(index: &Path) -> Result<Vec<String>, CliError> {
    let text = crate::read_bounded(index, 64 << 20, "a safetensors index")?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        CliError::new(format!(
            "`{}` is not a safetensors index: {e}",
            index.display()
        ))
    })?;
    let mut names: Vec<String> = json["weight_map"]
        .as_object()
        .ok_or_else(|| {
            CliError::new(format!(
                "`{}` has no `weight_map`; download the index again",
                index.display()
            ))
        })?
        .values()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    names.sort();
    names.dedup();
    if names.len() > MAX_FILES {
        return Err(CliError::new(format!(
            "`{}` names {} weight files; no checkpoint has that many",
            index.display(),
            names.len()
        )));
    }
    Ok(names)
}

/// The safetensors files of a checkpoint directory: those its index names, or every
/// `*.safetensors` in it.
pub(crate) fn files(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let index = dir.join(INDEX);
    if index.is_file() {
        return Ok(index_names(&index)?
            .iter()
            .map(|n| dir.join(Path::new(n).file_name().unwrap_or_default()))
            .collect());
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| CliError::new(format!("cannot read `{}`: {e}", dir.display())))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    found.sort();
    Ok(found)
}

/// The `config.json` and the stored weights of a checkpoint directory or safetensors file.
pub(crate) fn read(path: &Path) -> Result<(PathBuf, Stored), CliError> {
    let (dir, list) = if path.is_dir() {
        (path.to_path_buf(), files(path)?)
    } else {
        let dir = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        (dir, vec![path.to_path_buf()])
    };
    let config = dir.join("config.json");
    if !config.is_file() {
        return Err(CliError::new(format!(
            "`{}` has no config.json beside its weights; the architecture is read from it",
            dir.display()
        )));
    }
    if list.is_empty() {
        return Err(CliError::new(format!(
            "`{}` holds no .safetensors files; give --config {} for the count alone",
            dir.display(),
            config.display()
        )));
    }
    if list.len() > MAX_FILES {
        return Err(CliError::new(format!(
            "`{}` names {} weight files; no checkpoint has that many",
            dir.display(),
            list.len()
        )));
    }
    Ok((config, stored(&list)?))
}

/// The weights as the headers of `files` give them.
pub(crate) fn stored(files: &[PathBuf]) -> Result<Stored, CliError> {
    let mut dtypes = Vec::new();
    let (mut tensors, mut elements, mut bytes) = (0usize, 0u64, 0u64);
    for f in files {
        let (n, e, b) = header(f, &mut dtypes)?;
        tensors += n;
        elements = elements.saturating_add(e);
        bytes = bytes.saturating_add(b);
    }
    dtypes.sort_by_key(|d| std::cmp::Reverse(d.2));
    Ok(Stored {
        bytes,
        tensors,
        elements,
        dtypes,
    })
}
