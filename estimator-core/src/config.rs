//! Hugging Face `config.json` → a model: architectures as plain data ([`ModelConfig`]) and
//! their exact [`Cost`], the same one `model!` builds.
//!
//! A `model_type` is a *description* ([`families::Family`]): which keys it reads, their
//! defaults, and a block recipe made of shared parts (norms, attention, MLP, mixture of
//! experts, a per-layer pattern). Reading a file applies the description and yields a
//! [`ModelConfig`], a flat `Copy` value whose [`ModelConfig::cost`] is a `const fn`: the CLI,
//! `model!(X = "config.json")` and `validate` all count through it.
//!
//! Reading the JSON needs the `config` feature (serde_json); the data, the family table and
//! the cost do not.

use crate::cost::Cost;
use crate::params::Layer;

mod build;
pub mod families;
#[cfg(feature = "config")]
mod json;
#[cfg(feature = "config")]
pub use json::{ConfigError, clip, clip_to, closest};

/// A supported `model_type`: a handle on its [`families::Family`] description (its index in
/// [`families::ALL`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ModelType(usize);

impl ModelType {
    /// The name `config.json` uses (`"llama"`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        self.family().name
    }

    /// The type `config.json` calls `name`, when it is one of [`families::ALL`].
    #[must_use]
    pub const fn from_name(name: &str) -> Option<ModelType> {
        let mut i = 0;
        while i < families::ALL.len() {
            if bytes_equal(families::ALL[i].name.as_bytes(), name.as_bytes()) {
                return Some(ModelType(i));
            }
            i += 1;
        }
        None
    }

    /// This type's description.
    #[must_use]
    pub const fn family(self) -> &'static families::Family {
        &families::ALL[self.0]
    }
}

/// `a == b` in a `const fn` (slice equality is a trait method, not `const`).
const fn bytes_equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(feature = "serde")]
impl serde::Serialize for ModelType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for ModelType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ModelType, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = ModelType;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a supported model_type")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ModelType, E> {
                ModelType::from_name(v)
                    .ok_or_else(|| E::custom(format_args!("unsupported model_type `{v}`")))
            }
        }
        d.deserialize_str(Name)
    }
}

/// A normalization layer as the family writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Norm {
    /// `RMSNorm(d)`: a scale of `d`, computed in fp32 (Llama and most current decoders).
    Rms,
    /// `nn.LayerNorm(d)`: scale and shift, `2d`.
    LayerNorm,
    /// `nn.LayerNorm(d, bias=False)`: a scale only (Cohere, StableLM's per-head norms).
    LayerNormNoBias,
    /// LayerNorm without any parameters (`elementwise_affine=False`: OLMo 1).
    NonParametric,
    /// LayerNorm written out in fp32 operations with a scale only (Cohere's `CohereLayerNorm`):
    /// it keeps three fp32 copies of its width (the centred input twice, the normalized
    /// output) and the reciprocal standard deviation.
    LayerNormFp32,
}

/// Where the norms of a block sit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Layout {
    /// `x + attn(norm(x))`, then `x + mlp(norm(x))`: two norms (Llama, GPT-2).
    PreNorm,
    /// `x + attn(norm₁(x)) + mlp(norm₂(x))`, attention and MLP reading the block's input in
    /// parallel (GPT-J, GPT-NeoX, Falcon, Phi-2, Cohere); `norms` is 1 when both branches read
    /// one normalized tensor, 2 when each has its own norm.
    Parallel {
        /// Norms per block: 1 or 2.
        norms: u64,
    },
    /// `x + norm(attn(x))`, then `x + norm(mlp(x))`: norms on the branch outputs (OLMo 2,
    /// EXAONE 4).
    PostNorm,
    /// `x + norm(attn(norm(x)))`, then `x + norm(mlp(norm(x)))`: four norms (Gemma 2/3, GLM-4).
    Sandwich,
}

