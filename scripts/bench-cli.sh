#!/usr/bin/env bash
# Whole-process time of one estimate: the `estimator` binary against the Python peer
# llm-analysis (installed from PyPI into a temporary venv when missing), side by side.
# Not a test: run by hand; needs hyperfine (Debian: apt-get install hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${LLM_ANALYSIS_VENV:-${TMPDIR:-/tmp}/estimator-bench-llm-analysis}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import llm_analysis" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet llm-analysis
fi
command -v hyperfine >/dev/null || { echo "bench-cli: install hyperfine (apt-get install hyperfine)" >&2; exit 2; }

cargo build --quiet --release -p estimator-cli
est=target/release/estimator
peer="$venv/bin/python -m llm_analysis.analysis"

echo "== inference: Llama-2-7B, batch 1, 512-token prompt + 256 generated, A100 80GB"
hyperfine -N --warmup 3 --runs 30 \
  "$peer infer --model_name NousResearch_Llama-2-7b-hf --gpu_name a100-sxm-80gb --batch_size_per_gpu 1 --seq_len 512 --num_tokens_to_generate 256 --log_level ERROR" \
  "$est estimate --preset llama-2-7b --mode infer --prompt 512 --generate 256 --gpu a100-80gb --json"

echo "== training: Llama-2-7B, ZeRO-3 over 8 GPUs, batch 4 × 512, A100 80GB (the estimator also solves max batch and max sequence)"
hyperfine -N --warmup 3 --runs 30 \
  "$peer train --model_name NousResearch_Llama-2-7b-hf --gpu_name a100-sxm-80gb --batch_size_per_gpu 4 --seq_len 512 --ds_zero 3 --dp_size 8 --total_num_tokens 1000000 --log_level ERROR" \
  "$est estimate --preset llama-2-7b --batch 4 --seq 512 --zero 3 --gpus 8 --gpu a100-80gb --json"
