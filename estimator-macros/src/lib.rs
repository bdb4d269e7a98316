//! Procedural macros of [`estimator`](https://docs.rs/estimator): `#[derive(Params)]`.
//!
//! Use them through the `estimator` facade, which documents them; generated code names
//! `::estimator::…` (overridable with `#[params(crate = path)]`).

mod attr;
mod ctxt;
mod expand;

use proc_macro::TokenStream;

/// Implements `estimator::Params` for a struct whose fields are layers; see the `estimator`
/// crate's documentation of the re-export.
#[proc_macro_derive(Params, attributes(params))]
pub fn derive_params(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input).into()
}