/// Normalization of the queries and keys, before rotary embedding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum QkNorm {
    /// None.
    None,
    /// One norm of `head_dim` shared by every head of `q` and one of `k` (Qwen3, Gemma 3,
    /// Persimmon, Phi with `qk_layernorm`).
    PerHead,
    /// One norm over all heads at once: `q_norm` of `heads · head_dim`, `k_norm` of
    /// `kv_heads · head_dim` (OLMo 2, OLMoE; Cohere's `[heads, head_dim]` LayerNorm counts the
    /// same).
    Full,
    /// A separate norm module of `head_dim` for every head of `q` and of `k` (StableLM's
    /// `qk_layernorm`): the same elements as [`QkNorm::Full`] in `heads + kv_heads` tensors.
    PerHeadModules,
}

/// Multi-head latent attention (DeepSeek-V2/V3): queries and keys/values through low-rank
/// projections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Mla {
    /// `q_lora_rank` (0: a plain `q_proj`, as DeepSeek-V2-Lite).
    pub q_lora_rank: u64,
    /// `kv_lora_rank`: the compressed key/value width.
    pub kv_lora_rank: u64,
    /// `qk_nope_head_dim`: the part of each query/key head without rotary embedding.
    pub qk_nope_head_dim: u64,
    /// `qk_rope_head_dim`: the rotary part, shared by all heads for the keys.
    pub qk_rope_head_dim: u64,
    /// `v_head_dim`.
    pub v_head_dim: u64,
}

/// The self-attention of a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent switches of the architecture, each named as the model code names it"
)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Attention {
    /// Biases on the q, k and v projections.
    pub qkv_bias: bool,
    /// A bias on the output projection.
    pub o_bias: bool,
    /// q, k and v as one fused projection (`c_attn`, `query_key_value`, `qkv_proj`): the same
    /// elements in one tensor.
    pub fused_qkv: bool,
    /// Query/key normalization.
    pub qk_norm: QkNorm,
    /// The norm type of [`Attention::qk_norm`].
    pub qk_norm_kind: Norm,
    /// A learned sink logit per head (gpt-oss's `sinks`).
    pub sinks: bool,
    /// The eager softmax runs in fp32 (Llama's descendants) rather than in the activation
    /// dtype (GPT-2, BERT).
    pub softmax_fp32: bool,
    /// The scores go through tanh soft-capping (Gemma 2's `attn_logit_softcapping`).
    pub softcap: bool,
    /// Keys and values are broadcast to every query head before attention and the cache
    /// (Falcon's `new_decoder_architecture`): grouped projections, a cache of all heads.
    pub kv_expanded: bool,
    /// The value is a view of the fused q/k/v projection's output, so a fused kernel keeping
    /// it keeps the whole projection (GPT-NeoX's `query_key_value`, measured).
    pub value_views_fused: bool,
    /// Multi-head latent attention instead of q/k/v projections.
    pub mla: Option<Mla>,
}

/// The activation of an MLP, as far as memory is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Act {
    /// A fused elementwise kernel that keeps its input (SiLU, GELU, `gelu_pytorch_tanh`,
    /// squared ReLU).
    Fused,
    /// Hugging Face's Python `gelu_new` (GPT-2, GPT-J, Phi): four tensors kept.
    NewGelu,
    /// ReLU: keeps its output, which the next projection keeps too.
    Relu,
    /// `quick_gelu`, `x · σ(1.702·x)` written out (CLIP): keeps its input and the sigmoid's
    /// output.
    QuickGelu,
    /// gpt-oss's clamped SwiGLU over the interleaved `gate_up_proj` (`gate·σ(α·gate)·(up + 1)`
    /// with both clamped): keeps the whole projection and five tensors of its width.
    ClampedSwiGlu,
}

/// A feed-forward block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Mlp {
    /// `down(act(gate(x)) · up(x))` rather than `down(act(up(x)))`.
    pub gated: bool,
    /// `gate` and `up` fused into one `gate_up_proj` tensor.
    pub fused_gate_up: bool,
    /// Biases on every projection.
    pub bias: bool,
    /// The activation.
    pub act: Act,
}

/// How a mixture-of-experts layer corrects its routing scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ScoreCorrection {
    /// No correction.
    None,
    /// `e_score_correction_bias` as an fp32 buffer of one element per expert (DeepSeek-V3,
    /// GLM-4-MoE).
    Buffer,
    /// The same as a parameter of shape `[1, experts]` (ERNIE 4.5).
    Parameter,
}

