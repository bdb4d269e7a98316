//! The family table: one [`Family`] description per supported `model_type`, written from the
//! family's `configuration_*.py` (keys and defaults) and `modeling_*.py` (what it builds) in
//! transformers 5.24.
//!
//! A description names the keys it reads and their defaults, and a recipe of shared parts; a
//! family like Llama's costs a few lines (`Family { name: "helium", ..LLAMA }`), and a new
//! mechanism is one new field or rule, interpreted once by the reader. Every family has
//! PyTorch's own counts in `tests/fixtures/families.json` (its defaults and realistic
//! variants), and a test refuses a family without them.

use super::{Act, Layout, LoraTargets, Norm, Pretraining, QkNorm, ScoreCorrection};

/// A boolean of the recipe: fixed by the family, or read from a key with a default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    /// Always this value.
    Fixed(bool),
    /// `config[key]`, this default when absent or null.
    Key(&'static str, bool),
    /// The first of the keys present, this default when none is.
    Keys(&'static [&'static str], bool),
}

/// A dimension: the first of the keys present, else a default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dim {
    /// Required: the first key present.
    Key(&'static [&'static str]),
    /// The first key present, else this value.
    Or(&'static [&'static str], u64),
    /// The first key present, else this multiple of the hidden size.
    TimesHidden(&'static [&'static str], u64),
}

/// Where the positions come from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PositionRule {
    /// Rotary over `partial_rotary_factor` of the head (`rope_parameters`, the top-level key,
    /// or `rotary_pct`), `factor` when none is given.
    Rotary {
        /// The default fraction of the head that rotates.
        factor: f64,
    },
    /// Rotary over `rotary_dim` (default: the whole head) from a precomputed table.
    RotaryTable,
    /// A learned table of `max_positions + offset` rows.
    Learned {
        /// Extra rows (OPT and BioGPT offset positions by 2).
        offset: u64,
    },
    /// A sinusoidal buffer of `max_positions + offset` rows.
    Sinusoidal {
        /// Extra rows.
        offset: u64,
    },
    /// ALiBi or nothing.
    None,
}

/// Which layers use sliding-window attention when the config has no `layer_types` (with
/// `layer_types`, that list decides).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlidingRule {
    /// None.
    None,
    /// Every layer, when `sliding_window` is set (and the `gate` key, if any, is true).
    All {
        /// A boolean key that must be true too (`use_sliding_window`).
        gate: Option<&'static str>,
        /// The window when the key is absent (`None`: no window).
        default: Option<u64>,
    },
    /// Layer `i` slides unless `(i + 1) % n == 0` (`n` from `key`, else `default`).
    EveryNth {
        /// The keys that may hold `n` (the first present wins).
        keys: &'static [&'static str],
        /// `n` when the key is absent.
        default: u64,
    },
    /// Layer `i` is global when `i % n == 0`, else it slides (CWM; ModernBERT's
    /// `global_attn_every_n_layers`).
    FirstOfN {
        /// The keys that may hold `n` (the first present wins).
        keys: &'static [&'static str],
        /// `n` when no key is present.
        n: u64,
    },
    /// Qwen2/Qwen3: with `use_sliding_window`, layers from `max_window_layers` on slide.
    FromMaxWindowLayers,
}

/// Which layers keep a dense MLP in a mixture-of-experts family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenseRule {
    /// Every layer is sparse.
    None,
    /// The first `key` layers (DeepSeek's `first_k_dense_replace`).
    First(&'static str),
    /// Qwen-MoE: layer `i` is sparse when not in `mlp_only_layers` and `(i + 1) %
    /// decoder_sparse_step == 0`.
    SparseStep,
    /// Jamba: layer `i` is sparse when `i % expert_layer_period == expert_layer_offset` (and
    /// there is more than one expert).
    Period,
}

/// Where the shared experts' width comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SharedRule {
    /// No shared experts.
    None,
    /// `count_key` experts of the routed width (DeepSeek's `n_shared_experts`).
    Count(&'static str),
    /// An explicit width key (Qwen2-MoE's `shared_expert_intermediate_size`), 0 for none.
    Width(&'static str),
}

/// A mixture-of-experts recipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MoeRule {
    /// Routed experts (first key present).
    pub experts: &'static [&'static str],
    /// The default number of experts.
    pub experts_default: u64,
    /// Experts per token.
    pub top_k: &'static [&'static str],
    /// The default experts per token.
    pub top_k_default: u64,
    /// An expert's width.
    pub width: Dim,
    /// Shared experts.
    pub shared: SharedRule,
    /// The sigmoid gate on the shared expert.
    pub shared_gate: bool,
    /// A router bias.
    pub router_bias: bool,
    /// Expert biases.
    pub expert_bias: bool,
    /// Routing-score correction.
    pub score_correction: ScoreCorrection,
    /// The experts' activation.
    pub act: Act,
    /// Dense layers.
    pub dense: DenseRule,
}

