//! What `Cost` records beyond parameter counts, checked against published figures.

mod common;
use common::GptBlock;
use estimator::prelude::*;

/// Korthikanti et al. 2022, Eq. 1: a transformer layer saves `s·b·h·(34 + 5·a·s/h)` bytes
/// (16-bit activations, 1-byte dropout masks, no recomputation).
fn textbook_bytes(c: &Cost, b: u64, s: u64) -> u64 {
    c.act.textbook_per_token * b * s + c.act.textbook_per_token_seq * b * s * s
}

#[test]
fn korthikanti_per_layer_bytes() {
    for (s, b) in [(128, 1), (2048, 4), (4096, 2)] {
        let (h, a) = (768, 12);
        let expected = s * b * h * 34 + 5 * a * s * s * b;
        assert_eq!(
            textbook_bytes(&<TransformerLayer<768, 12>>::COST, b, s),
            expected
        );
        // the same layer written as fields gives the same figure
        assert_eq!(
            textbook_bytes(&<GptBlock<768, 12, 3072>>::COST, b, s),
            expected
        );
    }
}

/// The Zhihu analysis of GPT-3 175B (l = 96, h = 12288, a = 96, s = 2048, b = 1):
/// 96 · (34·b·s·h + 5·b·s²·a) = 275,414,777,856 bytes ("≈ 275 GB").
#[test]
fn gpt3_175b_activations() {
    let layers = <[TransformerLayer<12288, 96>; 96]>::COST;
    assert_eq!(textbook_bytes(&layers, 1, 2048), 275_414_777_856);
    let blocks = <[GptBlock<12288, 96, 49152>; 96]>::COST;
    assert_eq!(textbook_bytes(&blocks, 1, 2048), 275_414_777_856);
}

/// KV cache per token = 2 (K and V) · layers · kv_heads · head_dim elements: Llama-2-7B
/// (32 layers, 32 heads of 128) keeps 262,144 elements — 512 KiB at 16 bits; Mistral-7B
/// (8 KV heads) a quarter of that (shared/reference/README.md, fact 8).
#[test]
fn kv_cache_per_token() {
    type Llama = [MultiHeadAttention<4096, 32, 32, false>; 32];
    type Mistral = [MultiHeadAttention<4096, 32, 8, false, 4096>; 32];
    assert_eq!(Llama::COST.kv_per_token, 262_144);
    assert_eq!(
        DType::BF16.bytes_for(Llama::COST.kv_per_token),
        Bytes::kib(512)
    );
    assert_eq!(Mistral::COST.kv_window_per_token, 65_536);
    assert_eq!(Mistral::COST.kv_per_token, 0);
}

/// A classifier fine-tuned on a frozen backbone.
#[derive(Params)]
struct Tuned {
    #[params(frozen)]
    backbone: [GptBlock<768, 12, 3072>; 12],
    head: Linear<768, 2>,
}

/// Frozen layers and LoRA (Hu et al. 2021): adapters `r·(in + out)` trainable, the base frozen.
#[test]
fn frozen_and_lora() {
    type Q = Lora<Linear<4096, 4096, false>, 8>;
    assert_eq!(Q::TRAINABLE, 8 * (4096 + 4096));
    assert_eq!(Q::COST.frozen_matmul, 4096 * 4096);
    assert_eq!(<Frozen<FeedForward<768, 3072>>>::TRAINABLE, 0);
    assert_eq!(
        <Frozen<FeedForward<768, 3072>>>::PARAMS,
        8 * 768 * 768 + 5 * 768
    );

    assert_eq!(Tuned::TRAINABLE, 768 * 2 + 2);
    assert_eq!(
        Tuned::PARAMS,
        12 * (12 * 768 * 768 + 13 * 768) + 768 * 2 + 2
    );
    // A frozen Linear keeps no input for a weight gradient it does not compute.
    assert_eq!(
        <Frozen<Linear<768, 768>>>::COST.act.weight_input_per_token,
        0
    );
    assert_eq!(<Linear<768, 768>>::COST.act.weight_input_per_token, 768);
}

/// Adam's state has a `step` per parameter tensor (shared/reference/README.md, fact 1: AdamW
/// state = 2 × P × dtype + 4 bytes per tensor), so `Cost` counts tensors as PyTorch does.
#[test]
fn tensor_counts() {
    type Block = (
        RmsNorm<4096>,
        MultiHeadAttention<4096, 32, 32, false>,
        RmsNorm<4096>,
        GatedFeedForward<4096, 11008>,
    );
    // weight + bias
    assert_eq!(<Linear<768, 768>>::COST.tensors, 2);
    // nn.TransformerEncoderLayer: in_proj w/b, out_proj w/b, linear1 w/b, linear2 w/b, norm1 w/b, norm2 w/b
    assert_eq!(<TransformerLayer<512, 8>>::COST.tensors, 12);
    // Llama-2-7B: embed, 32 × (2 norms + q, k, v, o + gate, up, down), norm, lm_head = 291
    assert_eq!(<[Block; 32]>::COST.tensors + 3, 291);
}

/// Mixture of experts (Mixtral-8x7B's MoE block): all experts stored, `TOP_K` run per token.
#[test]
fn moe_stored_and_active() {
    type Expert = GatedFeedForward<4096, 14336>;
    type Block = Moe<4096, 8, 2, Expert>;
    assert_eq!(Block::PARAMS, 4096 * 8 + 8 * Expert::PARAMS);
    assert_eq!(Block::COST.active, 4096 * 8 + 2 * Expert::PARAMS);
    // each token passes through two experts, and each expert's output (4096 wide) is kept by
    // the multiply with its routing weight (Hugging Face's MixtralSparseMoeBlock)
    assert_eq!(
        Block::COST.act.per_token,
        2 * Expert::COST.act.per_token + 2 * 4096
    );
}

/// Full recomputation keeps each block's input: `[T; N]` records N inputs of width d.
#[test]
fn checkpointing_units() {
    type Stack = [GptBlock<768, 12, 3072>; 12];
    assert_eq!(Stack::COST.checkpoint_per_token, 12 * 768);
    assert_eq!(Stack::COST.block, <GptBlock<768, 12, 3072>>::COST.act);
    assert_eq!(Stack::COST.checkpointed, Stack::COST.act);
    assert_eq!(Stack::COST.block_params, 12 * 768 * 768 + 13 * 768);
}

/// BatchNorm keeps running statistics as buffers: `2C` fp32 + one int64 (PyTorch).
#[test]
fn batch_norm_buffers() {
    assert_eq!(<BatchNorm2d<256>>::BUFFERS, 2 * 256 + 1);
    assert_eq!(<BatchNorm2d<256>>::COST.buffer_bytes, 2 * 256 * 4 + 8);
    assert_eq!(<BatchNorm1d<80>>::PARAMS, 160);
}