/// A mixture-of-experts MLP: routed experts stored stacked, as transformers 5 stores them
/// (`gate_up_proj` `[e, 2·w, d]` and `down_proj` `[e, d, w]`), plus shared experts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent switches of the architecture, each named as the model code names it"
)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Moe {
    /// Routed experts.
    pub experts: u64,
    /// Experts each token visits.
    pub top_k: u64,
    /// One expert's hidden width (`moe_intermediate_size`, or `intermediate_size`).
    pub width: u64,
    /// The shared experts' hidden width, all of them as one gated MLP (0: none).
    pub shared_width: u64,
    /// A sigmoid gate `Linear(d, 1)` on the shared expert (Qwen2-MoE).
    pub shared_gate: bool,
    /// A bias on the router (gpt-oss).
    pub router_bias: bool,
    /// Biases on the experts' projections (gpt-oss).
    pub expert_bias: bool,
    /// Routing-score correction.
    pub score_correction: ScoreCorrection,
    /// The experts' activation.
    pub act: Act,
}

/// What sits on top of the decoder stack, from `architectures[0]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Head {
    /// `*ForCausalLM` / `*LMHeadModel`: the language-model head (encoders: `*ForMaskedLM`'s
    /// prediction head).
    LanguageModel,
    /// `*Model`: the bare stack (BERT, RoBERTa: with the pooler).
    None,
    /// `*ForSequenceClassification` with this many labels.
    SequenceClassification(u64),
    /// `*ForTokenClassification` with this many labels.
    TokenClassification(u64),
    /// `*ForQuestionAnswering`: start and end logits.
    QuestionAnswering,
    /// An encoder's `*ForPreTraining`: BERT's masked-LM head and next-sentence prediction on the
    /// pooler, ELECTRA's replaced-token discriminator ([`Pretraining`]).
    PreTraining,
}

/// Position information.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Positions {
    /// Rotary embedding over `dim` of each head's width; Hugging Face keeps `inv_freq` and
    /// `original_inv_freq` (`⌈dim/2⌉` fp32 each) for each of `tables` layer types.
    Rotary {
        /// The rotated width per head.
        dim: u64,
        /// Frequency tables (one per layer type with its own `rope_parameters`).
        tables: u64,
    },
    /// Rotary embedding from a precomputed fp32 table of `[max_positions, dim]` (GPT-J,
    /// CodeGen's `embed_positions`).
    RotaryTable {
        /// The rotated width per head.
        dim: u64,
    },
    /// A learned table of `rows` positions (GPT-2; OPT keeps 2 extra rows).
    Learned {
        /// Rows of the table.
        rows: u64,
    },
    /// A fixed sinusoidal fp32 table of `rows` positions kept as a buffer (XGLM).
    Sinusoidal {
        /// Rows of the table.
        rows: u64,
    },
    /// ALiBi biases, computed on the fly (BLOOM, MPT), or no positions at all.
    None,
}

/// What an encoder family changes in BERT's layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Encoder {
    /// `type_vocab_size` (0: no token types and no `token_type_ids` buffer, DistilBERT).
    pub type_vocab_size: u64,
    /// The embeddings' width (ELECTRA's `embedding_size`; the hidden size elsewhere), projected
    /// to the hidden size by `embeddings_project` when it differs.
    pub embedding_size: u64,
    /// `*Model` ends in BERT's pooler (BERT, RoBERTa; not DistilBERT or ELECTRA).
    pub pooler: bool,
    /// A dropout after the attention's output projection (BERT; DistilBERT has none).
    pub out_dropout: bool,
    /// The masked-LM decoder's bias is tied to a separate `bias` parameter, which untying
    /// duplicates (BERT, RoBERTa); elsewhere the decoder's bias is its own.
    pub tied_decoder_bias: bool,
    /// What `*ForPreTraining` puts on top.
    pub pretraining: Pretraining,
    /// ModernBERT's layout: pre-norm blocks (the family's norm, attention and MLP: fused `Wqkv`,
    /// a GLU `Wi`), the first layer without its attention norm, a final norm, rotary
    /// positions, and under every head a prediction head (dense, activation, norm) whose dense
    /// layer has a bias when this is `Some(true)` (`classifier_bias`). `None`: BERT's layout.
    pub pre_norm: Option<bool>,
    /// DeBERTa-v2/v3's embeddings and disentangled attention (`None`: BERT's).
    pub deberta: Option<Deberta>,
}