/// A `config.json` key that this description cannot count when it has a value other than the
/// one it expects: the reader refuses it by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refuse {
    /// A boolean key that must be false (or absent).
    True(&'static str),
    /// A key that must be absent or null.
    Present(&'static str),
    /// A number that must be absent, null or the hidden size (OPT's `word_embed_proj_dim`).
    NotHidden(&'static str),
}

/// What an encoder family reads and builds beyond BERT's layout (see
/// [`Encoder`](super::Encoder)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent switches of the recipe, each named as the model code names it"
)]
pub struct EncoderRule {
    /// Token-type embeddings (`type_vocab_size`, default 2); DistilBERT has none.
    pub token_types: bool,
    /// The key of a separate embedding width (ELECTRA's `embedding_size`).
    pub embedding_size: Option<&'static str>,
    /// `*Model` ends in a pooler.
    pub pooler: bool,
    /// A dropout after the attention's output projection.
    pub out_dropout: bool,
    /// The masked-LM decoder's bias is tied to a separate parameter.
    pub tied_decoder_bias: bool,
    /// What `*ForPreTraining` builds (`None`: the family has no such class, and the head is
    /// refused).
    pub pretraining: Option<Pretraining>,
    /// RoBERTa's positions start after `pad_token_id` (default 1): the table of
    /// `max_position_embeddings` rows holds `max_position_embeddings - pad_token_id - 1`
    /// tokens.
    pub pad_offset: bool,
    /// ModernBERT's layout instead of BERT's (see [`Encoder::pre_norm`](super::Encoder)), with
    /// the key of its prediction head's dense bias (`classifier_bias`).
    pub pre_norm: Option<(&'static str, bool)>,
    /// `type_vocab_size` when absent (BERT 2, DeBERTa 0).
    pub type_vocab_default: u64,
    /// DeBERTa's keys (`relative_attention`, `position_buckets`, …; see
    /// [`Deberta`](super::Deberta)).
    pub deberta: bool,
}

/// The keys the reader takes DeBERTa's description from when [`EncoderRule::deberta`] is set
/// (most are not fields of the 5.24 configuration class; the model code reads them with
/// `getattr` defaults, and so does the reader).
pub const DEBERTA_KEYS: &[&str] = &[
    "position_biased_input",
    "relative_attention",
    "position_buckets",
    "max_relative_positions",
    "norm_rel_ebd",
    "pos_att_type",
    "share_att_key",
    "conv_kernel_size",
    "conv_groups",
    "legacy",
];

/// BERT's encoder.
pub const BERT_ENCODER: EncoderRule = EncoderRule {
    token_types: true,
    embedding_size: None,
    pooler: true,
    out_dropout: true,
    tied_decoder_bias: true,
    pretraining: Some(Pretraining::NextSentence),
    pad_offset: false,
    pre_norm: None,
    type_vocab_default: 2,
    deberta: false,
};

/// What an encoder–decoder family reads beyond its decoder's keys (see
/// [`Seq2Seq`](super::Seq2Seq)).
#[derive(Clone, Copy, Debug, PartialEq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent switches of the recipe, each named as the model code names it"
)]
pub struct Seq2SeqRule {
    /// The encoder's layers (first key present).
    pub encoder_layers: &'static [&'static str],
    /// The encoder's heads.
    pub encoder_heads: &'static [&'static str],
    /// The encoder's feed-forward width.
    pub encoder_ffn: &'static [&'static str],
    /// The key of an explicit head width (T5's `d_kv`; else `d_model / heads`).
    pub head_dim_key: Option<&'static str>,
    /// T5's relative buckets: the key, its default, and whether every layer has a table
    /// (UMT5) rather than the first of each stack.
    pub relative: Option<(&'static str, u64, bool)>,
    /// The key of the encoder's position rows (Whisper's `max_source_positions`, with its
    /// default); `None`: the decoder's table.
    pub source_rows: Option<(&'static str, u64)>,
    /// The key of Whisper's mel channels, with its default (`None`: token embeddings).
    pub mel_bins: Option<(&'static str, u64)>,
    /// Frozen position tables: the encoder's, the decoder's.
    pub frozen_positions: (bool, bool),
    /// Post-norm layers (BART, Marian).
    pub post_norm: bool,
    /// `layernorm_embedding` in each stack.
    pub embed_norms: bool,
    /// `final_logits_bias` under the language-model head.
    pub final_logits_bias: bool,
    /// Biases on the key projections.
    pub key_bias: bool,
    /// T5's `feed_forward_proj` (`"relu"`, `"gated-gelu"`, `"gated-silu"`…): the activation and
    /// whether the MLP is gated; `gated-gelu` means `gelu_new`.
    pub ffn_proj: Option<&'static str>,
    /// Marian's `share_encoder_decoder_embeddings` (default true): when false the encoder has a
    /// table of `vocab_size` rows and the decoder one of `decoder_vocab_size`.
    pub shared_key: Option<&'static str>,
    /// See [`Seq2Seq::untied_stacks`](super::Seq2Seq::untied_stacks).
    pub untied_stacks: bool,
    /// See [`Seq2Seq::contiguous_heads`](super::Seq2Seq::contiguous_heads).
    pub contiguous_heads: bool,
    /// The dropout probabilities of the residual branches, the attention probabilities and the
    /// feed-forward block: their keys and defaults.
    pub dropouts: [(&'static str, f64); 3],
}

/// What a vision family reads (see [`Vision`](super::Vision)): `image_size` (default 224),
/// `patch_size` (default below), `num_channels` (3), and its layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VisionRule {
    /// CLIP's layout rather than ViT's.
    pub clip: bool,
    /// `patch_size` when absent.
    pub patch_default: u64,
}

/// A state-space family's keys (see [`Ssm`](super::Ssm)): each reads its own names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SsmRule {
    /// Mamba: `state_size`, `conv_kernel`, `expand`, `time_step_rank`, `use_bias`,
    /// `use_conv_bias`; every layer a mixer.
    Mamba,
    /// Mamba-2: `num_heads`, `head_dim`, `n_groups`, `state_size`, `conv_kernel`, `expand`,
    /// `chunk_size`, `use_bias`, `use_conv_bias`; every layer a mixer.
    Mamba2,
    /// Jamba: Mamba mixers (`mamba_d_state`, `mamba_d_conv`, `mamba_expand`, `mamba_dt_rank`,
    /// `mamba_proj_bias`, `mamba_conv_bias`, with norms of dt, B and C), attention where
    /// `i % attn_layer_period == attn_layer_offset`.
    Jamba,
    /// Bamba: Mamba-2 mixers (`mamba_n_heads`, `mamba_d_head`, `mamba_n_groups`,
    /// `mamba_d_state`, `mamba_d_conv`, `mamba_expand`, `mamba_chunk_size`, `mamba_proj_bias`,
    /// `mamba_conv_bias`), attention at `attn_layer_indices`.
    Bamba,
}

/// One `model_type`'s description.
#[derive(Clone, Copy, Debug, PartialEq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent switches of the recipe, each named as the model code names it"
)]
pub struct Family {
    /// `model_type`.
    pub name: &'static str,
    /// What it covers, for listings.
    pub about: &'static str,
    /// The hidden size.
    pub hidden: &'static [&'static str],
    /// The layer count.
    pub layers: &'static [&'static str],
    /// The attention heads.
    pub heads: &'static [&'static str],
    /// The key/value heads (first key present), else the attention heads.
    pub kv_heads: &'static [&'static str],
    /// A boolean key (with its default) that, when true, means one key/value head
    /// (`multi_query`).
    pub multi_query: Option<(&'static str, bool)>,
    /// A boolean key that, when true, switches to Falcon's new decoder architecture: `kv_heads`
    /// grouped key/value projections broadcast to every head before the cache (see
    /// [`Attention::kv_expanded`](super::Attention::kv_expanded)), and a parallel block with
    /// `num_ln_in_parallel_attn` norms (default 2).
    pub new_decoder_key: Option<&'static str>,
    /// Whether `head_dim` may be given (else `hidden / heads`, which must divide).
    pub head_dim_key: bool,
    /// The head width when `head_dim` is absent (0: `hidden / heads`).
    pub head_dim_default: u64,
    /// The dense MLP's width.
    pub intermediate: Dim,
    /// The vocabulary.
    pub vocab: &'static [&'static str],
    /// The position table's length.
    pub max_positions: Dim,
    /// Positions.
    pub positions: PositionRule,
    /// Rotary tables per layer type present (Gemma 3, OLMo 3) rather than one.
    pub rope_per_layer_type: bool,
    /// The norm.
    pub norm: Norm,
    /// A key that, when false, drops the norms' biases (ModernBERT's `norm_bias`), with its
    /// default.
    pub norm_bias_key: Option<(&'static str, bool)>,
    /// Where the norms sit.
    pub layout: Layout,
    /// A key that turns [`Family::layout`] into a parallel block with this many norms
    /// (`use_parallel_residual`, `parallel_attn`), with its default.
    pub parallel: Option<(&'static str, bool, u64)>,
    /// q/k/v biases.
    pub qkv_bias: Flag,
    /// The output projection's bias.
    pub o_bias: Flag,
    /// Fused q/k/v.
    pub fused_qkv: bool,
    /// Query/key norms, and the key that switches them on (`None`: always as given).
    pub qk_norm: QkNorm,
    /// The key that switches [`Family::qk_norm`] on, with its default.
    pub qk_norm_key: Option<(&'static str, bool)>,
    /// The query/key norms' kind.
    pub qk_norm_kind: Norm,
    /// Attention sinks.
    pub sinks: bool,
    /// The eager softmax in fp32.
    pub softmax_fp32: bool,
    /// The key whose non-null value turns on score soft-capping (`attn_logit_softcapping`).
    pub softcap_key: Option<&'static str>,
    /// The value stays a view of the fused q/k/v output (see
    /// [`Attention::value_views_fused`](super::Attention::value_views_fused)).
    pub value_views_fused: bool,
    /// Multi-head latent attention (DeepSeek's keys).
    pub mla: bool,
    /// A gated MLP.
    pub gated: bool,
    /// Fused `gate_up_proj`.
    pub fused_gate_up: bool,
    /// MLP biases.
    pub mlp_bias: Flag,
    /// The activation keys, first present (`hidden_act`, `activation_function`).
    pub act_keys: &'static [&'static str],
    /// The activation when no key is present.
    pub act_default: &'static str,
    /// The mixture of experts, if the family has one.
    pub moe: Option<MoeRule>,
    /// Sliding layers without `layer_types`.
    pub sliding: SlidingRule,
    /// `tie_word_embeddings`.
    pub tie: Flag,
    /// A bias on the language-model head.
    pub head_bias: Flag,
    /// A norm after the embedding.
    pub embed_norm: bool,
    /// Gemma's embedding scale buffer.
    pub embed_scale: bool,
    /// A `[max_positions, max_positions]` boolean causal-mask buffer (GPT-BigCode).
    pub causal_mask: bool,
    /// Residual and embedding dropout modules.
    pub resid_dropout: bool,
    /// An encoder in BERT's layout, with what the family changes in it.
    pub encoder: Option<EncoderRule>,
    /// An encoder–decoder, with what it reads beyond the decoder's keys.
    pub seq2seq: Option<Seq2SeqRule>,
    /// A vision transformer over image patches.
    pub vision: Option<VisionRule>,
    /// A state-space model or hybrid.
    pub ssm: Option<SsmRule>,
    /// The dropout probabilities that matter for training memory, with their default.
    pub dropout_keys: &'static [&'static str],
    /// Their default.
    pub dropout_default: f64,
    /// LoRA module names (peft's `target_modules`) and the projections each names.
    pub lora: &'static [(&'static str, LoraTargets)],
    /// Keys whose other values this description cannot count.
    pub refuse: &'static [Refuse],
}

