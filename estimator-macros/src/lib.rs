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
    if let Err(e) = shallow(input.clone().into()) {
        return e.to_compile_error().into();
    }
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input).into()
}

/// Declares a model type from hyper-parameters and a layer list, or from a Hugging Face
/// `config.json`; see the `estimator` crate's documentation of the re-export for the grammar.
#[proc_macro]
pub fn model(input: TokenStream) -> TokenStream {
    if let Err(e) = shallow(input.clone().into()) {
        return e.to_compile_error().into();
    }
    let input = syn::parse_macro_input!(input as model::ModelInput);
    model::expand(&input).into()
}

/// The deepest nesting of brackets accepted: far more than any model needs, few enough that the
/// recursive parsing (syn's, and the evaluation of hyper-parameters) cannot exhaust the
/// compiler's stack.
const MAX_DEPTH: usize = 64;

/// Refuses input nested deeper than [`MAX_DEPTH`], at the first group past it, walking the
/// tokens with an explicit stack.
fn shallow(input: proc_macro2::TokenStream) -> syn::Result<()> {
    let mut stack = vec![input.into_iter()];
    while let Some(top) = stack.last_mut() {
        match top.next() {
            Some(proc_macro2::TokenTree::Group(g)) => {
                if stack.len() > MAX_DEPTH {
                    return Err(syn::Error::new(
                        g.span_open(),
                        format!(
                            "brackets nested more than {MAX_DEPTH} deep; write the expression flatter"
                        ),
                    ));
                }
                stack.push(g.stream().into_iter());
            }
            Some(_) => {}
            None => {
                stack.pop();
            }
        }
    }
    Ok(())
}