/// A state-space mixer (Mamba's selective scan, Mamba-2's chunked SSD) and, for the hybrids,
/// which layers are attention instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent switches of the config file, named as Hugging Face names them"
)]
pub struct Ssm {
    /// Mamba-2's heads `H` (0: Mamba-1's per-channel scan).
    pub heads: u64,
    /// Mamba-2's head width `P` (`inner = heads · head_dim`).
    pub head_dim: u64,
    /// Mamba-2's groups `G` of `B` and `C`.
    pub groups: u64,
    /// The mixer's inner width `e` (`expand · hidden_size`).
    pub inner: u64,
    /// The state size `N`.
    pub state: u64,
    /// The depthwise convolution's kernel `K`.
    pub conv: u64,
    /// Mamba-1's rank `R` of the time step (`time_step_rank`; 0 for Mamba-2).
    pub dt_rank: u64,
    /// Mamba-2's chunk size `Q` (`chunk_size`).
    pub chunk: u64,
    /// Biases on `in_proj` and `out_proj`.
    pub proj_bias: bool,
    /// A bias on the convolution.
    pub conv_bias: bool,
    /// Jamba's RMS norms of the time step, `B` and `C`.
    pub dt_norms: bool,
    /// Mamba's and Mamba-2's layers are a norm and the mixer, with no MLP; the hybrids' have
    /// two norms and an MLP (or mixture of experts) in every layer.
    pub mixer_only: bool,
    /// Layers that are attention rather than a mixer (Jamba's period, Bamba's indices).
    pub attention_layers: u64,
    /// Attention layers whose MLP is a mixture of experts (Jamba).
    pub attention_moe_layers: u64,
    /// Training runs `mamba_ssm`'s CUDA kernels (true, read as the default: Mamba's and
    /// Mamba-2's fused functions, the hybrids' split kernels) rather than transformers'
    /// PyTorch path (false: without the kernels, and on CPU). See
    /// [`ScanPath`](crate::layers::ScanPath).
    pub kernels: bool,
}

/// A vision transformer's patch embedding and layout (ViT, CLIP's vision tower): the sequence
/// is the image's patches and a class token, `(image_size / patch_size)² + 1`, exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Vision {
    /// `image_size` in pixels (square).
    pub image_size: u64,
    /// `patch_size` in pixels (square): the patch convolution's kernel and stride.
    pub patch_size: u64,
    /// `num_channels`.
    pub channels: u64,
    /// CLIP's layout: a bias-free patch convolution, positions as an `nn.Embedding` with its
    /// int64 `position_ids` buffer, `pre_layrnorm` before the layers and `post_layernorm` over
    /// the class token only. ViT's: a biased convolution, a `[1, n, d]` position parameter, a
    /// final norm over every token.
    pub clip: bool,
    /// `visual_projection` to `projection_dim` (CLIP's `*WithProjection`; 0: none).
    pub projection: u64,
    /// ViT's `*Model` pooler width (`pooler_output_size`; 0: none).
    pub pooler: u64,
}