const NONE: LoraTargets = LoraTargets::NONE;
const Q: LoraTargets = LoraTargets { q: true, ..NONE };
const K: LoraTargets = LoraTargets { k: true, ..NONE };
const V: LoraTargets = LoraTargets { v: true, ..NONE };
const O: LoraTargets = LoraTargets { o: true, ..NONE };
const GATE: LoraTargets = LoraTargets { gate: true, ..NONE };
const UP: LoraTargets = LoraTargets { up: true, ..NONE };
const DOWN: LoraTargets = LoraTargets { down: true, ..NONE };
const QKV: LoraTargets = Q.union(K).union(V);

/// Llama's module names.
const LLAMA_LORA: &[(&str, LoraTargets)] = &[
    ("q_proj", Q),
    ("k_proj", K),
    ("v_proj", V),
    ("o_proj", O),
    ("gate_proj", GATE),
    ("up_proj", UP),
    ("down_proj", DOWN),
];

/// Module names with a fused `qkv_proj` and `gate_up_proj` (Phi-3).
const PHI3_LORA: &[(&str, LoraTargets)] = &[
    ("qkv_proj", QKV),
    ("o_proj", O),
    ("gate_up_proj", GATE.union(UP)),
    ("down_proj", DOWN),
];

/// Llama's names with GLM's fused `gate_up_proj`.
const GLM_LORA: &[(&str, LoraTargets)] = &[
    ("q_proj", Q),
    ("k_proj", K),
    ("v_proj", V),
    ("o_proj", O),
    ("gate_up_proj", GATE.union(UP)),
    ("down_proj", DOWN),
];

/// Llama's names for an MLP without a gate (Arcee's squared-ReLU `up_proj`, `down_proj`).
const UNGATED_LORA: &[(&str, LoraTargets)] = &[
    ("q_proj", Q),
    ("k_proj", K),
    ("v_proj", V),
    ("o_proj", O),
    ("up_proj", UP),
    ("down_proj", DOWN),
];

/// GPT-2's Conv1D names.
const GPT2_LORA: &[(&str, LoraTargets)] =
    &[("c_attn", QKV), ("c_proj", O.union(DOWN)), ("c_fc", UP)];

/// GPT-NeoX / Falcon / BLOOM / Persimmon names.
const NEOX_LORA: &[(&str, LoraTargets)] = &[
    ("query_key_value", QKV),
    ("dense", O),
    ("dense_h_to_4h", UP),
    ("dense_4h_to_h", DOWN),
];

/// OPT / BioGPT / XGLM / GPT-Neo names.
const OPT_LORA: &[(&str, LoraTargets)] = &[
    ("q_proj", Q),
    ("k_proj", K),
    ("v_proj", V),
    ("out_proj", O),
    ("fc1", UP),
    ("fc2", DOWN),
];

/// Llama: the base most decoder families are written from.
pub const LLAMA: Family = Family {
    name: "llama",
    about: "Llama 1/2/3, TinyLlama, CodeLlama, Vicuna",
    hidden: &["hidden_size"],
    layers: &["num_hidden_layers"],
    heads: &["num_attention_heads"],
    kv_heads: &["num_key_value_heads"],
    multi_query: None,
    new_decoder_key: None,
    head_dim_key: true,
    head_dim_default: 0,
    intermediate: Dim::Key(&["intermediate_size"]),
    vocab: &["vocab_size"],
    max_positions: Dim::Or(&["max_position_embeddings"], 2048),
    positions: PositionRule::Rotary { factor: 1.0 },
    rope_per_layer_type: false,
    norm: Norm::Rms,
    norm_bias_key: None,
    layout: Layout::PreNorm,
    parallel: None,
    qkv_bias: Flag::Key("attention_bias", false),
    o_bias: Flag::Key("attention_bias", false),
    fused_qkv: false,
    qk_norm: QkNorm::None,
    qk_norm_key: None,
    qk_norm_kind: Norm::Rms,
    sinks: false,
    softmax_fp32: true,
    softcap_key: None,
    value_views_fused: false,
    mla: false,
    gated: true,
    fused_gate_up: false,
    mlp_bias: Flag::Key("mlp_bias", false),
    act_keys: &["hidden_act", "hidden_activation"],
    act_default: "silu",
    moe: None,
    sliding: SlidingRule::None,
    tie: Flag::Key("tie_word_embeddings", false),
    head_bias: Flag::Fixed(false),
    embed_norm: false,
    embed_scale: false,
    causal_mask: false,
    resid_dropout: false,
    encoder: None,
    seq2seq: None,
    vision: None,
    ssm: None,
    dropout_keys: &["attention_dropout"],
    dropout_default: 0.0,
    lora: LLAMA_LORA,
    refuse: &[],
};

const MIXTRAL_MOE: MoeRule = MoeRule {
    experts: &["num_local_experts"],
    experts_default: 8,
    top_k: &["num_experts_per_tok"],
    top_k_default: 2,
    width: Dim::Key(&["intermediate_size"]),
    shared: SharedRule::None,
    shared_gate: false,
    router_bias: false,
    expert_bias: false,
    score_correction: ScoreCorrection::None,
    act: Act::Fused,
    dense: DenseRule::None,
};

const QWEN_MOE: MoeRule = MoeRule {
    experts: &["num_experts", "num_local_experts"],
    experts_default: 60,
    top_k: &["num_experts_per_tok"],
    top_k_default: 4,
    width: Dim::Key(&["moe_intermediate_size"]),
    shared: SharedRule::Width("shared_expert_intermediate_size"),
    shared_gate: true,
    dense: DenseRule::SparseStep,
    ..MIXTRAL_MOE
};

const DEEPSEEK_MOE: MoeRule = MoeRule {
    experts: &["n_routed_experts"],
    experts_default: 64,
    top_k: &["num_experts_per_tok"],
    top_k_default: 6,
    width: Dim::Key(&["moe_intermediate_size"]),
    shared: SharedRule::Count("n_shared_experts"),
    dense: DenseRule::First("first_k_dense_replace"),
    ..MIXTRAL_MOE
};

