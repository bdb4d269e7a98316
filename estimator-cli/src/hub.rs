//! A model named by its Hugging Face Hub id, `org/name[@revision]`.
//!
//! The local Hugging Face cache is read first, laid out as `huggingface_hub` writes it
//! (`models--org--name/refs/<revision>` holding a commit, `snapshots/<commit>/` holding the files
//! as links into `blobs/`, `.no_exist/<commit>/` marking files the repo does not have), so the
//! Python tools and this one share it. What the cache lacks is fetched from `HF_ENDPOINT` (the
//! public Hub by default) unless `HF_HUB_OFFLINE` is set: `config.json` and the safetensors
//! index into the same layout, and of each weight file only its header, by HTTP range requests
//! — never the weights. A header is kept in `safetensors-headers/<commit>/<file>` beside the
//! repo's `snapshots/`, not in it: a truncated file in a snapshot would break the Python tools
//! that load it.
//!
//! The HTTP client is `ureq` (the one `hf-hub`'s blocking API is built on). `hf-hub` itself is
//! not used: its 0.4 API fetches whole files only (its client's `get` is private, so no range
//! requests), takes the server's ETag and commit as path components unchecked, and reads neither
//! `HF_HUB_CACHE`, `HF_TOKEN` nor `HF_HUB_OFFLINE`; its 1.0 API brings tokio, reqwest and the
//! Xet storage client (some 300 crates) for three small reads.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::CliError;
use crate::checkpoint::{INDEX, MAX_HEADER_BYTES};

/// The Hub when `HF_ENDPOINT` is not set (`huggingface_hub`'s `constants.ENDPOINT`).
const DEFAULT_ENDPOINT: &str = "https://huggingface.co";
/// The single weight file of an unsharded checkpoint, as `transformers` names it.
const SINGLE: &str = "model.safetensors";
/// The first range asked of a weight file: most headers fit (`huggingface_hub`'s
/// `get_safetensors_metadata` asks for the same 100,000 bytes first).
const FIRST_RANGE: u64 = 100_000;
/// The largest `config.json` or index fetched (`model::MAX_CONFIG_BYTES`, the index's limit).
const MAX_CONFIG_BYTES: u64 = crate::model::MAX_CONFIG_BYTES;
const MAX_INDEX_BYTES: u64 = 64 << 20;

/// The cache's root, as `huggingface_hub` resolves it (`constants.py`): `HF_HUB_CACHE`, then
/// the older `HUGGINGFACE_HUB_CACHE`, then `$HF_HOME/hub`, then
/// `$XDG_CACHE_HOME/huggingface/hub`, then `~/.cache/huggingface/hub`.
pub(crate) fn cache_dir() -> Option<PathBuf> {
    var("HF_HUB_CACHE")
        .or_else(|| var("HUGGINGFACE_HUB_CACHE"))
        .or_else(|| hf_home().map(|h| h.join("hub")))
}

/// `HF_HOME`, then `$XDG_CACHE_HOME/huggingface`, then `~/.cache/huggingface`.
fn hf_home() -> Option<PathBuf> {
    var("HF_HOME")
        .or_else(|| var("XDG_CACHE_HOME").map(|x| x.join("huggingface")))
        .or_else(|| var("HOME").map(|h| h.join(".cache").join("huggingface")))
}

fn var(k: &str) -> Option<PathBuf> {
    std::env::var_os(k)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `HF_HUB_OFFLINE` as `huggingface_hub` reads it (`constants._is_true`).
fn offline() -> bool {
    std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_uppercase().as_str(),
            "1" | "ON" | "YES" | "TRUE"
        )
    })
}

/// The token sent to the Hub: `HF_TOKEN`, else the file `huggingface-cli login` writes
/// (`HF_TOKEN_PATH`, else `$HF_HOME/token`).
fn token() -> Option<String> {
    if let Ok(t) = std::env::var("HF_TOKEN")
        && !t.trim().is_empty()
    {
        return Some(t.trim().to_owned());
    }
    let path = var("HF_TOKEN_PATH").or_else(|| hf_home().map(|h| h.join("token")))?;
    let text = std::fs::read_to_string(path).ok()?;
    let t = text.trim();
    (!t.is_empty() && t.len() < 1024).then(|| t.to_owned())
}

