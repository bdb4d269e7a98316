//! Procedural macros of [`estimator`](https://docs.rs/estimator): `#[derive(Params)]` and
//! `model!`.
//!
//! Use them through the `estimator` facade, which documents them; generated code names
//! `::estimator::…` (overridable with `#[params(crate = path)]`).

mod attr;
mod ctxt;
mod expand;
mod model;

use proc_macro::TokenStream;

/// Implements `estimator::Params` for a struct whose fields are layers; see the `estimator`
/// crate's documentation of the re-export.
#[proc_macro_derive(Params, attributes(params))]
pub fn derive_params(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input).into()
}

/// Declares a model type from hyper-parameters and a layer list, or from a Hugging Face
/// `config.json`; see the `estimator` crate's documentation of the re-export for the grammar.
#[proc_macro]
pub fn model(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as model::ModelInput);
    model::expand(&input).into()
}