/// GPT-2: the base of the learned-position, LayerNorm families.
pub const GPT2: Family = Family {
    name: "gpt2",
    about: "GPT-2 (tied head, learned positions, gelu_new)",
    hidden: &["n_embd", "hidden_size"],
    layers: &["n_layer", "num_hidden_layers"],
    heads: &["n_head", "num_attention_heads"],
    kv_heads: &[],
    head_dim_key: false,
    intermediate: Dim::TimesHidden(&["n_inner"], 4),
    max_positions: Dim::Or(&["n_positions", "max_position_embeddings"], 1024),
    positions: PositionRule::Learned { offset: 0 },
    norm: Norm::LayerNorm,
    qkv_bias: Flag::Fixed(true),
    o_bias: Flag::Fixed(true),
    fused_qkv: true,
    softmax_fp32: false,
    gated: false,
    mlp_bias: Flag::Fixed(true),
    act_keys: &["activation_function"],
    act_default: "gelu_new",
    tie: Flag::Key("tie_word_embeddings", true),
    resid_dropout: true,
    dropout_keys: &["resid_pdrop", "embd_pdrop", "attn_pdrop"],
    dropout_default: 0.1,
    lora: GPT2_LORA,
    refuse: &[Refuse::True("add_cross_attention")],
    ..LLAMA
};

/// OPT: learned positions offset by 2, ReLU MLP.
const OPT: Family = Family {
    name: "opt",
    about: "OPT (Meta), learned positions offset by 2",
    hidden: &["hidden_size"],
    layers: &["num_hidden_layers"],
    heads: &["num_attention_heads"],
    intermediate: Dim::Key(&["ffn_dim"]),
    max_positions: Dim::Or(&["max_position_embeddings"], 2048),
    positions: PositionRule::Learned { offset: 2 },
    fused_qkv: false,
    qkv_bias: Flag::Key("enable_bias", true),
    o_bias: Flag::Key("enable_bias", true),
    mlp_bias: Flag::Key("enable_bias", true),
    softmax_fp32: true,
    act_keys: &["activation_function"],
    act_default: "relu",
    dropout_keys: &["dropout", "attention_dropout"],
    dropout_default: 0.1,
    lora: OPT_LORA,
    refuse: &[
        Refuse::True("_remove_final_layer_norm"),
        Refuse::NotHidden("word_embed_proj_dim"),
    ],
    ..GPT2
};

/// GPT-NeoX: parallel attention and MLP with two norms, partial rotary.
const GPT_NEOX: Family = Family {
    name: "gpt_neox",
    about: "GPT-NeoX-20B, Pythia",
    kv_heads: &[],
    head_dim_key: false,
    positions: PositionRule::Rotary { factor: 0.25 },
    norm: Norm::LayerNorm,
    parallel: Some(("use_parallel_residual", true, 2)),
    qkv_bias: Flag::Key("attention_bias", true),
    o_bias: Flag::Key("attention_bias", true),
    fused_qkv: true,
    value_views_fused: true,
    gated: false,
    mlp_bias: Flag::Fixed(true),
    act_keys: &["hidden_act"],
    act_default: "gelu",
    dropout_keys: &["attention_dropout", "hidden_dropout"],
    lora: NEOX_LORA,
    ..LLAMA
};