fn word(w: &str) -> bool {
    !w.is_empty()
        && w.len() <= 96
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !w.starts_with('.')
}

/// Whether `text` reads as a Hub id, `org/name` or `org/name@revision`, rather than a path
/// on disk.
pub(crate) fn is_repo_id(text: &str) -> bool {
    let id = text.split('@').next().unwrap_or("");
    let parts: Vec<&str> = id.split('/').collect();
    parts.len() == 2 && parts.iter().all(|p| word(p)) && !Path::new(text).exists()
}

fn is_commit(text: &str) -> bool {
    text.len() == 40 && text.chars().all(|c| c.is_ascii_hexdigit())
}

/// A Hub id's config and the weight files (or their headers) found for it.
pub(crate) struct Resolved {
    /// Its `config.json` in the cache.
    pub(crate) config: PathBuf,
    /// Its safetensors files or their headers; empty when the repo has none, or when offline and
    /// the cache lacks some (the weights are then the family's count).
    pub(crate) weights: Vec<PathBuf>,
}

/// One repo in the cache, at one revision.
struct Repo<'a> {
    id: &'a str,
    revision: &'a str,
    cache: PathBuf,
    folder: PathBuf,
}

impl Repo<'_> {
    fn snapshot(&self, commit: &str) -> PathBuf {
        self.folder.join("snapshots").join(commit)
    }

    fn no_exist(&self, commit: &str, file: &str) -> PathBuf {
        self.folder.join(".no_exist").join(commit).join(file)
    }

    fn header(&self, commit: &str, file: &str) -> PathBuf {
        self.folder
            .join("safetensors-headers")
            .join(commit)
            .join(file)
    }

    /// The commit the cache holds for the revision, if it holds one with a config.
    fn cached_commit(&self) -> Result<Option<String>, CliError> {
        let ref_path = self.folder.join("refs").join(self.revision);
        let commit = match std::fs::read_to_string(&ref_path) {
            Ok(c) => c.trim().to_owned(),
            Err(_) if is_commit(self.revision) => self.revision.to_owned(),
            Err(_) => return Ok(None),
        };
        if !is_commit(&commit) {
            return Err(CliError::new(format!(
                "`{}` does not hold a commit (a damaged cache); delete `{}` and fetch the model again",
                ref_path.display(),
                self.folder.display()
            )));
        }
        Ok(self
            .snapshot(&commit)
            .join("config.json")
            .is_file()
            .then_some(commit))
    }

    /// What the cache holds, for an error that says what offline use would find.
    fn holdings(&self) -> String {
        let revisions: Vec<String> = std::fs::read_dir(self.folder.join("refs"))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        if !revisions.is_empty() {
            return format!("the cache holds `{}` at {}", self.id, revisions.join(", "));
        }
        let mut ids: Vec<String> = std::fs::read_dir(&self.cache)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_prefix("models--")
                    .map(|n| n.replacen("--", "/", 1))
            })
            .collect();
        ids.sort();
        match ids.len() {
            0 => format!("the cache ({}) holds no models", self.cache.display()),
            n if n <= 8 => format!(
                "the cache ({}) holds {}",
                self.cache.display(),
                ids.join(", ")
            ),
            n => format!(
                "the cache ({}) holds {} and {} more",
                self.cache.display(),
                ids[..8].join(", "),
                n - 8
            ),
        }
    }
}