/// What DeBERTa-v2/v3 changes in BERT's layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent switches of the config file, named as Hugging Face names them"
)]
pub struct Deberta {
    /// `position_biased_input`: an absolute position table in the embeddings.
    pub absolute: bool,
    /// Rows of the relative position table `encoder.rel_embeddings` (`2·position_buckets`, else
    /// `2·max_relative_positions`, else `2·max_position_embeddings`); 0 without
    /// `relative_attention`.
    pub rel_rows: u64,
    /// `encoder.LayerNorm` over the relative table (`norm_rel_ebd` has `layer_norm`).
    pub rel_norm: bool,
    /// Content-to-position scores (`c2p` in `pos_att_type`).
    pub c2p: bool,
    /// Position-to-content scores (`p2c` in `pos_att_type`).
    pub p2c: bool,
    /// `share_att_key`: the relative table is projected by the content `query_proj` and
    /// `key_proj`; otherwise by a `pos_key_proj` (c2p) and a `pos_query_proj` (p2c) per layer.
    pub share_att_key: bool,
    /// `conv_kernel_size` of the convolution after the first layer (0: none).
    pub conv_kernel: u64,
    /// `conv_groups`.
    pub conv_groups: u64,
    /// `legacy`: the masked-LM head's decoder is a module tied to the word embeddings (else the
    /// logits multiply the embeddings directly, and untying adds nothing).
    pub legacy: bool,
}

/// What an encoder–decoder adds to the decoder the other fields describe (T5, BART, Whisper):
/// an encoder over the source, and cross-attention to its output in every decoder layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent switches of the config file, named as Hugging Face names them"
)]
pub struct Seq2Seq {
    /// Encoder layers (`encoder_layers`, T5's `num_layers`).
    pub encoder_layers: u64,
    /// Encoder attention heads (`encoder_attention_heads`).
    pub encoder_heads: u64,
    /// The encoder's feed-forward width (`encoder_ffn_dim`).
    pub encoder_ffn: u64,
    /// T5's relative position buckets (`relative_attention_num_buckets`): a `[buckets, heads]`
    /// table in the first layer of each stack (0: absolute positions, [`ModelConfig::positions`]).
    pub relative_buckets: u64,
    /// UMT5: a relative table in every layer.
    pub relative_every_layer: bool,
    /// Rows of the encoder's position table (Whisper's `max_source_positions`; BART's the
    /// decoder's), 0 with relative positions.
    pub source_rows: u64,
    /// Whisper's front end: two convolutions (kernel 3, the second of stride 2) over
    /// `num_mel_bins` log-mel channels; the encoder reads exactly `2·source_rows` frames
    /// (0: token embeddings).
    pub mel_bins: u64,
    /// The encoder's position table is a frozen parameter (Whisper's sinusoidal init; Marian's
    /// and Pegasus's sinusoidal tables).
    pub frozen_source_positions: bool,
    /// The decoder's position table is a frozen parameter (Marian, Pegasus).
    pub frozen_target_positions: bool,
    /// BART's and Marian's post-norm layers, `norm(x + f(x))`; otherwise pre-norm with a norm
    /// at the end of each stack (mBART, Pegasus, Whisper, T5).
    pub post_norm: bool,
    /// A `layernorm_embedding` after each stack's embeddings (BART, mBART).
    pub embed_norms: bool,
    /// `final_logits_bias`: an fp32 `[1, vocab]` buffer added to the logits (BART's family).
    pub final_logits_bias: bool,
    /// A bias on the key projections (Whisper's `k_proj` has none); the others follow
    /// [`Attention::qkv_bias`].
    pub key_bias: bool,
    /// Rows of the encoder's own token table when it is not shared with the decoder (Marian's
    /// `share_encoder_decoder_embeddings: false`; `vocab_size` is then the decoder's); 0 when
    /// one `shared` table serves both stacks.
    pub source_vocab: u64,
    /// `*EncoderModel` (T5's): the encoder stack alone, over the sequence; no decoder.
    pub encoder_only: bool,
    /// The encoder's head width (T5's `d_kv`, as the decoder's; BART's `d_model / heads`).
    pub encoder_head_dim: u64,
    /// q, k and v are made contiguous head-major before the kernel (Whisper): a fused kernel's
    /// output is then head-major, and the output projection reads a copy of it.
    pub contiguous_heads: bool,
    /// Dropout on the residual branches and the embeddings (BART's `dropout`, T5's
    /// `dropout_rate`) is above zero.
    pub hidden_dropout: bool,
    /// Dropout on the attention probabilities (BART's `attention_dropout`) is above zero: the
    /// probabilities keep a mask, and SDPA leaves its fused CPU kernel for the math path.
    pub attention_dropout: bool,
    /// Dropout inside the feed-forward block (BART's `activation_dropout`) is above zero.
    pub activation_dropout: bool,
    /// Untying the head (`tie_word_embeddings: false`) gives each stack its own copy of the
    /// token table, `shared` staying unused (BART's family in transformers 5); otherwise only
    /// the head is separate (T5).
    pub untied_stacks: bool,
}