/// Every supported `model_type`, in the order `estimator presets` lists them.
pub const ALL: &[Family] = &[
    LLAMA,
    Family {
        name: "mistral",
        about: "Mistral-7B (sliding window in v0.1), Mistral-Nemo",
        sliding: SlidingRule::All {
            gate: None,
            default: Some(4096),
        },
        max_positions: Dim::Or(&["max_position_embeddings"], 131_072),
        ..LLAMA
    },
    Family {
        name: "mixtral",
        about: "Mixtral-8x7B / 8x22B, sparse mixture of experts",
        moe: Some(MIXTRAL_MOE),
        sliding: SlidingRule::All {
            gate: None,
            default: None,
        },
        ..LLAMA
    },
    Family {
        name: "qwen2",
        about: "Qwen2 / Qwen2.5 (biased q, k, v)",
        qkv_bias: Flag::Fixed(true),
        o_bias: Flag::Fixed(false),
        sliding: SlidingRule::FromMaxWindowLayers,
        ..LLAMA
    },
    Family {
        name: "qwen2_moe",
        about: "Qwen1.5-MoE, Qwen2-57B-A14B (shared expert with a gate)",
        qkv_bias: Flag::Key("qkv_bias", true),
        o_bias: Flag::Fixed(false),
        moe: Some(QWEN_MOE),
        refuse: &[Refuse::True("use_sliding_window")],
        ..LLAMA
    },
    Family {
        name: "qwen3",
        about: "Qwen3 dense (per-head q/k norms)",
        qk_norm: QkNorm::PerHead,
        sliding: SlidingRule::FromMaxWindowLayers,
        ..LLAMA
    },
    Family {
        name: "qwen3_moe",
        about: "Qwen3-30B-A3B, Qwen3-235B-A22B",
        qk_norm: QkNorm::PerHead,
        moe: Some(MoeRule {
            experts_default: 128,
            top_k_default: 8,
            shared: SharedRule::None,
            shared_gate: false,
            ..QWEN_MOE
        }),
        sliding: SlidingRule::All {
            gate: Some("use_sliding_window"),
            default: Some(4096),
        },
        ..LLAMA
    },
    Family {
        name: "gemma",
        about: "Gemma (tied, scaled embeddings, head_dim 256)",
        head_dim_default: 256,
        embed_scale: true,
        tie: Flag::Key("tie_word_embeddings", true),
        max_positions: Dim::Or(&["max_position_embeddings"], 8192),
        ..LLAMA
    },
    Family {
        name: "gemma2",
        about: "Gemma 2 (sandwich norms, alternating sliding layers, soft-capped scores)",
        softcap_key: Some("attn_logit_softcapping"),
        head_dim_default: 256,
        embed_scale: true,
        layout: Layout::Sandwich,
        tie: Flag::Key("tie_word_embeddings", true),
        max_positions: Dim::Or(&["max_position_embeddings"], 8192),
        sliding: SlidingRule::EveryNth {
            keys: &[],
            default: 2,
        },
        ..LLAMA
    },
    Family {
        name: "gemma3_text",
        about: "Gemma 3 text (sandwich norms, q/k norms, 5 sliding : 1 global)",
        softcap_key: Some("attn_logit_softcapping"),
        head_dim_default: 256,
        embed_scale: true,
        layout: Layout::Sandwich,
        qk_norm: QkNorm::PerHead,
        rope_per_layer_type: true,
        tie: Flag::Key("tie_word_embeddings", true),
        max_positions: Dim::Or(&["max_position_embeddings"], 131_072),
        sliding: SlidingRule::EveryNth {
            keys: &["_sliding_window_pattern", "sliding_window_pattern"],
            default: 6,
        },
        ..LLAMA
    },
    Family {
        name: "phi3",
        about: "Phi-3 / Phi-3.5 / Phi-4 (fused qkv_proj and gate_up_proj)",
        fused_qkv: true,
        fused_gate_up: true,
        mlp_bias: Flag::Fixed(false),
        max_positions: Dim::Or(&["max_position_embeddings"], 4096),
        sliding: SlidingRule::All {
            gate: None,
            default: None,
        },
        dropout_keys: &["attention_dropout", "resid_pdrop", "embd_pdrop"],
        lora: PHI3_LORA,
        ..LLAMA
    },
    Family {
        name: "phimoe",
        about: "Phi-3.5-MoE (LayerNorm, 16 experts)",
        norm: Norm::LayerNorm,
        head_bias: Flag::Key("lm_head_bias", false),
        moe: Some(MoeRule {
            experts_default: 16,
            ..MIXTRAL_MOE
        }),
        sliding: SlidingRule::All {
            gate: None,
            default: None,
        },
        ..LLAMA
    },
    Family {
        name: "phi",
        about: "Phi-1 / Phi-1.5 / Phi-2 (parallel block, partial rotary, biased head)",
        norm: Norm::LayerNorm,
        layout: Layout::Parallel { norms: 1 },
        positions: PositionRule::Rotary { factor: 0.5 },
        qkv_bias: Flag::Fixed(true),
        o_bias: Flag::Fixed(true),
        qk_norm: QkNorm::PerHead,
        qk_norm_key: Some(("qk_layernorm", false)),
        qk_norm_kind: Norm::LayerNorm,
        gated: false,
        mlp_bias: Flag::Fixed(true),
        act_default: "gelu_new",
        head_bias: Flag::Fixed(true),
        dropout_keys: &["attention_dropout", "resid_pdrop", "embd_pdrop"],
        lora: &[
            ("q_proj", Q),
            ("k_proj", K),
            ("v_proj", V),
            ("dense", O),
            ("fc1", UP),
            ("fc2", DOWN),
        ],
        ..LLAMA
    },
    Family {
        name: "granite",
        about: "IBM Granite 3 dense",
        ..LLAMA
    },
    Family {
        name: "granitemoe",
        about: "IBM Granite 3 MoE",
        moe: Some(MIXTRAL_MOE),
        ..LLAMA
    },
    Family {
        name: "cohere",
        about: "Cohere Command-R (parallel block, bias-free LayerNorm, tied)",
        norm: Norm::LayerNormFp32,
        layout: Layout::Parallel { norms: 1 },
        qk_norm: QkNorm::Full,
        qk_norm_key: Some(("use_qk_norm", false)),
        qk_norm_kind: Norm::LayerNormFp32,
        tie: Flag::Key("tie_word_embeddings", true),
        max_positions: Dim::Or(&["max_position_embeddings"], 8192),
        ..LLAMA
    },
    Family {
        name: "cohere2",
        about: "Cohere Command-R7B / Command-A (sliding 3 : 1 global)",
        norm: Norm::LayerNormFp32,
        layout: Layout::Parallel { norms: 1 },
        tie: Flag::Key("tie_word_embeddings", true),
        max_positions: Dim::Or(&["max_position_embeddings"], 8192),
        sliding: SlidingRule::EveryNth {
            keys: &["sliding_window_pattern"],
            default: 4,
        },
        ..LLAMA
    },
    Family {
        name: "starcoder2",
        about: "StarCoder2 (LayerNorm, biased GELU MLP)",
        norm: Norm::LayerNorm,
        qkv_bias: Flag::Key("use_bias", true),
        o_bias: Flag::Key("use_bias", true),
        gated: false,
        mlp_bias: Flag::Key("use_bias", true),
        act_default: "gelu_pytorch_tanh",
        tie: Flag::Key("tie_word_embeddings", true),
        max_positions: Dim::Or(&["max_position_embeddings"], 4096),
        sliding: SlidingRule::All {
            gate: None,
            default: None,
        },
        dropout_keys: &["attention_dropout", "residual_dropout", "embedding_dropout"],
        lora: &[
            ("q_proj", Q),
            ("k_proj", K),
            ("v_proj", V),
            ("o_proj", O),
            ("c_fc", UP),
            ("c_proj", DOWN),
        ],
        ..LLAMA
    },
    Family {
        name: "olmo",
        about: "OLMo 1 (LayerNorm without parameters)",
        norm: Norm::NonParametric,
        refuse: &[Refuse::Present("clip_qkv")],
        ..LLAMA
    },
    Family {
        name: "olmo2",
        about: "OLMo 2 (norms after attention and MLP, full-width q/k norms)",
        layout: Layout::PostNorm,
        qk_norm: QkNorm::Full,
        ..LLAMA
    },
    Family {
        name: "olmo3",
        about: "OLMo 3 (OLMo 2 with 3 sliding : 1 global)",
        layout: Layout::PostNorm,
        qk_norm: QkNorm::Full,
        rope_per_layer_type: true,
        sliding: SlidingRule::EveryNth {
            keys: &[],
            default: 4,
        },
        ..LLAMA
    },
    Family {
        name: "olmoe",
        about: "OLMoE (64 experts, full-width q/k norms)",
        qk_norm: QkNorm::Full,
        moe: Some(MoeRule {
            experts: &["num_experts"],
            experts_default: 64,
            top_k_default: 8,
            ..MIXTRAL_MOE
        }),
        max_positions: Dim::Or(&["max_position_embeddings"], 4096),
        refuse: &[Refuse::Present("clip_qkv")],
        ..LLAMA
    },
    Family {
        name: "glm",
        about: "GLM-4 (first release: fused gate_up_proj, biased q/k/v)",
        qkv_bias: Flag::Key("attention_bias", true),
        o_bias: Flag::Fixed(false),
        fused_gate_up: true,
        positions: PositionRule::Rotary { factor: 0.5 },
        max_positions: Dim::Or(&["max_position_embeddings"], 131_072),
        lora: GLM_LORA,
        ..LLAMA
    },
    Family {
        name: "glm4",
        about: "GLM-4-0414 (sandwich norms)",
        qkv_bias: Flag::Key("attention_bias", true),
        o_bias: Flag::Fixed(false),
        fused_gate_up: true,
        layout: Layout::Sandwich,
        positions: PositionRule::Rotary { factor: 0.5 },
        max_positions: Dim::Or(&["max_position_embeddings"], 131_072),
        lora: GLM_LORA,
        ..LLAMA
    },
    Family {
        name: "internlm3",
        about: "InternLM3 (`qkv_bias` and `bias` as its files name them)",
        qkv_bias: Flag::Keys(&["attention_bias", "qkv_bias"], false),
        o_bias: Flag::Keys(&["attention_bias", "qkv_bias"], false),
        mlp_bias: Flag::Keys(&["mlp_bias", "bias"], false),
        max_positions: Dim::Or(&["max_position_embeddings"], 32_768),
        ..LLAMA
    },
    Family {
        name: "smollm3",
        about: "SmolLM3 (NoPE every 4th layer, tied)",
        tie: Flag::Key("tie_word_embeddings", true),
        max_positions: Dim::Or(&["max_position_embeddings"], 32_768),
        refuse: &[Refuse::True("use_sliding_window")],
        ..LLAMA
    },
    Family {
        name: "helium",
        about: "Kyutai Helium",
        ..LLAMA
    },
    Family {
        name: "seed_oss",
        about: "ByteDance Seed-OSS",
        qkv_bias: Flag::Key("attention_bias", true),
        o_bias: Flag::Key("attention_out_bias", false),
        dropout_keys: &["attention_dropout", "residual_dropout"],
        dropout_default: 0.1,
        ..LLAMA
    },
    Family {
        name: "ernie4_5",
        about: "Baidu ERNIE 4.5 dense",
        qkv_bias: Flag::Key("use_bias", false),
        o_bias: Flag::Key("use_bias", false),
        mlp_bias: Flag::Key("use_bias", false),
        tie: Flag::Key("tie_word_embeddings", true),
        ..LLAMA
    },
    Family {
        name: "exaone4",
        about: "LG EXAONE 4 (post-norms, per-head q/k norms, 3 sliding : 1 global)",
        layout: Layout::PostNorm,
        qk_norm: QkNorm::PerHead,
        sliding: SlidingRule::EveryNth {
            keys: &["sliding_window_pattern"],
            default: 4,
        },
        ..LLAMA
    },
    Family {
        name: "cwm",
        about: "Meta Code World Model (3 sliding : 1 global)",
        sliding: SlidingRule::FirstOfN { keys: &[], n: 4 },
        ..LLAMA
    },
    Family {
        name: "deepseek_v2",
        about: "DeepSeek-V2 / V2-Lite (latent attention, shared experts)",
        mla: true,
        moe: Some(DEEPSEEK_MOE),
        // latent attention and experts: no module LoRA can adapt here yet
        lora: &[],
        ..LLAMA
    },
    Family {
        name: "deepseek_v3",
        about: "DeepSeek-V3 / R1 (latent attention, 256 experts, score correction)",
        mla: true,
        moe: Some(MoeRule {
            experts_default: 256,
            top_k_default: 8,
            score_correction: ScoreCorrection::Buffer,
            ..DEEPSEEK_MOE
        }),
        lora: &[],
        ..LLAMA
    },
    Family {
        name: "gpt_oss",
        about: "OpenAI gpt-oss (sinks, biased experts, alternating 128-token window)",
        qkv_bias: Flag::Key("attention_bias", true),
        o_bias: Flag::Key("attention_bias", true),
        sinks: true,
        moe: Some(MoeRule {
            experts_default: 128,
            top_k_default: 4,
            router_bias: true,
            expert_bias: true,
            act: Act::ClampedSwiGlu,
            ..MIXTRAL_MOE
        }),
        max_positions: Dim::Or(&["max_position_embeddings"], 131_072),
        sliding: SlidingRule::EveryNth {
            keys: &[],
            default: 2,
        },
        ..LLAMA
    },
    Family {
        name: "stablelm",
        about: "StableLM 2 / StableLM-3B (LayerNorm, partial rotary)",
        norm: Norm::LayerNorm,
        positions: PositionRule::Rotary { factor: 0.25 },
        parallel: Some(("use_parallel_residual", false, 1)),
        qkv_bias: Flag::Key("use_qkv_bias", false),
        o_bias: Flag::Fixed(false),
        qk_norm: QkNorm::PerHeadModules,
        qk_norm_key: Some(("qk_layernorm", false)),
        qk_norm_kind: Norm::LayerNormNoBias,
        max_positions: Dim::Or(&["max_position_embeddings"], 4096),
        dropout_keys: &["attention_dropout", "hidden_dropout"],
        ..LLAMA
    },
    Family {
        name: "persimmon",
        about: "Adept Persimmon / Fuyu's decoder (squared ReLU, q/k LayerNorms)",
        kv_heads: &[],
        head_dim_key: false,
        norm: Norm::LayerNorm,
        positions: PositionRule::Rotary { factor: 0.5 },
        qkv_bias: Flag::Fixed(true),
        o_bias: Flag::Fixed(true),
        fused_qkv: true,
        qk_norm: QkNorm::PerHead,
        qk_norm_key: Some(("qk_layernorm", true)),
        qk_norm_kind: Norm::LayerNorm,
        gated: false,
        mlp_bias: Flag::Fixed(true),
        act_default: "relu2",
        max_positions: Dim::Or(&["max_position_embeddings"], 16_384),
        dropout_keys: &["attention_dropout", "hidden_dropout"],
        lora: NEOX_LORA,
        ..LLAMA
    },
    Family {
        name: "arcee",
        about: "Arcee AFM (squared-ReLU MLP, no gate)",
        gated: false,
        act_default: "relu2",
        max_positions: Dim::Or(&["max_position_embeddings"], 4096),
        lora: UNGATED_LORA,
        ..LLAMA
    },
    GPT2,
    Family {
        name: "gpt_bigcode",
        about: "StarCoder 1 / SantaCoder (multi-query attention)",
        multi_query: Some(("multi_query", true)),
        causal_mask: true,
        act_default: "gelu_pytorch_tanh",
        softmax_fp32: true,
        refuse: &[Refuse::True("add_cross_attention")],
        ..GPT2
    },
    Family {
        name: "gptj",
        about: "GPT-J-6B (parallel block, rotary table, biased head)",
        positions: PositionRule::RotaryTable,
        layout: Layout::Parallel { norms: 1 },
        qkv_bias: Flag::Fixed(false),
        o_bias: Flag::Fixed(false),
        fused_qkv: false,
        head_bias: Flag::Fixed(true),
        softmax_fp32: true,
        tie: Flag::Key("tie_word_embeddings", false),
        max_positions: Dim::Or(&["n_positions"], 2048),
        lora: &[
            ("q_proj", Q),
            ("k_proj", K),
            ("v_proj", V),
            ("out_proj", O),
            ("fc_in", UP),
            ("fc_out", DOWN),
        ],
        ..GPT2
    },
    Family {
        name: "codegen",
        about: "Salesforce CodeGen (GPT-J with a fused qkv_proj)",
        positions: PositionRule::RotaryTable,
        layout: Layout::Parallel { norms: 1 },
        qkv_bias: Flag::Fixed(false),
        o_bias: Flag::Fixed(false),
        fused_qkv: true,
        head_bias: Flag::Fixed(true),
        softmax_fp32: true,
        tie: Flag::Key("tie_word_embeddings", false),
        max_positions: Dim::Or(&["n_positions"], 2048),
        lora: &[
            ("qkv_proj", QKV),
            ("out_proj", O),
            ("fc_in", UP),
            ("fc_out", DOWN),
        ],
        ..GPT2
    },
    GPT_NEOX,
    Family {
        name: "falcon",
        about: "Falcon-7B/40B/180B (parallel block; multi-query, or grouped KV broadcast to every head)",
        kv_heads: &["num_kv_heads"],
        new_decoder_key: Some("new_decoder_architecture"),
        // its split copies the value out of the fused projection (measured)
        value_views_fused: false,
        intermediate: Dim::TimesHidden(&["ffn_hidden_size"], 4),
        positions: PositionRule::Rotary { factor: 1.0 },
        parallel: Some(("parallel_attn", true, 1)),
        multi_query: Some(("multi_query", true)),
        qkv_bias: Flag::Key("bias", false),
        o_bias: Flag::Key("bias", false),
        mlp_bias: Flag::Key("bias", false),
        act_keys: &["activation"],
        tie: Flag::Key("tie_word_embeddings", true),
        refuse: &[Refuse::True("alibi")],
        ..GPT_NEOX
    },
    Family {
        name: "bloom",
        about: "BLOOM (ALiBi, embedding LayerNorm)",
        hidden: &["hidden_size", "n_embed"],
        layers: &["n_layer", "num_hidden_layers"],
        heads: &["n_head", "num_attention_heads"],
        intermediate: Dim::TimesHidden(&[], 4),
        positions: PositionRule::None,
        parallel: None,
        embed_norm: true,
        softmax_fp32: false,
        qkv_bias: Flag::Fixed(true),
        o_bias: Flag::Fixed(true),
        tie: Flag::Key("tie_word_embeddings", true),
        refuse: &[Refuse::True("apply_residual_connection_post_layernorm")],
        ..GPT_NEOX
    },
    OPT,
    Family {
        name: "biogpt",
        about: "Microsoft BioGPT",
        intermediate: Dim::Key(&["intermediate_size"]),
        max_positions: Dim::Or(&["max_position_embeddings"], 1024),
        qkv_bias: Flag::Fixed(true),
        o_bias: Flag::Fixed(true),
        mlp_bias: Flag::Fixed(true),
        act_keys: &["hidden_act"],
        act_default: "gelu",
        dropout_keys: &["hidden_dropout_prob", "attention_probs_dropout_prob"],
        refuse: &[],
        ..OPT
    },
    Family {
        name: "xglm",
        about: "Meta XGLM (sinusoidal positions)",
        hidden: &["d_model"],
        layers: &["num_layers"],
        heads: &["attention_heads"],
        intermediate: Dim::Key(&["ffn_dim"]),
        positions: PositionRule::Sinusoidal { offset: 2 },
        qkv_bias: Flag::Fixed(true),
        o_bias: Flag::Fixed(true),
        mlp_bias: Flag::Fixed(true),
        act_default: "gelu",
        refuse: &[Refuse::True("add_cross_attention")],
        ..OPT
    },
    BERT,
    ROBERTA,
    Family {
        name: "xlm-roberta",
        about: "XLM-RoBERTa (RoBERTa's layout, a multilingual vocabulary)",
        ..ROBERTA
    },
    Family {
        name: "camembert",
        about: "CamemBERT (RoBERTa's layout, a French vocabulary)",
        ..ROBERTA
    },
    Family {
        name: "distilbert",
        about: "DistilBERT (six BERT layers, no token types, no pooler)",
        hidden: &["dim", "hidden_size"],
        layers: &["n_layers", "num_hidden_layers"],
        heads: &["n_heads", "num_attention_heads"],
        intermediate: Dim::Key(&["hidden_dim"]),
        act_keys: &["activation"],
        encoder: Some(EncoderRule {
            token_types: false,
            pooler: false,
            out_dropout: false,
            tied_decoder_bias: false,
            pretraining: None,
            ..BERT_ENCODER
        }),
        dropout_keys: &["dropout", "attention_dropout"],
        refuse: &[],
        ..BERT
    },
    Family {
        name: "modernbert",
        about: "ModernBERT (pre-norm encoder: fused Wqkv, GLU MLP, rotary, local and global layers)",
        kv_heads: &[],
        head_dim_key: false,
        max_positions: Dim::Or(&["max_position_embeddings"], 8192),
        positions: PositionRule::Rotary { factor: 1.0 },
        rope_per_layer_type: true,
        norm: Norm::LayerNorm,
        norm_bias_key: Some(("norm_bias", false)),
        qkv_bias: Flag::Key("attention_bias", false),
        o_bias: Flag::Key("attention_bias", false),
        fused_qkv: true,
        softmax_fp32: true,
        // v = qkv.unbind(...) stays a view of Wqkv's output (measured: SDPA keeps all of it)
        value_views_fused: true,
        gated: true,
        fused_gate_up: true,
        mlp_bias: Flag::Key("mlp_bias", false),
        act_keys: &["hidden_activation"],
        act_default: "gelu",
        sliding: SlidingRule::FirstOfN {
            keys: &["global_attn_every_n_layers"],
            n: 3,
        },
        tie: Flag::Key("tie_word_embeddings", true),
        head_bias: Flag::Key("decoder_bias", true),
        embed_norm: true,
        encoder: Some(EncoderRule {
            token_types: false,
            pooler: false,
            out_dropout: false,
            tied_decoder_bias: false,
            pretraining: None,
            pre_norm: Some(("classifier_bias", false)),
            ..BERT_ENCODER
        }),
        dropout_keys: &["embedding_dropout", "attention_dropout", "mlp_dropout"],
        dropout_default: 0.0,
        lora: &[],
        refuse: &[],
        ..LLAMA
    },
    Family {
        name: "deberta-v2",
        about: "DeBERTa-v2 and v3 (disentangled attention over a relative position table)",
        vocab: &["vocab_size"],
        max_positions: Dim::Or(&["max_position_embeddings"], 512),
        encoder: Some(EncoderRule {
            embedding_size: Some("embedding_size"),
            pooler: false,
            pretraining: None,
            type_vocab_default: 0,
            deberta: true,
            ..BERT_ENCODER
        }),
        refuse: &[
            Refuse::True("add_cross_attention"),
            Refuse::True("is_decoder"),
            Refuse::NotHidden("pooler_hidden_size"),
            Refuse::Present("attention_head_size"),
        ],
        ..BERT
    },
    Family {
        name: "electra",
        about: "ELECTRA discriminators and generators (embeddings of `embedding_size`, projected)",
        encoder: Some(EncoderRule {
            embedding_size: Some("embedding_size"),
            pooler: false,
            tied_decoder_bias: false,
            pretraining: Some(Pretraining::Discriminator),
            ..BERT_ENCODER
        }),
        ..BERT
    },
    T5,
    Family {
        name: "mt5",
        about: "mT5 (T5's layout, gated-GELU, a multilingual vocabulary)",
        tie: Flag::Key("tie_word_embeddings", false),
        ..T5
    },
    Family {
        name: "umt5",
        about: "UMT5 (T5's layout with a relative table in every layer)",
        seq2seq: Some(Seq2SeqRule {
            relative: Some(("relative_attention_num_buckets", 32, true)),
            ..match T5.seq2seq {
                Some(r) => r,
                None => panic!("T5 is an encoder–decoder"),
            }
        }),
        ..T5
    },
    BART,
    Family {
        name: "mbart",
        about: "mBART (BART with pre-norm layers and a norm at the end of each stack)",
        seq2seq: Some(Seq2SeqRule {
            post_norm: false,
            ..BART_RULE
        }),
        ..BART
    },
    Family {
        name: "marian",
        about: "Marian / OPUS-MT (BART's post-norm layers, frozen sinusoidal positions)",
        vocab: &["decoder_vocab_size", "vocab_size"],
        positions: PositionRule::Learned { offset: 0 },
        embed_norm: false,
        seq2seq: Some(Seq2SeqRule {
            frozen_positions: (true, true),
            embed_norms: false,
            shared_key: Some("share_encoder_decoder_embeddings"),
            ..BART_RULE
        }),
        ..BART
    },
    Family {
        name: "pegasus",
        about: "Pegasus (pre-norm, frozen sinusoidal positions, final norms)",
        positions: PositionRule::Learned { offset: 0 },
        embed_norm: false,
        seq2seq: Some(Seq2SeqRule {
            frozen_positions: (true, true),
            post_norm: false,
            embed_norms: false,
            ..BART_RULE
        }),
        ..BART
    },
    Family {
        name: "whisper",
        about: "Whisper (a convolutional front end over log-mel frames, pre-norm encoder–decoder)",
        max_positions: Dim::Or(&["max_target_positions"], 448),
        positions: PositionRule::Learned { offset: 0 },
        embed_norm: false,
        seq2seq: Some(Seq2SeqRule {
            source_rows: Some(("max_source_positions", 1500)),
            mel_bins: Some(("num_mel_bins", 80)),
            frozen_positions: (true, false),
            post_norm: false,
            embed_norms: false,
            final_logits_bias: false,
            key_bias: false,
            contiguous_heads: true,
            dropouts: [
                ("dropout", 0.0),
                ("attention_dropout", 0.0),
                ("activation_dropout", 0.0),
            ],
            ..BART_RULE
        }),
        dropout_default: 0.0,
        ..BART
    },
    MAMBA,
    Family {
        name: "mamba2",
        about: "Mamba-2 (the chunked state-space duality scan over heads, a gated norm; no attention)",
        tie: Flag::Key("tie_word_embeddings", false),
        ssm: Some(SsmRule::Mamba2),
        ..MAMBA
    },
    Family {
        name: "jamba",
        about: "Jamba (Mamba and attention layers by a period, mixtures of experts every other layer)",
        heads: &["num_attention_heads"],
        kv_heads: &["num_key_value_heads"],
        intermediate: Dim::Key(&["intermediate_size"]),
        max_positions: Dim::Or(&["max_position_embeddings"], 262_144),
        positions: PositionRule::None,
        qkv_bias: Flag::Fixed(false),
        o_bias: Flag::Fixed(false),
        mlp_bias: Flag::Fixed(false),
        tie: Flag::Key("tie_word_embeddings", false),
        moe: Some(MoeRule {
            experts: &["num_experts"],
            experts_default: 16,
            top_k: &["num_experts_per_tok"],
            top_k_default: 2,
            width: Dim::Key(&["intermediate_size"]),
            dense: DenseRule::Period,
            ..MIXTRAL_MOE
        }),
        ssm: Some(SsmRule::Jamba),
        dropout_keys: &["attention_dropout"],
        lora: &[],
        ..LLAMA
    },
    Family {
        name: "bamba",
        about: "Bamba (Mamba-2 and attention layers at given indices, an MLP in every layer)",
        heads: &["num_attention_heads"],
        kv_heads: &["num_key_value_heads"],
        max_positions: Dim::Or(&["max_position_embeddings"], 262_144),
        positions: PositionRule::Rotary { factor: 0.5 },
        tie: Flag::Key("tie_word_embeddings", false),
        ssm: Some(SsmRule::Bamba),
        lora: &[],
        ..LLAMA
    },
    VIT,
    Family {
        name: "clip_vision_model",
        about: "CLIP's vision tower (bias-free patch convolution, pre- and post-layernorm, quick_gelu)",
        qkv_bias: Flag::Fixed(true),
        act_default: "quick_gelu",
        vision: Some(VisionRule {
            clip: true,
            patch_default: 32,
        }),
        dropout_keys: &["attention_dropout"],
        ..VIT
    },
];

