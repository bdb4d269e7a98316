#!/usr/bin/env bash
# Fuzz the config.json importer, the command line, validate's measurements files and the GGUF header reader for SECONDS each (default 300), with
# cargo-fuzz (installed when missing) on the stable toolchain (RUSTC_BOOTSTRAP lets it pass
# libFuzzer's -Z flags). Not part of CI: CI replays fuzz/seeds and fuzz/artifacts as tests.
# Findings land in fuzz/artifacts/<target>/; copy new interesting inputs into fuzz/seeds/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
export RUSTC_BOOTSTRAP=1
for target in config cli_args measurements gguf; do
  mkdir -p "fuzz/corpus/$target"
  echo "== $target for ${seconds}s"
  cargo fuzz run "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -max_len=8192 -print_final_stats=1 2>&1 | tail -n 12
done
