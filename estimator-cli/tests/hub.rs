//! `--model org/name` against a mock Hugging Face Hub on 127.0.0.1 (`HF_ENDPOINT`): what is
//! fetched (config.json, the safetensors index, each weight file's header by range requests),
//! where it lands (the cache layout `huggingface_hub` writes), what a second, offline run reads,
//! and the errors of a Hub that refuses (401, 403, 404) or cannot be reached. No test here
//! touches the network beyond 127.0.0.1.

mod common;

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::estimator;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/tiny-llama-bf16"
);
const COMMIT: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
const TOKEN: &str = "hf_test_token";

/// What the mock serves at a path.
#[derive(Clone)]
enum Route {
    /// A file, with its ETag; ranges honoured.
    File(Vec<u8>, String),
    /// A relative redirect (as the Hub sends an LFS file to its CDN).
    Redirect(String),
    /// An error status with the Hub's `X-Error-Code`.
    Error(u16, &'static str),
    /// A file behind a gate: 401 without a token, 403 with a wrong one.
    Gated(Vec<u8>, String),
    /// A file whose response carries the given ETag and commit, unchecked.
    Raw(Vec<u8>, &'static str, &'static str),
    /// A file served whole whatever the `Range` (as some mirrors do).
    NoRange(Vec<u8>, String),
}

/// A request the mock saw: the path and its `Range` header.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    range: Option<String>,
    auth: bool,
    bytes: usize,
}

/// A Hub on 127.0.0.1 serving `routes` (path → route); a `resolve/main/` path is answered as
/// the commit's. Every request is logged.
struct Mock {
    endpoint: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Mock {
    fn start(routes: HashMap<String, Route>) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Ok(reader) = stream.try_clone() else {
                    continue;
                };
                let mut reader = BufReader::new(reader);
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                let (mut range, mut auth) = (None, None);
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        match k.trim().to_ascii_lowercase().as_str() {
                            "range" => range = Some(v.trim().to_owned()),
                            "authorization" => auth = Some(v.trim().to_owned()),
                            _ => {}
                        }
                    }
                }
                let key = path.replace("/resolve/main/", &format!("/resolve/{COMMIT}/"));
                let found = routes.get(&path).or_else(|| routes.get(&key));
                let seen_auth = auth.is_some();
                let (status, headers, body) = respond(found, range.as_deref(), auth.as_deref());
                log.lock().expect("log").push(Seen {
                    path: path.clone(),
                    range,
                    auth: seen_auth,
                    bytes: body.len(),
                });
                let mut head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for (k, v) in headers {
                    head.push_str(&k);
                    head.push_str(": ");
                    head.push_str(&v);
                    head.push_str("\r\n");
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        Mock { endpoint, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("log").clone()
    }
}

/// The response to a request for `route`.
fn respond(
    route: Option<&Route>,
    range: Option<&str>,
    auth: Option<&str>,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let commit = ("X-Repo-Commit".to_owned(), COMMIT.to_owned());
    let error = |status: u16, code: &str| {
        (
            status,
            vec![("X-Error-Code".to_owned(), code.to_owned())],
            Vec::new(),
        )
    };
    let (body, etag) = match route {
        None => return error(404, "EntryNotFound"),
        Some(Route::Error(s, code)) => return error(*s, code),
        Some(Route::Redirect(to)) => {
            return (302, vec![("Location".to_owned(), to.clone())], vec![]);
        }
        Some(Route::Raw(body, etag, commit)) => {
            return (
                200,
                vec![
                    ("ETag".to_owned(), format!("\"{etag}\"")),
                    ("X-Repo-Commit".to_owned(), (*commit).to_owned()),
                ],
                body.clone(),
            );
        }
        Some(Route::Gated(body, etag)) => match auth {
            None => return error(401, "GatedRepo"),
            Some(a) if a != format!("Bearer {TOKEN}") => return error(403, "GatedRepo"),
            Some(_) => (body, etag),
        },
        Some(Route::File(body, etag)) => (body, etag),
        Some(Route::NoRange(body, etag)) => {
            return (
                200,
                vec![
                    ("X-Repo-Commit".to_owned(), COMMIT.to_owned()),
                    ("ETag".to_owned(), format!("\"{etag}\"")),
                ],
                body.clone(),
            );
        }
    };
    let mut headers = vec![commit, ("ETag".to_owned(), format!("\"{etag}\""))];
    let Some((from, to)) = range
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)))
    else {
        return (200, headers, body.clone());
    };
    let end = to.min(body.len().saturating_sub(1));
    headers.push((
        "Content-Range".to_owned(),
        format!("bytes {from}-{end}/{}", body.len()),
    ));
    (206, headers, body[from.min(body.len())..=end].to_vec())
}