/// Mamba: the base of the state-space families.
const MAMBA: Family = Family {
    name: "mamba",
    about: "Mamba (selective state spaces: layers of a norm and a mixer, no attention)",
    heads: &[],
    kv_heads: &[],
    head_dim_key: false,
    intermediate: Dim::Or(&[], 0),
    max_positions: Dim::Or(&[], 0),
    positions: PositionRule::None,
    tie: Flag::Key("tie_word_embeddings", true),
    ssm: Some(SsmRule::Mamba),
    act_keys: &["hidden_act"],
    dropout_keys: &[],
    lora: &[],
    refuse: &[],
    ..LLAMA
};

/// ViT: the base of the vision families.
const VIT: Family = Family {
    name: "vit",
    about: "ViT (patch convolution, class token, learned positions; image classification)",
    vocab: &[],
    kv_heads: &[],
    head_dim_key: false,
    max_positions: Dim::Or(&[], 0),
    positions: PositionRule::None,
    norm: Norm::LayerNorm,
    qkv_bias: Flag::Key("qkv_bias", true),
    o_bias: Flag::Fixed(true),
    gated: false,
    mlp_bias: Flag::Fixed(true),
    act_keys: &["hidden_act"],
    act_default: "gelu",
    tie: Flag::Fixed(false),
    vision: Some(VisionRule {
        clip: false,
        patch_default: 16,
    }),
    dropout_keys: &["hidden_dropout_prob", "attention_probs_dropout_prob"],
    dropout_default: 0.0,
    lora: &[],
    refuse: &[],
    ..LLAMA
};

