//! The fuzz targets' seeds and every input the fuzzer ever flagged (`fuzz/seeds`,
//! `fuzz/artifacts`), replayed as regression tests: `scripts/fuzz.sh` runs the fuzzer itself.

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut count = 0;
    for dir in ["seeds", "artifacts"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for entry in entries.flatten() {
            let data = std::fs::read(entry.path()).expect("readable input");
            check(&data);
            count += 1;
        }
    }
    count
}

#[test]
fn config_inputs() {
    assert!(
        replay("config", estimator_cli::fuzz::config) >= 15,
        "the bundled configs are seeds"
    );
}

#[test]
fn command_line_inputs() {
    assert!(replay("cli_args", estimator_cli::fuzz::args) >= 8);
}

#[test]
fn gguf_headers() {
    // the seeds: the fixture's header, cut and whole
    assert!(replay("gguf", estimator_cli::fuzz::gguf) >= 3);
}

#[test]
fn measurements_files() {
    assert!(replay("measurements", estimator_cli::fuzz::measurements) >= 4);
}
