//! The const-fn engine of [`estimator`](https://docs.rs/estimator): units, dtypes, [`Cost`],
//! the [`Params`] trait, the layer vocabulary, and the memory model ([`Training`],
//! [`Inference`], [`Memory`]), all evaluated at compile time.
//!
//! Users depend on the `estimator` facade, which re-exports this crate and the derive; see its
//! documentation for the guide.

#![no_std]

#[cfg(feature = "config")]
extern crate alloc;

pub mod config;
mod cost;
mod cost_helpers;
mod dtype;
pub mod gpu;
mod inference;
pub mod layers;
mod llamacpp;
mod macros;
mod memory;
mod params;
mod policy;
mod serving;
mod sglang;
mod text;
mod training;
mod units;

pub use cost::{Activations, Cost, Overflow, Source};
pub use dtype::DType;
pub use inference::{Inference, Logits};
pub use llamacpp::{GgmlType, LlamaCpp, LlamaCppPlan};
pub use memory::{EstimateError, Memory, Message, Phase, Workload};
pub use params::{Layer, Params, Summary};
pub use policy::{
    ActivationModel, AttentionKernel, Device, Loss, Offload, Optimizer, OptimizerImpl, Precision,
    Recompute, ZeroStage,
};
pub use serving::{KvPlan, Vllm};
pub use sglang::{Sglang, SglangPlan};
pub use training::Training;
pub use units::{Bytes, Si};