/// T5: the base of the T5 family (and of mT5, UMT5).
const T5: Family = Family {
    name: "t5",
    about: "T5, Flan-T5 (relative position buckets, RMS norms, ReLU or gated-GELU FFN, tied `shared`)",
    hidden: &["d_model"],
    layers: &["num_decoder_layers", "num_layers"],
    heads: &["num_heads"],
    kv_heads: &[],
    head_dim_key: false,
    intermediate: Dim::Key(&["d_ff"]),
    max_positions: Dim::Or(&[], 0),
    positions: PositionRule::None,
    norm: Norm::Rms,
    qkv_bias: Flag::Fixed(false),
    o_bias: Flag::Fixed(false),
    gated: false,
    mlp_bias: Flag::Fixed(false),
    act_keys: &[],
    act_default: "relu",
    tie: Flag::Key("tie_word_embeddings", true),
    seq2seq: Some(Seq2SeqRule {
        encoder_layers: &["num_layers"],
        encoder_heads: &["num_heads"],
        encoder_ffn: &["d_ff"],
        head_dim_key: Some("d_kv"),
        relative: Some(("relative_attention_num_buckets", 32, false)),
        source_rows: None,
        mel_bins: None,
        frozen_positions: (false, false),
        post_norm: false,
        embed_norms: false,
        final_logits_bias: false,
        key_bias: false,
        ffn_proj: Some("feed_forward_proj"),
        shared_key: None,
        untied_stacks: false,
        contiguous_heads: false,
        dropouts: [
            ("dropout_rate", 0.1),
            ("dropout_rate", 0.1),
            ("dropout_rate", 0.1),
        ],
    }),
    dropout_keys: &["dropout_rate"],
    dropout_default: 0.1,
    lora: &[],
    refuse: &[Refuse::True("is_decoder")],
    ..LLAMA
};

