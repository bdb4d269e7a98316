//! Architectures that are not in `params.json`, written as a user would, each equal to
//! PyTorch's count in `tests/fixtures/params-extra.json` (produced by
//! `tests/fixtures/gen_params_extra.py`: torch 2.15.0, transformers 5.24.0, torchvision 0.29.2,
//! models built on the meta device from their public configs).

use estimator::Activations;
mod common;
use common::{GptBlock, LlamaBlock};
use estimator::prelude::*;

fn reference(model: &str, key: &str) -> u64 {
    let text = include_str!("fixtures/params-extra.json");
    let all: serde_json::Value =
        serde_json::from_str(text).expect("params-extra.json is valid JSON");
    all["models"][model][key]
        .as_u64()
        .unwrap_or_else(|| panic!("params-extra.json: {model}: no count `{key}`"))
}

// ---------------------------------------------------------------- Llama, generic over its size

#[derive(Params)]
struct Llama<const V: u64, const D: u64, const H: u64, const KV: u64, const FF: u64, const L: usize>
{
    embed_tokens: Embedding<V, D>,
    layers: [LlamaBlock<D, H, KV, FF>; L],
    norm: RmsNorm<D>,
    lm_head: Linear<D, V, false>,
}

#[test]
fn llama_family() {
    type Llama2_70B = Llama<32000, 8192, 64, 8, 28672, 80>;
    type TinyLlama = Llama<32000, 2048, 32, 4, 5632, 22>;
    assert_eq!(Llama2_70B::PARAMS, reference("llama-2-70b", "total_params"));
    assert_eq!(
        <LlamaBlock<8192, 64, 8, 28672>>::PARAMS,
        reference("llama-2-70b", "per_layer_params")
    );
    assert_eq!(
        TinyLlama::PARAMS,
        reference("tinyllama-1.1b", "total_params")
    );
    // Llama's tensors: embed, 9 per layer, norm, lm_head (Adam keeps one `step` for each)
    assert_eq!(
        Llama2_70B::COST.tensors,
        reference("llama-2-70b", "param_tensors")
    );
    assert_eq!(
        TinyLlama::COST.tensors,
        reference("tinyllama-1.1b", "param_tensors")
    );
}

// ---------------------------------------------------------------- Mixtral-8x7B

#[derive(Params)]
struct MixtralBlock {
    input_layernorm: RmsNorm<4096>,
    self_attn: MultiHeadAttention<4096, 32, 8, false>,
    post_attention_layernorm: RmsNorm<4096>,
    block_sparse_moe: Moe<4096, 8, 2, GatedFeedForward<4096, 14336>>,
}

#[derive(Params)]
struct Mixtral8x7B {
    embed_tokens: Embedding<32000, 4096>,
    layers: [MixtralBlock; 32],
    norm: RmsNorm<4096>,
    rotary_emb: Rotary<128>,
    lm_head: Linear<4096, 32000, false>,
}

#[test]
fn mixtral_8x7b() {
    assert_eq!(
        Mixtral8x7B::PARAMS,
        reference("mixtral-8x7b", "total_params")
    );
    assert_eq!(
        MixtralBlock::PARAMS,
        reference("mixtral-8x7b", "per_layer_params")
    );
    assert_eq!(
        Mixtral8x7B::BUFFERS,
        reference("mixtral-8x7b", "buffers_numel")
    );
    // Active per token: the widely quoted "12.9B" (Mistral AI's announcement): two of the eight
    // experts, the rest shared.
    let expert = <GatedFeedForward<4096, 14336>>::PARAMS;
    assert_eq!(
        Mixtral8x7B::COST.active,
        Mixtral8x7B::PARAMS - 32 * 6 * expert
    );
    assert_eq!((Mixtral8x7B::COST.active + 50_000_000) / 100_000_000, 129);
}

// ---------------------------------------------------------------- Qwen2-7B

/// Qwen2's attention: `q`, `k`, `v` with biases, `o` without, 28 query heads and 4 KV heads of
/// 128 around the attention core.
#[derive(Params)]
struct Qwen2Attention {
    q_proj: Linear<3584, 3584, true>,
    #[params(shares_input)]
    k_proj: Linear<3584, 512, true>,
    #[params(shares_input)]
    v_proj: Linear<3584, 512, true>,
    attn: AttentionCore<28, 4, 128>,
    o_proj: Linear<3584, 3584, false>,
}

#[derive(Params)]
struct Qwen2Block {
    input_layernorm: RmsNorm<3584>,
    self_attn: Qwen2Attention,
    post_attention_layernorm: RmsNorm<3584>,
    mlp: GatedFeedForward<3584, 18944>,
}

#[derive(Params)]
struct Qwen2_7B {
    embed_tokens: Embedding<152_064, 3584>,
    layers: [Qwen2Block; 28],
    norm: RmsNorm<3584>,
    rotary_emb: Rotary<128>,
    lm_head: Linear<3584, 152_064, false>,
}