/// The head of an encoder's `*ForPreTraining`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Pretraining {
    /// BERT: the pooler, the masked-LM head and next-sentence prediction.
    NextSentence,
    /// ELECTRA's discriminator: a dense layer and one replaced-token logit per token.
    Discriminator,
}

/// The hyper-parameters and recipe that decide a model's size, read from its `config.json` by
/// its family's description (names as Hugging Face's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent switches of the config file, named as Hugging Face names them"
)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ModelConfig {
    /// `model_type`.
    pub model_type: ModelType,
    /// What `architectures[0]` puts on top of the stack.
    pub head: Head,
    /// `vocab_size`.
    pub vocab_size: u64,
    /// `hidden_size` (`n_embd`, `d_model`).
    pub hidden_size: u64,
    /// `num_hidden_layers` (`n_layer`).
    pub num_layers: u64,
    /// `num_attention_heads` (`n_head`).
    pub num_heads: u64,
    /// `num_key_value_heads` (default: the attention heads).
    pub num_kv_heads: u64,
    /// The width of one attention head (`head_dim`, default `hidden_size / heads`; with latent
    /// attention the query/key head, `qk_nope_head_dim + qk_rope_head_dim`).
    pub head_dim: u64,
    /// The dense MLP's hidden width (`intermediate_size`, `n_inner`, `ffn_dim`).
    pub intermediate_size: u64,
    /// `max_position_embeddings` (`n_positions`).
    pub max_positions: u64,
    /// Position information.
    pub positions: Positions,
    /// The normalization used throughout.
    pub norm: Norm,
    /// Where a block's norms sit.
    pub layout: Layout,
    /// The self-attention.
    pub attention: Attention,
    /// The dense MLP.
    pub mlp: Mlp,
    /// The mixture of experts of the sparse layers (`experts == 0`: none).
    pub moe: Moe,
    /// Layers whose attention uses the sliding window (`layer_types`, `max_window_layers`, …).
    pub sliding_layers: u64,
    /// Sliding layers whose MLP is dense (the rest of the dense layers are full-attention
    /// ones); with no mixture of experts every layer is dense.
    pub sliding_dense_layers: u64,
    /// Layers whose MLP is dense (`first_k_dense_replace`, `mlp_only_layers`, …).
    pub dense_layers: u64,
    /// `sliding_window` in tokens when any layer slides (0: none).
    pub sliding_window: u64,
    /// `tie_word_embeddings`: the head shares the token embedding.
    pub tie_word_embeddings: bool,
    /// A bias on the language-model head (GPT-J, Phi).
    pub head_bias: bool,
    /// A LayerNorm right after the token embedding (BLOOM).
    pub embed_norm: bool,
    /// Gemma's `embed_scale` (`√hidden_size`), one fp32 buffer element.
    pub embed_scale: bool,
    /// A `[max_positions, max_positions]` boolean causal-mask buffer (GPT-BigCode).
    pub causal_mask: bool,
    /// Dropout modules on the residual branches and the embeddings (GPT-2's `resid_pdrop`,
    /// `embd_pdrop`), present whatever the probability.
    pub resid_dropout: bool,
    /// A bidirectional encoder in BERT's layout (post-norm layers, learned positions, the heads
    /// of `architectures`), and what its family changes in it.
    pub encoder: Option<Encoder>,
    /// An encoder–decoder: the encoder, and the cross-attention of every decoder layer (the
    /// other fields describe the decoder: `num_layers`, `num_heads`, `intermediate_size`,
    /// `positions` are its own).
    pub seq2seq: Option<Seq2Seq>,
    /// A vision transformer: patches of an image instead of tokens.
    pub vision: Option<Vision>,
    /// A state-space model or hybrid: its mixer, and which layers are attention.
    pub ssm: Option<Ssm>,
    /// Whether any dropout probability is above zero (what training with `model.train()` keeps).
    pub dropout: bool,
}