/// BART: the base of the BART family (and of mBART, Marian, Pegasus, Whisper).
const BART: Family = Family {
    name: "bart",
    about: "BART (post-norm encoder–decoder, learned positions offset by 2, `final_logits_bias`)",
    hidden: &["d_model"],
    layers: &["decoder_layers"],
    heads: &["decoder_attention_heads"],
    kv_heads: &[],
    head_dim_key: false,
    intermediate: Dim::Key(&["decoder_ffn_dim"]),
    max_positions: Dim::Or(&["max_position_embeddings"], 1024),
    positions: PositionRule::Learned { offset: 2 },
    norm: Norm::LayerNorm,
    qkv_bias: Flag::Fixed(true),
    o_bias: Flag::Fixed(true),
    softmax_fp32: false,
    gated: false,
    mlp_bias: Flag::Fixed(true),
    act_keys: &["activation_function"],
    act_default: "gelu",
    tie: Flag::Key("tie_word_embeddings", true),
    embed_norm: true,
    seq2seq: Some(Seq2SeqRule {
        encoder_layers: &["encoder_layers"],
        encoder_heads: &["encoder_attention_heads"],
        encoder_ffn: &["encoder_ffn_dim"],
        head_dim_key: None,
        relative: None,
        source_rows: None,
        mel_bins: None,
        frozen_positions: (false, false),
        post_norm: true,
        embed_norms: true,
        final_logits_bias: true,
        key_bias: true,
        ffn_proj: None,
        shared_key: None,
        untied_stacks: true,
        contiguous_heads: false,
        dropouts: [
            ("dropout", 0.1),
            ("attention_dropout", 0.0),
            ("activation_dropout", 0.0),
        ],
    }),
    dropout_keys: &["dropout", "attention_dropout", "activation_dropout"],
    dropout_default: 0.1,
    lora: &[],
    refuse: &[Refuse::True("is_decoder")],
    ..LLAMA
};

/// The `Seq2SeqRule` of [`BART`].
const BART_RULE: Seq2SeqRule = match BART.seq2seq {
    Some(r) => r,
    None => panic!("BART is an encoder–decoder"),
};

/// BERT: the base of the encoder families.
const BERT: Family = Family {
    name: "bert",
    about: "BERT encoders (BertModel with its pooler, masked LM, classification heads)",
    kv_heads: &[],
    head_dim_key: false,
    max_positions: Dim::Or(&["max_position_embeddings"], 512),
    positions: PositionRule::Learned { offset: 0 },
    norm: Norm::LayerNorm,
    qkv_bias: Flag::Fixed(true),
    o_bias: Flag::Fixed(true),
    softmax_fp32: false,
    gated: false,
    mlp_bias: Flag::Fixed(true),
    act_default: "gelu",
    tie: Flag::Key("tie_word_embeddings", true),
    encoder: Some(BERT_ENCODER),
    dropout_keys: &["hidden_dropout_prob", "attention_probs_dropout_prob"],
    dropout_default: 0.1,
    lora: &[],
    refuse: &[
        Refuse::True("add_cross_attention"),
        Refuse::True("is_decoder"),
    ],
    ..LLAMA
};

/// RoBERTa: BERT's layout, with positions that start after the padding index.
const ROBERTA: Family = Family {
    name: "roberta",
    about: "RoBERTa (BERT's layout; positions start after the padding index)",
    encoder: Some(EncoderRule {
        pad_offset: true,
        pretraining: None,
        ..BERT_ENCODER
    }),
    ..BERT
};

/// The family named `name`.
#[must_use]
pub const fn find(name: &str) -> Option<&'static Family> {
    match super::ModelType::from_name(name) {
        Some(t) => Some(t.family()),
        None => None,
    }
}