#[test]
fn qwen2_7b() {
    assert_eq!(Qwen2_7B::PARAMS, reference("qwen2-7b", "total_params"));
    assert_eq!(
        Qwen2Block::PARAMS,
        reference("qwen2-7b", "per_layer_params")
    );
    assert_eq!(
        Qwen2_7B::COST.tensors,
        reference("qwen2-7b", "param_tensors")
    );
    assert_eq!(Qwen2_7B::BUFFERS, reference("qwen2-7b", "buffers_numel"));
    assert_eq!(
        Qwen2_7B::COST.buffer_bytes,
        reference("qwen2-7b", "buffers_bytes")
    );
    // The hand-written attention saves what MultiHeadAttention saves (the input once, thanks to
    // `shares_input`); only the textbook differs, by the output-dropout mask (1 byte per
    // feature) that Korthikanti et al. count inside their attention block.
    let mha = <MultiHeadAttention<3584, 28, 4, false>>::COST.act;
    let mine = Qwen2Attention::COST.act;
    assert_eq!(mine.textbook_per_token + 3584, mha.textbook_per_token);
    // MultiHeadAttention knows Megatron-LM's layout: its input (2 bytes) and its output mask
    // (1 byte) per feature are whole on every tensor-parallel GPU (Korthikanti et al., Eq. 2);
    // bare Linears do not say which is column- and which row-parallel
    assert_eq!(mha.textbook_replicated_per_token, 3 * 3584);
    assert_eq!(mine.textbook_replicated_per_token, 0);
    assert_eq!(
        Activations {
            textbook_per_token: 0,
            textbook_replicated_per_token: 0,
            ..mine
        },
        Activations {
            textbook_per_token: 0,
            textbook_replicated_per_token: 0,
            ..mha
        }
    );
}

// ---------------------------------------------------------------- Gemma-2B (tied, MQA)

#[derive(Params)]
struct GemmaBlock {
    input_layernorm: RmsNorm<2048>,
    self_attn: MultiHeadAttention<2048, 8, 1, false>,
    post_attention_layernorm: RmsNorm<2048>,
    /// GeGLU: the same three projections as SwiGLU
    mlp: GatedFeedForward<2048, 16384>,
}

#[derive(Params)]
struct Gemma2B {
    embed_tokens: Embedding<256_000, 2048>,
    /// `sqrt(hidden_size)`, a non-persistent fp32 scalar buffer
    normalizer: Buffer<1, 4>,
    layers: [GemmaBlock; 18],
    norm: RmsNorm<2048>,
    rotary_emb: Rotary<256>,
    #[params(tied)]
    lm_head: Linear<2048, 256_000, false>,
}

#[test]
fn gemma_2b() {
    assert_eq!(Gemma2B::PARAMS, reference("gemma-2b", "total_params"));
    assert_eq!(
        GemmaBlock::PARAMS,
        reference("gemma-2b", "per_layer_params")
    );
    assert_eq!(Gemma2B::BUFFERS, reference("gemma-2b", "buffers_numel"));
    assert_eq!(
        Gemma2B::COST.buffer_bytes,
        reference("gemma-2b", "buffers_bytes")
    );
    assert_eq!(
        Gemma2B::COST.tensors,
        reference("gemma-2b", "param_tensors")
    );
}

// ---------------------------------------------------------------- GPT-2 XL, BERT-large

#[derive(Params)]
struct Gpt2<const D: u64, const H: u64, const FF: u64, const L: usize> {
    wte: Embedding<50257, D>,
    wpe: PositionEmbedding<1024, D>,
    h: [GptBlock<D, H, FF>; L],
    ln_f: LayerNorm<D>,
    #[params(tied)]
    lm_head: Linear<D, 50257, false>,
}

#[derive(Params)]
struct BertLarge {
    word_embeddings: Embedding<30522, 1024>,
    position_embeddings: PositionEmbedding<512, 1024>,
    token_type_embeddings: Embedding<2, 1024>,
    embeddings_norm: LayerNorm<1024>,
    position_ids: Buffer<512, 8>,
    token_type_ids: Buffer<512, 8>,
    encoder: [TransformerLayer<1024, 16>; 24],
    pooler: Linear<1024, 1024>,
}

#[test]
fn gpt2_xl_and_bert_large() {
    assert_eq!(
        <Gpt2<1600, 25, 6400, 48>>::PARAMS,
        reference("gpt2-xl", "total_params")
    );
    assert_eq!(
        <GptBlock<1600, 25, 6400>>::PARAMS,
        reference("gpt2-xl", "per_layer_params")
    );
    assert_eq!(
        BertLarge::PARAMS,
        reference("bert-large-uncased (BertModel)", "total_params")
    );
    assert_eq!(
        BertLarge::BUFFERS,
        reference("bert-large-uncased (BertModel)", "buffers_numel")
    );
}

// ---------------------------------------------------------------- ViT-B/16 (torchvision)

#[derive(Params)]
struct VitB16 {
    /// 16 × 16 patches, stride 16
    conv_proj: Conv2d<3, 768, 16, 16>,
    class_token: Parameter<768>,
    /// `[1, 197, 768]`: 196 patches + the class token
    pos_embedding: Parameter<151_296>,
    layers: [TransformerLayer<768, 12>; 12],
    ln: LayerNorm<768>,
    head: Linear<768, 1000>,
}

#[test]
fn vit_b_16() {
    assert_eq!(
        VitB16::PARAMS,
        reference("vit-b-16 (torchvision)", "total_params")
    );
    assert_eq!(
        <TransformerLayer<768, 12>>::PARAMS,
        reference("vit-b-16 (torchvision)", "per_layer_params")
    );
    // torchvision's EncoderBlock: ln_1, in_proj w/b, out_proj w/b, ln_2, mlp.0 w/b, mlp.3 w/b
    assert_eq!(
        VitB16::COST.tensors,
        reference("vit-b-16 (torchvision)", "param_tensors")
    );
}
