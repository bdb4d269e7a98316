//! The layer vocabulary: parameter *and* buffer counts equal to PyTorch's.
//!
//! Every layer is a zero-sized type whose dimensions are const generics and whose [`Cost`] is
//! an associated const. Each layer's doc lists the tensors it accounts for. Composite layers
//! whose widths are computed (`4·D`) cannot name `Linear<D, {4 * D}>` on stable Rust, so each
//! layer also has a value-level `const fn` (`linear`, `attention`, …) returning its `Cost`.
//!
//! [`Cost`]: crate::Cost

mod activation;
mod adapters;
mod attention;
mod conv;
mod ffn;
mod linear;
mod moe;
mod norm;
mod seq2seq;
mod ssm;
mod transformer;

pub use activation::{
    Dropout, Gelu, NewGelu, Relu, Silu, Softmax, dropout, keeps_input, keeps_output, new_gelu,
};
pub use adapters::{Frozen, Lora, lora};
pub use attention::{
    AttentionCore, LatentAttention, MultiHeadAttention, Rotary, attention, attention_core,
    attention_core_with, latent_attention, latent_attention_core,
};
pub use conv::{Conv1d, Conv2d, conv};
pub(crate) use ffn::gated;
pub use ffn::{FeedForward, GatedFeedForward, feed_forward, gated_feed_forward};
pub use linear::{Buffer, Embedding, Linear, Parameter, PositionEmbedding, embedding, linear};
pub use moe::{Moe, StackedMoe, fused_expert, moe, stacked_moe};
pub(crate) use norm::per_row;
pub use norm::{
    BatchNorm1d, BatchNorm2d, HeadRmsNorm, LayerNorm, RmsNorm, batch_norm, head_rms_norm,
    layer_norm, non_parametric_norm, rms_norm,
};
pub use seq2seq::{
    AudioFrontEnd, CrossAttention, Encoder, EncoderOutput, audio_front_end, cross_attention_with,
    cross_scores, encoder_output,
};
pub use ssm::{Mamba2Mixer, MambaMixer, ScanPath, mamba_mixer, mamba2_mixer};
pub use transformer::{TransformerLayer, transformer_layer};
