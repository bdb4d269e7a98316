//! Every model of `tests/fixtures/params.json` (PyTorch's own parameter and buffer counts; see
//! `tests/fixtures/README.md`) written with `#[derive(Params)]` and compared with PyTorch.

mod common;
use common::{GptBlock, LlamaBlock};
use estimator::prelude::*;

/// PyTorch's numbers for one model of `params.json`.
struct Reference {
    params: u64,
    buffers: u64,
    buffer_bytes: u64,
    per_layer: serde_json::Value,
}

fn reference(model: &str) -> Reference {
    let text = include_str!("fixtures/params.json");
    let all: serde_json::Value = serde_json::from_str(text).expect("params.json is valid JSON");
    let m = &all["models"][model];
    let get = |key: &str| {
        m[key]
            .as_u64()
            .unwrap_or_else(|| panic!("params.json: {model}: `{key}` is not a count"))
    };
    Reference {
        params: get("total_params"),
        buffers: get("buffers_numel"),
        buffer_bytes: get("buffers_bytes_default_dtype"),
        per_layer: m["per_layer_params"].clone(),
    }
}

impl Reference {
    fn layer(&self, name: &str) -> u64 {
        self.per_layer[name]["params"]
            .as_u64()
            .unwrap_or_else(|| panic!("params.json: no per-layer count `{name}`"))
    }

    /// Parameters, buffers and buffer bytes all equal PyTorch's.
    fn check<M: Params>(&self) {
        assert_eq!(M::PARAMS, self.params, "{} parameters", M::KIND);
        assert_eq!(M::TRAINABLE, self.params, "{} trainable", M::KIND);
        assert_eq!(M::BUFFERS, self.buffers, "{} buffers", M::KIND);
        assert_eq!(
            M::COST.buffer_bytes,
            self.buffer_bytes,
            "{} buffer bytes",
            M::KIND
        );
    }
}

// ---------------------------------------------------------------- GPT-2 small

#[derive(Params)]
struct Gpt2 {
    wte: Embedding<50257, 768>,
    wpe: PositionEmbedding<1024, 768>,
    h: [GptBlock<768, 12, 3072>; 12],
    ln_f: LayerNorm<768>,
    #[params(tied)]
    lm_head: Linear<768, 50257, false>,
}

#[test]
fn gpt2_small() {
    let r = reference("gpt2-small");
    r.check::<Gpt2>();
    assert_eq!(<GptBlock<768, 12, 3072>>::PARAMS, r.layer("block"));
    // params.json: tied_parameters = [["transformer.wte.weight", "lm_head.weight", 38597376]]
    assert_eq!(Gpt2::COST.tied, 38_597_376);
}

// ---------------------------------------------------------------- BERT-base

#[derive(Params)]
struct BertEmbeddings {
    word_embeddings: Embedding<30522, 768>,
    position_embeddings: PositionEmbedding<512, 768>,
    token_type_embeddings: Embedding<2, 768>,
    layer_norm: LayerNorm<768>,
    dropout: Dropout<768>,
    /// non-persistent int64 buffers
    position_ids: Buffer<512, 8>,
    token_type_ids: Buffer<512, 8>,
}

/// `BertLayer`: self-attention (q, k, v, output dense), LayerNorm, intermediate + output dense,
/// LayerNorm.
#[derive(Params)]
struct BertLayer {
    attention: MultiHeadAttention<768, 12>,
    attention_norm: LayerNorm<768>,
    mlp: FeedForward<768, 3072>,
    output_norm: LayerNorm<768>,
}

#[derive(Params)]
struct BertModel {
    embeddings: BertEmbeddings,
    encoder: [BertLayer; 12],
    pooler: Linear<768, 768>,
}

/// `cls.predictions`: transform (dense, GELU, LayerNorm), decoder tied to the word embeddings,
/// and the output bias (one `Parameter` that `decoder.bias` also points to).
#[derive(Params)]
struct MlmHead {
    dense: Linear<768, 768>,
    act: Gelu<768>,
    layer_norm: LayerNorm<768>,
    #[params(tied)]
    decoder: Linear<768, 30522, false>,
    bias: Parameter<30522>,
}

#[derive(Params)]
struct BertForMaskedLm {
    embeddings: BertEmbeddings,
    encoder: [BertLayer; 12],
    cls: MlmHead,
}

#[test]
fn bert_base_model() {
    let r = reference("bert-base-uncased (BertModel)");
    r.check::<BertModel>();
    assert_eq!(BertLayer::PARAMS, r.layer("block"));
    assert_eq!(<Linear<768, 768>>::PARAMS, r.layer("pooler"));
}

#[test]
fn bert_base_masked_lm() {
    let r = reference("bert-base-uncased (BertForMaskedLM)");
    r.check::<BertForMaskedLm>();
    // PyTorch counts the tied decoder weight inside `cls` too (30522 × 768 = 23,440,896).
    assert_eq!(MlmHead::PARAMS + MlmHead::COST.tied, r.layer("mlm_head"));
}

// ---------------------------------------------------------------- Llama-2-7B, Mistral-7B

/// `LlamaForCausalLM` / `MistralForCausalLM`: the two differ in their numbers only.
#[derive(Params)]
struct CausalLm<
    const V: u64,
    const D: u64,
    const H: u64,
    const KV: u64,
    const FF: u64,
    const L: usize,
    const HEAD_DIM: u64,
    const WINDOW: u64,