impl ModelConfig {
    /// The model's exact [`Cost`]: the same value the type `model!` builds from this config has
    /// as `Params::COST`.
    #[must_use]
    pub const fn cost(&self) -> Cost {
        self.architecture(None).cost()
    }

    /// Parameters stored, tied weights once.
    #[must_use]
    pub const fn params(&self) -> u64 {
        self.cost().params
    }

    /// Whether training puts the attention probabilities through dropout: an
    /// encoder–decoder's own `attention_dropout` (BART's is 0 while its residual dropout is
    /// 0.1), any dropout elsewhere. On CPU, SDPA with dropout runs its math path.
    #[must_use]
    pub const fn attention_dropout(&self) -> bool {
        match self.seq2seq {
            Some(s) => s.attention_dropout,
            None => self.dropout,
        }
    }

    /// Layers whose MLP is a mixture of experts.
    #[must_use]
    pub const fn moe_layers(&self) -> u64 {
        if self.moe.experts == 0 {
            0
        } else {
            self.num_layers - self.dense_layers
        }
    }

    /// Whether LoRA can be applied with `targets` (adapters on mixture-of-experts MLPs, on
    /// latent attention, on encoders, encoder–decoders, vision towers and state-space models are
    /// not supported).
    #[must_use]
    pub const fn supports_lora(&self, targets: LoraTargets) -> bool {
        if self.encoder.is_some()
            || self.seq2seq.is_some()
            || self.vision.is_some()
            || self.ssm.is_some()
        {
            return false;
        }
        let mlp = targets.gate || targets.up || targets.down;
        let attn = targets.q || targets.k || targets.v || targets.o;
        !((self.moe.experts > 0 && mlp) || (self.attention.mla.is_some() && attn))
    }

    /// The model as named parts: the top-level layers, and the fields of each kind of repeated
    /// block. With `lora`, adapters sit on the targeted projections and everything else is
    /// frozen (peft's behaviour); see [`ModelConfig::supports_lora`].
    #[must_use]
    pub const fn architecture(&self, lora: Option<Lora>) -> Architecture {
        build::architecture(self, lora)
    }
}

/// LoRA adapters: their rank and which projections carry them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Lora {
    /// The rank `r`: each adapted `in → out` projection gains `r·(in + out)` trainable
    /// parameters.
    pub rank: u64,
    /// The adapted projections.
    pub targets: LoraTargets,
}

/// Which projections carry LoRA adapters, by role: query, key, value, attention output, MLP
/// gate, up and down projections. A family's module names for them (peft's `target_modules`:
/// `q_proj`, GPT-2's `c_attn`, Phi-3's `qkv_proj` …) are in its [`families::Family`]; a fused
/// projection is adapted as one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "one switch per projection, as peft's target_modules lists them"
)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LoraTargets {
    /// The query projection.
    pub q: bool,
    /// The key projection.
    pub k: bool,
    /// The value projection.
    pub v: bool,
    /// The attention output projection.
    pub o: bool,
    /// The MLP gate projection.
    pub gate: bool,
    /// The MLP up projection.
    pub up: bool,
    /// The MLP down projection.
    pub down: bool,
}

impl LoraTargets {
    /// No projection.
    pub const NONE: LoraTargets = LoraTargets {
        q: false,
        k: false,
        v: false,
        o: false,
        gate: false,
        up: false,
        down: false,
    };

    /// Every projection (peft's `"all-linear"`).
    pub const ALL: LoraTargets = LoraTargets {
        q: true,
        k: true,
        v: true,
        o: true,
        gate: true,
        up: true,
        down: true,
    };

    /// Both sets of targets.
    #[must_use]
    pub const fn union(self, o: LoraTargets) -> LoraTargets {
        LoraTargets {
            q: self.q || o.q,
            k: self.k || o.k,
            v: self.v || o.v,
            o: self.o || o.o,
            gate: self.gate || o.gate,
            up: self.up || o.up,
            down: self.down || o.down,
        }
    }
}

