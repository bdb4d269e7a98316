//! Compile-time GPU memory estimates: describe a model as Rust types and the compiler counts
//! its parameters (and, with the memory model, what training or serving it needs).
//!
//! ```
//! use estimator::prelude::*;
//!
//! #[derive(Params)]
//! struct Block {
//!     ln_1: LayerNorm<768>,
//!     attn: MultiHeadAttention<768, 12>,
//!     ln_2: LayerNorm<768>,
//!     mlp: FeedForward<768, 3072>,
//! }
//!
//! #[derive(Params)]
//! struct Gpt2 {
//!     wte: Embedding<50257, 768>,
//!     wpe: Embedding<1024, 768>,
//!     h: [Block; 12],
//!     ln_f: LayerNorm<768>,
//!     #[params(tied)] // shares its weight with `wte`: counted once
//!     lm_head: Linear<768, 50257, false>,
//! }
//!
//! // PyTorch: sum(p.numel() for p in GPT2LMHeadModel(GPT2Config()).parameters())
//! const _: () = assert!(Gpt2::PARAMS == 124_439_808);
//! // the seed tutorial's transformer layer: 12d² + 13d
//! const _: () = assert!(Block::PARAMS == 12 * 768 * 768 + 13 * 768);
//! ```
//!
//! The pieces:
//! - [`Params`]: what a layer costs, as associated consts; `#[derive(Params)]` sums a struct's
//!   fields (attributes `tied`, `frozen`, `skip`, `shares_input`, `unquantized`, `crate = path`), and
//!   [`model!`] declares a whole model from hyper-parameters or a Hugging Face `config.json`.
//! - [`layers`]: the layer vocabulary, counts equal to PyTorch's, parameters and buffers.
//! - [`Cost`]: everything the memory model needs from a layer, composed by `const fn`s.
//! - [`Training`] and [`Inference`]: const builders whose `estimate()` is a [`Memory`] — named
//!   parts at the peak phase of the step; [`assert_fits!`] fails the build when it does not fit
//!   a budget ([`gpu`] has the cards).
//! - [`config`]: Hugging Face `config.json` files as [`config::ModelConfig`], shared with the
//!   command line.
//! - [`DType`] and [`Bytes`]: exact bytes per element and checked byte arithmetic.
//! - [`Summary`]: the per-layer table PyTorch Lightning prints before training.
//!
//! The guide (`docs/` in the repository) teaches the concepts with examples that are compiled
//! and run as tests.

#![no_std]

pub use estimator_core::{
    ActivationModel, Activations, AttentionKernel, Bytes, Cost, DType, Device, EstimateError,
    GgmlType, Inference, KvPlan, Layer, LlamaCpp, LlamaCppPlan, Logits, Loss, Memory, Message,
    Offload, Optimizer, OptimizerImpl, Overflow, Params, Phase, Precision, Recompute, Sglang,
    SglangPlan, Si, Source, Summary, Training, Vllm, Workload, ZeroStage,
};
pub use estimator_core::{assert_fits, const_assert};
pub use estimator_core::{config, gpu, layers};

/// Implements [`Params`] for a struct whose fields are layers.
///
/// The cost is the sum of the fields' costs in declaration order (see [`Cost::add`]); arrays
/// `[T; N]` are stacks of blocks. Field attributes:
///
/// - `#[params(tied)]`: the field's weights are another field's (GPT-2's `lm_head` and `wte`):
///   counted once, its activations still counted.
/// - `#[params(frozen)]`: the field does not train (no gradients, no optimizer state).
/// - `#[params(skip)]`: the field is not a layer (a name, a config value): ignored.
/// - `#[params(shares_input)]`: the field reads the same input as the field before it (`k_proj`
///   after `q_proj`): that input is saved once.
/// - `#[params(unquantized)]`: weight quantization leaves the field in its dtype, as
///   bitsandbytes, GPTQ and AWQ leave a model's `lm_head`.
///
/// Container attribute: `#[params(crate = path)]` when `estimator` is re-exported under another
/// name.
///
/// Type parameters get a `Params` bound when a field uses them.
pub use estimator_macros::Params;

