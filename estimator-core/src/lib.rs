//! The const-fn engine of [`estimator`](https://docs.rs/estimator): units, dtypes, [`Cost`],
//! the [`Params`] trait and the layer vocabulary, all evaluated at compile time.
//!
//! Users depend on the `estimator` facade, which re-exports this crate and the derive; see its
//! documentation for the guide.

#![no_std]

mod cost;
mod cost_helpers;
mod dtype;
pub mod layers;
mod params;
mod text;
mod units;

pub use cost::{Activations, Cost, Overflow};
pub use dtype::DType;
pub use params::{Layer, Params, Summary};
pub use units::{Bytes, Si};