/// The config and weights of `text` (`org/name[@revision]`, revision `main` by default): from
/// the cache, fetching what it lacks unless offline.
pub(crate) fn resolve(text: &str) -> Result<Resolved, CliError> {
    let (id, revision) = match text.split_once('@') {
        Some((r, rev)) if !rev.is_empty() => (r, rev),
        _ => (text, "main"),
    };
    if !revision.split('/').all(word) {
        return Err(CliError::new(format!(
            "`{revision}` is not a revision: give a branch, a tag or a commit (`{id}@main`)"
        )));
    }
    let Some(cache) = cache_dir() else {
        return Err(CliError::new(
            "no Hugging Face cache to use: set HF_HUB_CACHE or HF_HOME, or give --model DIR",
        ));
    };
    let repo = Repo {
        id,
        revision,
        folder: cache.join(format!("models--{}", id.replace('/', "--"))),
        cache,
    };
    let mut hub = (!offline()).then(|| Hub::new(&repo));
    let commit = match (repo.cached_commit()?, hub.as_mut()) {
        (Some(c), _) => c,
        (None, Some(h)) => h.config()?,
        (None, None) => {
            return Err(CliError::new(format!(
                "`{id}` at `{revision}` is not in the Hugging Face cache and HF_HUB_OFFLINE is set; {}: unset HF_HUB_OFFLINE to fetch it, or give --model DIR",
                repo.holdings()
            )));
        }
    };
    let snapshot = repo.snapshot(&commit);
    let count_alone = Resolved {
        config: snapshot.join("config.json"),
        weights: Vec::new(),
    };
    // the shards: the index's, or the one file
    let index = snapshot.join(INDEX);
    if !index.is_file() {
        // a snapshot downloaded whole (`huggingface-cli download`) reads as the checkpoint
        let local = crate::checkpoint::files(&snapshot)?;
        if !local.is_empty() {
            return Ok(Resolved {
                config: count_alone.config,
                weights: local,
            });
        }
    }
    if !index.is_file() && !repo.no_exist(&commit, INDEX).exists() {
        match hub.as_mut() {
            Some(h) => h.file(&commit, INDEX, MAX_INDEX_BYTES)?,
            // offline, and the cache does not know whether the repo is sharded
            None => return Ok(count_alone),
        }
    }
    let shards = if index.is_file() {
        crate::checkpoint::index_names(&index)?
    } else {
        vec![SINGLE.to_owned()]
    };
    let mut weights = Vec::with_capacity(shards.len());
    for name in &shards {
        if !word(name) || !name.ends_with(".safetensors") {
            return Err(CliError::new(format!(
                "`{id}`'s index names `{name}`, not a .safetensors file beside it; the index is damaged or not one transformers writes"
            )));
        }
        let (file, header) = (snapshot.join(name), repo.header(&commit, name));
        if file.is_file() {
            weights.push(file);
        } else if header.is_file() {
            weights.push(header);
        } else if repo.no_exist(&commit, name).exists() {
            return Ok(count_alone);
        } else {
            let fetched = match hub.as_mut() {
                Some(h) => h.header(&commit, name)?,
                None => false,
            };
            if !fetched {
                // no such file on the Hub, or offline with some headers missing
                return Ok(count_alone);
            }
            weights.push(header);
        }
    }
    Ok(Resolved {
        config: count_alone.config,
        weights,
    })
}

/// What a request to the Hub came back with.
enum Got {
    /// The body (or the asked range of it) and what the Hub said of the file.
    Body(Vec<u8>, Meta),
    /// The repo is there but the file is not (404 `EntryNotFound`).
    Missing,
}

/// What the Hub's responses said of a file: `X-Repo-Commit`, and `X-Linked-Etag` or `ETag`.
#[derive(Default)]
struct Meta {
    commit: Option<String>,
    etag: Option<String>,
}

/// `scheme://host[:port]` of an http(s) URL.
fn origin(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    (host > 0).then(|| &url[..url.len() - rest.len() + host])
}

/// A redirect's `Location` against the URL it answered: absolute, or a path on the same host.
fn join(base: &str, location: &str) -> Option<String> {
    if origin(location).is_some() {
        Some(location.to_owned())
    } else if location.starts_with('/') && !location.starts_with("//") {
        Some(format!("{}{location}", origin(base)?))
    } else {
        None
    }
}

/// The Hub, for one repo.
struct Hub<'a> {
    repo: &'a Repo<'a>,
    agent: ureq::Agent,
    endpoint: String,
    token: Option<String>,
    fetched: u64,
}