/// One named part of a model (a field of the struct `model!` declares).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    /// The field name.
    pub name: &'static str,
    /// The layer type's name.
    pub kind: &'static str,
    /// Copies (the layer count for a block stack).
    pub repeat: u64,
    /// The part's cost, all copies included.
    pub cost: Cost,
    /// For a block stack, the index of its block in [`Architecture::blocks`].
    pub block: Option<usize>,
}

impl Part {
    /// The part as an entry of the layer tree (what `Summary` prints), with `children` under
    /// a block stack.
    #[must_use]
    pub const fn layer<'a>(&self, children: &'a [Layer<'a>]) -> Layer<'a> {
        Layer {
            name: self.name,
            kind: self.kind,
            repeat: self.repeat,
            cost: self.cost,
            tied: self.cost.tied > 0 && self.cost.params == 0,
            frozen: self.cost.params > 0 && self.cost.trainable == 0,
            children,
        }
    }
}

/// Up to 16 named parts in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parts {
    items: [Part; 16],
    len: usize,
}

impl Parts {
    const EMPTY: Part = Part {
        name: "",
        kind: "",
        repeat: 0,
        cost: Cost::ZERO,
        block: None,
    };

    #[allow(
        clippy::large_stack_arrays,
        reason = "sixteen named parts (about 40 KB), built in place once per part list"
    )]
    const fn new() -> Parts {
        Parts {
            items: [Parts::EMPTY; 16],
            len: 0,
        }
    }

    /// The parts given, in order.
    const fn of(items: &[(&'static str, &'static str, Cost)]) -> Parts {
        let mut p = Parts::new();
        p.extend(items);
        p
    }

    /// Appends the parts given, in order.
    const fn extend(&mut self, items: &[(&'static str, &'static str, Cost)]) {
        let mut i = 0;
        while i < items.len() {
            self.push(items[i].0, items[i].1, items[i].2);
            i += 1;
        }
    }

    // Parts are built in place (`&mut self`): a by-value chain keeps a copy of every
    // intermediate in an unoptimized build's frame, which overflowed test threads' stacks.
    const fn push(&mut self, name: &'static str, kind: &'static str, cost: Cost) {
        self.items[self.len] = Part {
            name,
            kind,
            repeat: 1,
            cost,
            block: None,
        };
        self.len += 1;
    }

    /// Appends `block` (the `index`th of the architecture's blocks) stacked `n` times (see
    /// [`Cost::repeated`]); nothing when `n` is 0.
    const fn repeat(
        &mut self,
        name: &'static str,
        kind: &'static str,
        block: &Parts,
        index: usize,
        n: u64,
    ) {
        if n == 0 {
            return;
        }
        self.push(name, kind, block.cost().repeated(n));
        self.items[self.len - 1].repeat = n;
        self.items[self.len - 1].block = Some(index);
    }

    /// The parts, in order.
    #[must_use]
    pub fn as_slice(&self) -> &[Part] {
        &self.items[..self.len]
    }

    /// The parts, in order (a `const` form of [`Parts::as_slice`]).
    #[must_use]
    pub const fn items(&self) -> &[Part] {
        self.items.split_at(self.len).0
    }

    /// The parts one after another (see [`Cost::add`]).
    #[must_use]
    pub const fn cost(&self) -> Cost {
        let mut total = Cost::ZERO;
        let mut i = 0;
        while i < self.len {
            total = if i == 0 {
                self.items[0].cost
            } else {
                total.add(self.items[i].cost)
            };
            i += 1;
        }
        total
    }
}

/// A model as named parts: the top level, and the fields of each kind of repeated block
/// (full or sliding attention, dense or mixture-of-experts MLP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Architecture {
    /// The model's own fields; the block stacks among them point into `blocks`.
    pub top: Parts,
    /// The fields of each kind of block.
    pub blocks: [Parts; 4],
}

impl Architecture {
    /// The whole model's cost.
    #[must_use]
    pub const fn cost(&self) -> Cost {
        self.top.cost()
    }
}