/// A scratch Hugging Face cache, removed after the test.
struct Cache(PathBuf);

impl Cache {
    fn new(tag: &str) -> Cache {
        let dir = std::env::temp_dir().join(format!("estimator-hub-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("cache dir");
        Cache(dir)
    }

    fn repo(&self, id: &str) -> PathBuf {
        self.0.join(format!("models--{}", id.replace('/', "--")))
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `estimate --model id --mode infer --json` against `endpoint` with `cache`; the exit,
/// stdout and stderr.
fn run(endpoint: &str, cache: &Cache, id: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = estimator();
    // the mock is on 127.0.0.1: no proxy between
    for proxy in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env_remove(proxy);
    }
    cmd.env_remove("HF_HUB_OFFLINE")
        .env_remove("HF_TOKEN")
        .env_remove("HF_HOME")
        .env("HF_TOKEN_PATH", cache.0.join("no-token"))
        .env("HF_ENDPOINT", endpoint)
        .env("HF_HUB_CACHE", &cache.0)
        .args(["estimate", "--model", id, "--mode", "infer", "--json"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn weights(stdout: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(stdout).expect("JSON");
    v["parts"]["weights"].as_u64().expect("bytes")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURE).join(name)).expect("fixture")
}

/// A safetensors file of one bf16 `[1024, 1024]` tensor (2 MiB of data) whose header carries
/// 120,000 bytes of metadata: longer than the first range asked, so a second is needed.
fn big_shard() -> (Vec<u8>, usize) {
    let header = serde_json::json!({
        "__metadata__": {"pad": "x".repeat(120_000)},
        "extra.weight": {"dtype": "BF16", "shape": [1024, 1024], "data_offsets": [0, 2_097_152]},
    })
    .to_string();
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header.as_bytes());
    let head = file.len();
    file.resize(head + 2_097_152, 0);
    (file, head)
}

fn route(path: &str, r: Route) -> (String, Route) {
    (path.to_owned(), r)
}

/// A repo fetched from the mock lands in the cache as `huggingface_hub` lays it out
/// (`refs/main` → the commit, `snapshots/<commit>/config.json` a link to `../../blobs/<etag>`,
/// `.no_exist/<commit>/model.safetensors.index.json` for the absent index), the weight file's
/// header alone under `safetensors-headers/`; the weights equal those read from the checkpoint
/// on disk (tests/fixtures/tiny-llama-bf16: its headers' 3,926,528 B and the rotary buffers,
/// see cli.rs `checkpoint_weights_from_safetensors_headers`), and a second run with
/// `HF_HUB_OFFLINE=1` reads the same from the cache without a request.
#[test]
fn fetches_the_config_and_headers_into_the_cache_layout() {
    let st = fixture("model.safetensors");
    let header_len = 8 + u64::from_le_bytes(st[..8].try_into().expect("8 bytes")) as usize;
    let mock = Mock::start(HashMap::from([
        route(
            &format!("/acme/tiny/resolve/{COMMIT}/config.json"),
            Route::File(fixture("config.json"), "c0ffee".into()),
        ),
        route(
            &format!("/acme/tiny/resolve/{COMMIT}/model.safetensors"),
            Route::File(st.clone(), "f00d".repeat(16)),
        ),
    ]));
    let cache = Cache::new("fetch");
    let (code, out, err) = run(&mock.endpoint, &cache, "acme/tiny", &[]);
    assert_eq!(code, 0, "{err}");
    let on_disk = common::json(&["estimate", "--model", FIXTURE, "--mode", "infer", "--json"]);
    assert_eq!(
        weights(&out),
        on_disk["parts"]["weights"].as_u64().expect("bytes")
    );
    assert_eq!(weights(&out), 3_926_528 + 4 * 64);
    assert!(
        err.contains("fetching acme/tiny@main: config.json"),
        "{err}"
    );
    let repo = cache.repo("acme/tiny");
    let read = |p: &str| std::fs::read(repo.join(p)).unwrap_or_default();
    assert_eq!(read("refs/main"), COMMIT.as_bytes());
    let config = format!("snapshots/{COMMIT}/config.json");
    assert_eq!(read(&config), fixture("config.json"));
    assert_eq!(read("blobs/c0ffee"), fixture("config.json"));
    #[cfg(unix)]
    assert_eq!(
        std::fs::read_link(repo.join(&config)).expect("a link"),
        Path::new("../../blobs/c0ffee")
    );
    assert!(
        repo.join(format!(".no_exist/{COMMIT}/model.safetensors.index.json"))
            .is_file()
    );
    assert_eq!(
        read(&format!("safetensors-headers/{COMMIT}/model.safetensors")),
        st[..header_len]
    );
    // every request for the weights asked for a range
    let seen = mock.seen();
    assert!(
        seen.iter()
            .filter(|s| s.path.ends_with(".safetensors"))
            .all(|s| s.range.is_some()),
        "{seen:?}"
    );
    // offline, from the cache: the same answer, no request
    let (code, again, err) = run(
        &mock.endpoint,
        &cache,
        "acme/tiny",
        &[("HF_HUB_OFFLINE", "1")],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(weights(&again), weights(&out));
    assert_eq!(mock.seen().len(), seen.len());
}

/// A sharded repo, as the Hub serves one: config.json through a relative redirect to its
/// `resolve-cache` URL (the commit and ETag on the final answer), the index fetched into the
/// snapshot, each shard's header by ranges — the big shard's behind an absolute redirect to a
/// CDN on another host, which gets the range but not the token, and longer than the first
/// range, so it takes a second; of its 2 MiB of weights none is downloaded. The weights are
/// the two headers' sums: the fixture's 3,926,528 B and the extra tensor's
/// 1024 · 1024 · 2 = 2,097,152 B, with the rotary buffers.
#[test]
fn sharded_checkpoints_read_each_header_by_ranges() {
    let (big, head) = big_shard();
    let index = serde_json::json!({
        "metadata": {"total_size": 0},
        "weight_map": {
            "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
            "extra.weight": "model-00002-of-00002.safetensors",
        }
    })
    .to_string();
    let cdn = Mock::start(HashMap::from([route(
        "/shard2",
        Route::File(big.clone(), "bb".repeat(32)),
    )]));
    let base = format!("/acme/sharded/resolve/{COMMIT}");
    let cached = format!("/api/resolve-cache/models/acme/sharded/{COMMIT}/config.json?etag=c0ffee");
    let mock = Mock::start(HashMap::from([
        route(
            &format!("{base}/config.json"),
            Route::Redirect(cached.clone()),
        ),
        route(
            &cached,
            Route::File(fixture("config.json"), "c0ffee".into()),
        ),
        route(
            &format!("{base}/model.safetensors.index.json"),
            Route::File(index.clone().into_bytes(), "1dex".into()),
        ),
        route(
            &format!("{base}/model-00001-of-00002.safetensors"),
            Route::File(fixture("model.safetensors"), "aa".repeat(32)),
        ),
        route(
            &format!("{base}/model-00002-of-00002.safetensors"),
            Route::Redirect(format!("{}/shard2", cdn.endpoint)),
        ),
    ]));
    let cache = Cache::new("sharded");
    let (code, out, err) = run(
        &mock.endpoint,
        &cache,
        "acme/sharded",
        &[("HF_TOKEN", TOKEN)],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(weights(&out), 3_926_528 + 2_097_152 + 4 * 64);
    let repo = cache.repo("acme/sharded");
    let snapshot = repo.join(format!("snapshots/{COMMIT}"));
    assert_eq!(
        std::fs::read(snapshot.join("config.json")).expect("config"),
        fixture("config.json")
    );
    assert_eq!(
        std::fs::read(snapshot.join("model.safetensors.index.json")).expect("index"),
        index.as_bytes()
    );
    let stored = std::fs::read(repo.join(format!(
        "safetensors-headers/{COMMIT}/model-00002-of-00002.safetensors"
    )))
    .expect("header");
    assert_eq!(stored, big[..head]);
    assert!(mock.seen().iter().all(|s| s.auth), "{:?}", mock.seen());
    let cdn = cdn.seen();
    assert_eq!(cdn.len(), 2, "{cdn:?}");
    assert!(cdn.iter().all(|s| s.range.is_some() && !s.auth), "{cdn:?}");
    let served: usize = cdn.iter().map(|s| s.bytes).sum();
    assert_eq!(served, head, "only the header's bytes are served");
}

/// The Hub's refusals, each one line saying what to do: a repo that is not there (401
/// `RepoNotFound`, as the Hub answers an anonymous caller), a gated one without a token (401)
/// and with a token lacking access (403), a revision it does not have (404
/// `RevisionNotFound`), a repo without config.json; a gated repo with the right `HF_TOKEN`
/// is fetched.
#[test]
fn hub_refusals_say_what_to_do() {
    let base = format!("/acme/gated/resolve/{COMMIT}");
    let mock = Mock::start(HashMap::from([
        route(
            "/acme/absent/resolve/main/config.json",
            Route::Error(401, "RepoNotFound"),
        ),
        route(
            &format!("{base}/config.json"),
            Route::Gated(fixture("config.json"), "c0ffee".into()),
        ),
        route(
            &format!("{base}/model.safetensors"),
            Route::Gated(fixture("model.safetensors"), "aa".repeat(32)),
        ),
        route(
            "/acme/gated/resolve/v9/config.json",
            Route::Error(404, "RevisionNotFound"),
        ),
    ]));
    let cache = Cache::new("refusals");
    let fails = |id: &str, env: &[(&str, &str)], needles: &[&str]| {
        let (code, out, err) = run(&mock.endpoint, &cache, id, env);
        assert_eq!(code, 2, "{id}: {err}");
        assert!(out.is_empty());
        let last = err.lines().last().unwrap_or("");
        for n in needles {
            assert!(last.contains(n), "{id}: `{n}` not in {last}");
        }
        assert!(!err.contains("panicked"), "{err}");
    };
    fails("acme/absent", &[], &["`acme/absent` is not on", "HF_TOKEN"]);
    fails("acme/gated", &[], &["gated", "(401)", "set HF_TOKEN"]);
    fails(
        "acme/gated",
        &[("HF_TOKEN", "hf_wrong")],
        &["gated", "(403)", "no access"],
    );
    fails("acme/gated@v9", &[], &["no revision `v9`"]);
    fails("acme/nothing", &[], &["no config.json", "--config"]);
    let (code, out, err) = run(&mock.endpoint, &cache, "acme/gated", &[("HF_TOKEN", TOKEN)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(weights(&out), 3_926_528 + 4 * 64);
}

/// Without the Hub: `HF_HUB_OFFLINE=1` with the repo not cached, and an endpoint nothing
/// listens on, each say to use (or unset) `HF_HUB_OFFLINE` and what the cache holds.
#[test]
fn offline_and_unreachable_say_what_the_cache_holds() {
    let cache = Cache::new("offline");
    std::fs::create_dir_all(cache.repo("acme/other").join("refs")).expect("repo");
    std::fs::write(cache.repo("acme/other").join("refs/main"), COMMIT).expect("ref");
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", l.local_addr().expect("addr"))
    };
    let (code, _, err) = run(&closed, &cache, "acme/tiny", &[("HF_HUB_OFFLINE", "1")]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("HF_HUB_OFFLINE is set") && err.contains("holds acme/other"),
        "{err}"
    );
    let (code, _, err) = run(&closed, &cache, "acme/tiny", &[]);
    assert_eq!(code, 2, "{err}");
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.contains("cannot fetch") && last.contains("HF_HUB_OFFLINE=1"),
        "{last}"
    );
    assert!(last.contains("holds acme/other"), "{last}");
}

/// A hostile or broken endpoint cannot write outside the cache nor hand over a confident
/// number: an ETag that is a path, a commit that is not one, a config over the size limit,
/// an index naming a file outside the snapshot, a header longer than safetensors allows.
#[test]
fn hostile_hub_answers_are_refused() {
    let oversized = serde_json::json!({"model_type": "llama", "pad": "x".repeat(5 << 20)})
        .to_string()
        .into_bytes();
    let mut huge_header = u64::MAX.to_le_bytes().to_vec();
    huge_header.extend_from_slice(b"{}");
    let index = br#"{"weight_map": {"w": "../../../evil.safetensors"}}"#.to_vec();
    let mock = Mock::start(HashMap::from([
        route(
            "/acme/etag/resolve/main/config.json",
            Route::Raw(fixture("config.json"), "../../../evil", COMMIT),
        ),
        route(
            "/acme/commit/resolve/main/config.json",
            Route::Raw(fixture("config.json"), "c0ffee", "../main"),
        ),
        route(
            &format!("/acme/big/resolve/{COMMIT}/config.json"),
            Route::File(oversized, "c0ffee".into()),
        ),
        route(
            &format!("/acme/index/resolve/{COMMIT}/config.json"),
            Route::File(fixture("config.json"), "c0ffee".into()),
        ),
        route(
            &format!("/acme/index/resolve/{COMMIT}/model.safetensors.index.json"),
            Route::File(index, "1dex".into()),
        ),
        route(
            &format!("/acme/header/resolve/{COMMIT}/config.json"),
            Route::File(fixture("config.json"), "c0ffee".into()),
        ),
        route(
            &format!("/acme/header/resolve/{COMMIT}/model.safetensors"),
            Route::File(huge_header, "aa".repeat(32)),
        ),
    ]));
    let cache = Cache::new("hostile");
    for (id, needle) in [
        ("acme/etag", "no usable ETag"),
        ("acme/commit", "no commit"),
        ("acme/big", "larger than 4 MiB"),
        ("acme/index", "not a .safetensors file beside it"),
        ("acme/header", "over safetensors' limit"),
    ] {
        let (code, out, err) = run(&mock.endpoint, &cache, id, &[]);
        assert_eq!(code, 2, "{id}: {err}");
        assert!(out.is_empty());
        assert!(
            err.lines().last().unwrap_or("").contains(needle),
            "{id}: {err}"
        );
    }
    assert!(!cache.0.parent().expect("tmp").join("evil").exists());
    assert!(!cache.0.join("evil.safetensors").exists());
}

/// A mirror that ignores `Range` and sends the whole file: the header is still read exactly
/// (the second range skips to its start), the weights being the big shard's one tensor,
/// 1024 · 1024 · 2 = 2,097,152 B, with the rotary buffers.
#[test]
fn servers_ignoring_ranges_still_give_the_header() {
    let (big, head) = big_shard();
    let base = format!("/acme/mirror/resolve/{COMMIT}");
    let mock = Mock::start(HashMap::from([
        route(
            &format!("{base}/config.json"),
            Route::File(fixture("config.json"), "c0ffee".into()),
        ),
        route(
            &format!("{base}/model.safetensors"),
            Route::NoRange(big.clone(), "bb".repeat(32)),
        ),
    ]));
    let cache = Cache::new("mirror");
    let (code, out, err) = run(&mock.endpoint, &cache, "acme/mirror", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(weights(&out), 2_097_152 + 4 * 64);
    let stored = std::fs::read(
        cache
            .repo("acme/mirror")
            .join(format!("safetensors-headers/{COMMIT}/model.safetensors")),
    )
    .expect("header");
    assert_eq!(stored, big[..head]);
}