/// Declares a model type: named hyper-parameters and a layer list in one place, or a Hugging
/// Face `config.json` read at compile time.
///
/// ```
/// use estimator::prelude::*;
///
/// model! {
///     /// GPT-2 small.
///     pub Gpt2 {
///         vocab_size = 50257,
///         d_model = 768,
///         n_heads = 12,
///         n_layers = 12,
///         d_ff = 4 * d_model,
///
///         block Block {
///             ln_1: LayerNorm<d_model>,
///             attn: MultiHeadAttention<d_model, n_heads>,
///             ln_2: LayerNorm<d_model>,
///             mlp: FeedForward<d_model, d_ff>,
///         }
///
///         wte: Embedding<vocab_size, d_model>,
///         wpe: Embedding<1024, d_model>,
///         h: [Block; n_layers],
///         ln_f: LayerNorm<d_model>,
///         tied lm_head: Linear<d_model, vocab_size, false>,
///     }
/// }
///
/// const _: () = assert!(Gpt2::PARAMS == 124_439_808);
/// ```
///
/// Grammar (one model per invocation):
///
/// ```text
/// model     := attribute* visibility NAME ( "=" "path/to/config.json" | "=" hub | "{" item,* "}" )
/// hub       := "hub" "org/name@<40-hex commit>" ( "in" "path/to/hf-cache" )?
/// item      := param | block | lora | field
/// param     := NAME "=" expr                  // integers, earlier params, + - * / % ( )
/// block     := "block" NAME "{" field,* "}"     // a nested layer type, usable in fields
/// lora      := "lora" "(" "rank" "=" expr "," "targets" "=" "[" NAME,* "]" ")"
/// field     := attribute* modifier* NAME ":" type
/// modifier  := "tied" | "frozen" | "shares_input" | "unquantized" | "lora" "(" expr ")"
/// ```
///
/// - In field types, a hyper-parameter's name stands for its value (`LayerNorm<d_model>`) and a
///   braced expression is evaluated by the macro (`Linear<d_model, { 4 * d_model }>`) — what
///   const generics cannot do. Array lengths may be expressions too (`[Block; n_layers]`).
/// - Modifiers are the derive's attributes (`tied`: shares another field's weights; `frozen`:
///   does not train; `shares_input`: reads the previous field's input; `unquantized`: left in its
///   dtype by weight quantization) and `lora(r)`, which
///   wraps a `Linear` in `Lora<_, r>`.
/// - `lora(rank = r, targets = [q_proj, v_proj])` puts adapters of rank `r` on every field of
///   those names (in the model or its blocks) and freezes every other layer, as peft does.
/// - `model!(pub Name = "config.json")` reads a Hugging Face config (path relative to the
///   calling file; an edit rebuilds) with the same family table as the command line: 45 decoder
///   families and 8 encoders (see [`config::families`]); `Name::CONFIG` is the
///   [`config::ModelConfig`] read, and `Name::COST` its cost.
/// - `model!(pub Name = hub "org/name@<commit>")` reads the config.json of a Hub model from the
///   local Hugging Face cache (`HF_HUB_CACHE`, `HF_HOME`, `~/.cache/huggingface/hub`, or the
///   one given with `in "path"`, relative to the calling file): the commit is required, so the
///   build reads the same file every time, and the macro never reaches the network — the
///   command line (`estimator estimate --model org/name`) or `huggingface-cli download` fills
///   the cache first.
///
/// Every struct is declared through `#[derive(Params)]`, so the summary shows its fields.
pub use estimator_macros::model;

/// Everything a model definition needs: the trait, the derive, the layers and the units.
pub mod prelude {
    pub use crate::{Params, model};
    pub use estimator_core::gpu::{self, GB24, GB40, GB48, GB80};
    pub use estimator_core::layers::{
        AttentionCore, AudioFrontEnd, BatchNorm1d, BatchNorm2d, Buffer, Conv1d, Conv2d,
        CrossAttention, Dropout, Embedding, Encoder, EncoderOutput, FeedForward, Frozen,
        GatedFeedForward, Gelu, HeadRmsNorm, LatentAttention, LayerNorm, Linear, Lora, Mamba2Mixer,
        MambaMixer, Moe, MultiHeadAttention, NewGelu, Parameter, PositionEmbedding, Relu, RmsNorm,
        Rotary, Silu, Softmax, StackedMoe, TransformerLayer,
    };
    pub use estimator_core::{
        ActivationModel, AttentionKernel, Bytes, Cost, DType, Device, Inference, Logits, Loss,
        Memory, Offload, Optimizer, OptimizerImpl, Phase, Precision, Recompute, Summary, Training,
        ZeroStage,
    };
    pub use estimator_core::{assert_fits, const_assert};
}

/// The README and the guide in `docs/`, compiled and run as doctests so that they cannot rot.
#[cfg(doctest)]
pub mod guide {
    #[doc = include_str!("../README.md")]
    pub struct Readme;
    #[doc = include_str!("../docs/concepts.md")]
    pub struct Concepts;
    #[doc = include_str!("../docs/cookbook.md")]
    pub struct Cookbook;
    #[doc = include_str!("../docs/reference.md")]
    pub struct Reference;
}
