//! What the command-line tests share: running the binary and the checks on its output.

#![allow(dead_code, reason = "each test file uses the part it needs")]

use assert_cmd::Command;
use serde_json::Value;

/// The `estimator` binary of this build.
pub(crate) fn estimator() -> Command {
    Command::cargo_bin("estimator").expect("the binary builds")
}

/// Runs `args`, expects success, returns stdout.
pub(crate) fn ok(args: &[&str]) -> String {
    let out = estimator().args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Runs `args` and parses stdout as JSON.
pub(crate) fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).expect("valid JSON")
}

/// Runs `args`, expects exit status 2, nothing on stdout, and exactly one printable line on
/// stderr that starts with `estimator: `, holds every needle and no panic; returns the line.
pub(crate) fn fails_with(args: &[&str], needles: &[&str]) -> String {
    let out = estimator().args(args).output().expect("runs");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: one line, got {err}");
    assert!(err.starts_with("estimator: "), "{args:?}: {err}");
    assert!(
        !err.trim_end_matches('\n').chars().any(char::is_control),
        "{args:?}: control characters in {err:?}"
    );
    for needle in needles {
        assert!(
            err.contains(needle),
            "{args:?}: expected `{needle}` in {err}"
        );
    }
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
    err
}