> {
    embed_tokens: Embedding<V, D>,
    layers: [LlamaBlock<D, H, KV, FF, WINDOW>; L],
    norm: RmsNorm<D>,
    rotary_emb: Rotary<HEAD_DIM>,
    lm_head: Linear<D, V, false>,
}

type Llama2_7B = CausalLm<32000, 4096, 32, 32, 11008, 32, 128, 0>;
type Mistral7B = CausalLm<32000, 4096, 32, 8, 14336, 32, 128, 4096>;

#[test]
fn llama_2_7b() {
    let r = reference("llama-2-7b");
    r.check::<Llama2_7B>();
    assert_eq!(
        <LlamaBlock<4096, 32, 32, 11008, 0>>::PARAMS,
        r.layer("block")
    );
}

#[test]
fn mistral_7b() {
    let r = reference("mistral-7b-v0.1");
    r.check::<Mistral7B>();
    assert_eq!(
        <LlamaBlock<4096, 32, 8, 14336, 4096>>::PARAMS,
        r.layer("block")
    );
    // GQA: K and V of 8 heads of 128 per layer, capped at the 4096-token sliding window
    assert_eq!(Mistral7B::COST.kv_window_per_token, 32 * 2 * 8 * 128);
    assert_eq!(Mistral7B::COST.window, 4096);
}

// ---------------------------------------------------------------- ResNet-50

/// torchvision's `Bottleneck` without a downsample branch: 1×1, 3×3, 1×1 convolutions (no
/// bias), each followed by BatchNorm.
#[derive(Params)]
struct Bottleneck<const IN: u64, const MID: u64, const OUT: u64> {
    conv1: Conv2d<IN, MID, 1, 1, false>,
    bn1: BatchNorm2d<MID>,
    conv2: Conv2d<MID, MID, 3, 1, false>,
    bn2: BatchNorm2d<MID>,
    conv3: Conv2d<MID, OUT, 1, 1, false>,
    bn3: BatchNorm2d<OUT>,
    relu: Relu,
}

/// The first block of a stage: strided 3×3 and a 1×1 projection of the shortcut.
#[derive(Params)]
struct BottleneckDown<const IN: u64, const MID: u64, const OUT: u64, const STRIDE: u64> {
    conv1: Conv2d<IN, MID, 1, 1, false>,
    bn1: BatchNorm2d<MID>,
    conv2: Conv2d<MID, MID, 3, STRIDE, false>,
    bn2: BatchNorm2d<MID>,
    conv3: Conv2d<MID, OUT, 1, 1, false>,
    bn3: BatchNorm2d<OUT>,
    relu: Relu,
    downsample: (Conv2d<IN, OUT, 1, STRIDE, false>, BatchNorm2d<OUT>),
}

#[derive(Params)]
struct Stage<const IN: u64, const MID: u64, const OUT: u64, const STRIDE: u64, const REST: usize> {
    first: BottleneckDown<IN, MID, OUT, STRIDE>,
    rest: [Bottleneck<OUT, MID, OUT>; REST],
}

#[derive(Params)]
struct ResNet50 {
    conv1: Conv2d<3, 64, 7, 2, false>,
    bn1: BatchNorm2d<64>,
    relu: Relu,
    layer1: Stage<64, 64, 256, 1, 2>,
    layer2: Stage<256, 128, 512, 2, 3>,
    layer3: Stage<512, 256, 1024, 2, 5>,
    layer4: Stage<1024, 512, 2048, 2, 2>,
    fc: Linear<2048, 1000>,
}

#[test]
fn resnet_50() {
    let r = reference("resnet-50 (torchvision)");
    r.check::<ResNet50>();
    assert_eq!(
        <Conv2d<3, 64, 7, 2, false>>::PARAMS + <BatchNorm2d<64>>::PARAMS,
        r.layer("stem(conv1+bn1)")
    );
    assert_eq!(<Stage<64, 64, 256, 1, 2>>::PARAMS, r.layer("layer1"));
    assert_eq!(<Stage<256, 128, 512, 2, 3>>::PARAMS, r.layer("layer2"));
    assert_eq!(<Stage<512, 256, 1024, 2, 5>>::PARAMS, r.layer("layer3"));
    assert_eq!(<Stage<1024, 512, 2048, 2, 2>>::PARAMS, r.layer("layer4"));
    assert_eq!(<Linear<2048, 1000>>::PARAMS, r.layer("fc"));
}

// ---------------------------------------------------------------- nn.TransformerEncoderLayer

#[test]
fn transformer_encoder_layer_512_8_2048() {
    let r = reference("nn.TransformerEncoderLayer(512,8,2048)");
    r.check::<TransformerLayer<512, 8>>();
    // the seed tutorial's per-part counts: attention 4d² + 4d, each FFN linear, each norm 2d
    assert_eq!(<MultiHeadAttention<512, 8>>::PARAMS, r.layer("self_attn"));
    assert_eq!(<Linear<512, 2048>>::PARAMS, r.layer("linear1"));
    assert_eq!(<Linear<2048, 512>>::PARAMS, r.layer("linear2"));
    assert_eq!(<LayerNorm<512>>::PARAMS, r.layer("norm1"));
}
