#!/usr/bin/env bash
# Compile-time cost of estimator, by hand (not a test):
#  1. `cargo check` of a crate declaring 7 real models, with 20 `assert_fits!` against the same
#     crate without them: the asserts' cost (median of RUNS runs each, after a warm-up);
#  2. a clean build of the facade (`cargo build -p estimator` after `cargo clean`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
runs=${RUNS:-5}
work=$(mktemp -d)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT; echo "work: $work" >&2

mkdir -p "$work/models/src"
cat > "$work/models/Cargo.toml" <<TOML
[package]
name = "models"
version = "0.0.0"
edition = "2024"
publish = false
[dependencies]
estimator = { path = "$root" }
[features]
asserts = []
[workspace]
TOML
cat > "$work/models/src/lib.rs" <<'RS'
#![allow(dead_code, missing_docs)]
use estimator::prelude::*;

model!(pub Llama2_7B = "../../root/configs/llama-2-7b.json");
model!(pub Mistral7B = "../../root/configs/mistral-7b.json");
model!(pub Mixtral8x7B = "../../root/configs/mixtral-8x7b.json");
model!(pub Qwen2_7B = "../../root/configs/qwen2-7b.json");
model!(pub BertBase = "../../root/configs/bert-base-uncased.json");

#[derive(Params)]
struct Block { ln_1: LayerNorm<768>, attn: MultiHeadAttention<768, 12>, ln_2: LayerNorm<768>, mlp: FeedForward<768, 3072> }
#[derive(Params)]
struct Gpt2 { wte: Embedding<50257, 768>, wpe: Embedding<1024, 768>, h: [Block; 12], ln_f: LayerNorm<768>, #[params(tied)] lm_head: Linear<768, 50257, false> }

model! {
    pub LoraLlama {
        d = 4096,
        block Attention { q_proj: Linear<d, d, false>, shares_input v_proj: Linear<d, d, false>, core: AttentionCore<32, 32, 128> }
        layers: [Attention; 32],
        lora(rank = 16, targets = [q_proj, v_proj]),
    }
}

#[cfg(feature = "asserts")]
mod asserts {
    use super::*;
    const G: Bytes = gpu::A100_80GB.usable();
    assert_fits!(Training::of::<Gpt2>().batch(8).seq(1024).estimate(), GB24);
    assert_fits!(Training::of::<Gpt2>().batch(4).seq(1024).attention(AttentionKernel::Eager).estimate(), GB24);
    assert_fits!(Inference::of::<Gpt2>().batch(32).estimate(), GB24);
    assert_fits!(Training::of::<LoraLlama>().batch(4).seq(512).frozen_weights(DType::NF4).estimate(), GB24);
    assert_fits!(Inference::of::<Llama2_7B>().estimate(), GB24);
    assert_fits!(Inference::of::<Llama2_7B>().weights(DType::I4).batch(8).estimate(), GB24);
    assert_fits!(Training::of::<Llama2_7B>().zero(ZeroStage::Three, 8).recompute(Recompute::Full).estimate(), G);
    assert_fits!(Inference::of::<Mistral7B>().prompt(16384).estimate(), GB24);
    assert_fits!(Inference::of::<Mistral7B>().batch(16).estimate(), G);
    assert_fits!(Training::of::<Mistral7B>().zero(ZeroStage::Three, 8).recompute(Recompute::Full).estimate(), G);
    assert_fits!(Inference::of::<Mixtral8x7B>().weights(DType::I4).estimate(), GB48);
    assert_fits!(Inference::of::<Mixtral8x7B>().weights(DType::I4).batch(4).estimate(), G);
    assert_fits!(Inference::of::<Qwen2_7B>().estimate(), GB24);
    assert_fits!(Training::of::<Qwen2_7B>().zero(ZeroStage::Three, 8).recompute(Recompute::Full).estimate(), G);
    assert_fits!(Training::of::<BertBase>().batch(32).seq(512).estimate(), GB24);
    assert_fits!(Inference::of::<BertBase>().batch(64).prompt(512).generate(0).estimate(), GB24);
    const_assert!(Training::of::<Gpt2>().seq(1024).max_batch(GB24) > 8);
    const_assert!(Inference::of::<Mistral7B>().max_seq(GB24) > 8192);
    const_assert!(Training::of::<LoraLlama>().seq(512).frozen_weights(DType::NF4).max_batch(GB24) > 4);
    const_assert!(Inference::of::<Llama2_7B>().prompt(4096).max_batch(G) > 16);
}
RS
sed -i "s|../../root/configs|$root/configs|g" "$work/models/src/lib.rs"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
check() { # $1: features
  ( cd "$work/models" && cargo check -q $1 >/dev/null 2>&1 )  # warm-up: dependencies built
  for _ in $(seq "$runs"); do
    touch "$work/models/src/lib.rs"
    s=$(date +%s.%N); ( cd "$work/models" && cargo check -q $1 ); e=$(date +%s.%N)
    echo "$e - $s" | bc
  done | median
}
without=$(check "")
with=$(check "--features asserts")
echo "cargo check, 7 models:                 ${without} s (median of $runs)"
echo "cargo check, 7 models + 20 asserts:    ${with} s (median of $runs)"
echo "the asserts add:                       $(echo "$with - $without" | bc) s"

target=$(mktemp -d)
s=$(date +%s.%N); CARGO_TARGET_DIR="$target" cargo build -q -p estimator; e=$(date +%s.%N)
echo "clean build of the facade (debug):     $(echo "$e - $s" | bc) s"
rm -rf "$target"