impl<'a> Hub<'a> {
    fn new(repo: &'a Repo<'a>) -> Hub<'a> {
        let endpoint = std::env::var("HF_ENDPOINT")
            .ok()
            .filter(|e| !e.trim().is_empty())
            .map_or_else(
                || DEFAULT_ENDPOINT.to_owned(),
                |e| e.trim().trim_end_matches('/').to_owned(),
            );
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_mins(1)))
            // redirects are followed by `get`, which keeps the metadata of each hop
            .max_redirects(0)
            .user_agent(concat!("estimator/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Hub {
            repo,
            agent,
            endpoint,
            token: token(),
            fetched: 0,
        }
    }

    /// The URL of a file at a revision (`huggingface_hub`'s `hf_hub_url`: the revision
    /// percent-encoded, so `refs/pr/1` stays one path segment).
    fn url(&self, revision: &str, file: &str) -> String {
        let rev: String = revision
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        format!("{}/{}/resolve/{rev}/{file}", self.endpoint, self.repo.id)
    }

    /// GET a file (or bytes `range` of it), reading at most `cap` bytes. Redirects are
    /// followed one by one, as `huggingface_hub` 2.4 does (`utils/_http.py`,
    /// `_httpx2_follow_hub_redirects_with_backoff`): the commit and ETag are read from the
    /// Hub's own responses (a small file's `resolve-cache` answer, an LFS file's redirect),
    /// never from a CDN's; the token goes to the Hub's host alone, the range to every hop.
    fn get(
        &mut self,
        revision: &str,
        file: &str,
        range: Option<(u64, u64)>,
        cap: u64,
    ) -> Result<Got, CliError> {
        let Some(home) = origin(&self.endpoint) else {
            return Err(CliError::new(format!(
                "HF_ENDPOINT `{}` is not an http(s) URL; unset it for the public Hub",
                self.endpoint
            )));
        };
        let what = match range {
            Some(_) => format!("{file}'s header"),
            None => file.to_owned(),
        };
        eprintln!(
            "estimator: fetching {}@{}: {what}",
            self.repo.id, self.repo.revision
        );
        let mut url = self.url(revision, file);
        let mut meta = Meta::default();
        for _hop in 0..10 {
            let hub = origin(&url) == Some(home);
            let mut request = self.agent.get(&url);
            if let Some((from, to)) = range {
                request = request.header("Range", &format!("bytes={from}-{to}"));
            }
            if let (true, Some(t)) = (hub, &self.token) {
                request = request.header("Authorization", &format!("Bearer {t}"));
            }
            let response = request.call().map_err(|e| self.unreachable(&what, &e))?;
            let status = response.status().as_u16();
            let header = |k: &str| {
                response
                    .headers()
                    .get(k)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.trim().to_owned())
            };
            if hub {
                meta.commit = header("x-repo-commit").or(meta.commit);
                meta.etag = header("x-linked-etag")
                    .or_else(|| header("etag"))
                    .or(meta.etag);
            }
            if (300..400).contains(&status) {
                let next = header("location").and_then(|l| join(&url, &l));
                url = next.ok_or_else(|| {
                    CliError::new(format!(
                        "{} redirected `{}`'s {what} without a usable Location; check HF_ENDPOINT",
                        self.endpoint, self.repo.id
                    ))
                })?;
                continue;
            }
            if !(200..300).contains(&status) {
                let code = header("x-error-code").unwrap_or_default();
                return self.refused(&what, status, &code);
            }
            let mut body = Vec::new();
            let mut reader = response.into_body().into_reader();
            // a server that ignores `Range` answers 200 with the whole file: skip to the range
            if let (Some((from, _)), 200) = (range, status) {
                std::io::copy(&mut (&mut reader).take(from), &mut std::io::sink())
                    .map_err(|e| self.unreachable(&what, &e))?;
            }
            reader
                .take(cap + 1)
                .read_to_end(&mut body)
                .map_err(|e| self.unreachable(&what, &e))?;
            if range.is_none() && body.len() as u64 > cap {
                return Err(CliError::new(format!(
                    "`{}`'s {file} from {} is larger than {} MiB; no real one is: check HF_ENDPOINT",
                    self.repo.id,
                    self.endpoint,
                    cap >> 20
                )));
            }
            body.truncate(cap as usize);
            self.fetched += body.len() as u64;
            return Ok(Got::Body(body, meta));
        }
        Err(CliError::new(format!(
            "{} redirected `{}`'s {what} more than 10 times; check HF_ENDPOINT",
            self.endpoint, self.repo.id
        )))
    }

    /// The error for a Hub that answered with `status`, or `Missing` for a file it does not
    /// have (`huggingface_hub`'s `hf_raise_for_status` reads the same `X-Error-Code`).
    fn refused(&self, what: &str, status: u16, code: &str) -> Result<Got, CliError> {
        let (id, revision) = (self.repo.id, self.repo.revision);
        let (ep, token) = (&self.endpoint, self.token.is_some());
        let message = match (status, code) {
            (404, "EntryNotFound") => return Ok(Got::Missing),
            (_, "GatedRepo") | (403, _) => format!(
                "`{id}` is gated on {ep} ({status}): accept its terms on the model's page, then set HF_TOKEN to a token of that account{}",
                if token {
                    " (the token sent has no access)"
                } else {
                    ""
                }
            ),
            (_, "RevisionNotFound") => format!(
                "`{id}` has no revision `{revision}` on {ep} ({status}): give a branch, a tag or a commit it has"
            ),
            (401 | 404, _) if !token => format!(
                "`{id}` is not on {ep}, or is private or gated ({status}): check the id, or set HF_TOKEN to a token with access"
            ),
            (401, _) => format!(
                "{ep} refused the token for `{id}` ({status}): set HF_TOKEN to a valid token"
            ),
            (404, _) => format!(
                "`{id}` is not on {ep}, or the token has no access to it ({status}): check the id"
            ),
            _ => format!(
                "{ep} answered {status} for `{id}`'s {what}; try again later, or set HF_HUB_OFFLINE=1 to use the cache alone ({})",
                self.repo.holdings()
            ),
        };
        Err(CliError::new(message))
    }

    fn unreachable(&self, what: &str, e: &dyn std::fmt::Display) -> CliError {
        CliError::new(format!(
            "cannot fetch `{}`'s {what} from {} ({e}); check the network and HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use the cache alone ({})",
            self.repo.id,
            self.endpoint,
            self.repo.holdings()
        ))
    }

    /// Fetches `config.json` at the revision into the cache; its commit.
    fn config(&mut self) -> Result<String, CliError> {
        let revision = self.repo.revision;
        let (body, meta) = match self.get(revision, "config.json", None, MAX_CONFIG_BYTES)? {
            Got::Body(b, m) => (b, m),
            Got::Missing => {
                return Err(CliError::new(format!(
                    "`{}` has no config.json at `{revision}`: not a transformers model; give --config FILE",
                    self.repo.id
                )));
            }
        };
        let commit = meta.commit.unwrap_or_default().to_ascii_lowercase();
        if !is_commit(&commit) {
            return Err(CliError::new(format!(
                "{} sent no commit (X-Repo-Commit) with `{}`'s config.json; HF_ENDPOINT is not a Hugging Face Hub",
                self.endpoint, self.repo.id
            )));
        }
        let etag = self.etag(meta.etag.as_deref(), "config.json")?;
        self.store(&commit, "config.json", &etag, &body)?;
        if revision != commit {
            let ref_path = self.repo.folder.join("refs").join(revision);
            write(&ref_path, commit.as_bytes())?;
        }
        Ok(commit)
    }

    /// The blob name of a file from the ETag the Hub sent.
    fn etag(&self, raw: Option<&str>, name: &str) -> Result<String, CliError> {
        raw.and_then(etag).ok_or_else(|| {
            CliError::new(format!(
                "{} sent no usable ETag with `{}`'s {name}; HF_ENDPOINT is not a Hugging Face Hub",
                self.endpoint, self.repo.id
            ))
        })
    }

    /// Fetches a small file at the commit into the snapshot, or marks it in `.no_exist`.
    fn file(&mut self, commit: &str, name: &str, cap: u64) -> Result<(), CliError> {
        match self.get(commit, name, None, cap)? {
            Got::Body(body, meta) => {
                let tag = self.etag(meta.etag.as_deref(), name)?;
                self.store(commit, name, &tag, &body)
            }
            Got::Missing => write(&self.repo.no_exist(commit, name), b""),
        }
    }

    /// Fetches a weight file's header by range requests into `safetensors-headers/`; false
    /// when the repo has no such file (marked in `.no_exist`).
    fn header(&mut self, commit: &str, name: &str) -> Result<bool, CliError> {
        let mut bytes = match self.get(commit, name, Some((0, FIRST_RANGE - 1)), FIRST_RANGE)? {
            Got::Body(b, _) => b,
            Got::Missing => {
                write(&self.repo.no_exist(commit, name), b"")?;
                return Ok(false);
            }
        };
        let (id, endpoint) = (self.repo.id, self.endpoint.clone());
        let damaged = |why: &str| {
            CliError::new(format!(
                "`{id}`'s {name} from {endpoint}: {why}; not a safetensors file"
            ))
        };
        let Some(len) = bytes.first_chunk::<8>().map(|b| u64::from_le_bytes(*b)) else {
            return Err(damaged("shorter than its header's length"));
        };
        if len > MAX_HEADER_BYTES {
            return Err(damaged(&format!(
                "a header of {len} bytes, over safetensors' limit of {MAX_HEADER_BYTES}"
            )));
        }
        let end = 8 + len;
        if (bytes.len() as u64) < end {
            let from = bytes.len() as u64;
            let rest = match self.get(commit, name, Some((from, end - 1)), end - from)? {
                Got::Body(b, _) => b,
                Got::Missing => return Err(damaged("the file went away while read")),
            };
            bytes.extend_from_slice(&rest);
            if (bytes.len() as u64) < end {
                return Err(damaged("the header ends early"));
            }
        }
        bytes.truncate(end as usize);
        write(&self.repo.header(commit, name), &bytes)?;
        Ok(true)
    }

    /// Writes a fetched file as `huggingface_hub` does: the bytes in `blobs/<etag>`, the
    /// snapshot's entry a relative link to it.
    fn store(&self, commit: &str, name: &str, etag: &str, body: &[u8]) -> Result<(), CliError> {
        let blob = self.repo.folder.join("blobs").join(etag);
        write(&blob, body)?;
        let link = self.repo.snapshot(commit).join(name);
        if link.exists() {
            return Ok(());
        }
        let io = |e: std::io::Error| {
            CliError::new(format!(
                "cannot write `{}` in the Hugging Face cache: {e}; check its permissions or set HF_HUB_CACHE",
                link.display()
            ))
        };
        if let Some(dir) = link.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(Path::new("../../blobs").join(etag), &link).map_err(io)?;
        #[cfg(not(unix))]
        std::fs::copy(&blob, &link).map(drop).map_err(io)?;
        Ok(())
    }
}

/// The progress lines' end, however the resolution ends: what was fetched.
impl Drop for Hub<'_> {
    fn drop(&mut self) {
        if self.fetched > 0 {
            eprintln!(
                "estimator: fetched {} bytes into {}",
                self.fetched,
                self.repo.folder.display()
            );
        }
    }
}

/// An ETag as `huggingface_hub` normalizes it (`W/` and quotes dropped), if it is safe as a
/// file name: a Git or LFS hash is hex.
fn etag(raw: &str) -> Option<String> {
    let tag = raw.trim().trim_start_matches("W/").trim_matches('"');
    (!tag.is_empty()
        && tag.len() <= 128
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')))
    .then(|| tag.to_owned())
}

/// Writes a cache file whole or not at all (a temporary beside it, then a rename).
fn write(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let io = |e: std::io::Error| {
        CliError::new(format!(
            "cannot write `{}` in the Hugging Face cache: {e}; check its permissions or set HF_HUB_CACHE",
            path.display()
        ))
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension(format!("incomplete.{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
