//! `#[derive(Params)]`: parse → validate → expand.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::attr;
use crate::ctxt::Ctxt;

/// One layer field after validation.
struct LayerField<'a> {
    /// The summary's name: the field's identifier, or its index for a tuple struct.
    name: String,
    ty: &'a syn::Type,
    attrs: attr::FieldAttrs,
}

/// The whole expansion: the impl, or the errors and a fallback impl so that uses of the type
/// do not add errors of their own.
pub(crate) fn derive(input: &syn::DeriveInput) -> TokenStream {
    let mut cx = Ctxt::default();
    let container = attr::container(&mut cx, &input.attrs);
    let krate = container
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::estimator));
    let fields = fields(&mut cx, input);
    match cx.check() {
        Ok(()) => impl_params(input, &krate, &fields),
        Err(errors) => {
            let fallback = fallback(input, &krate);
            let errors = errors.to_compile_error();
            quote! { #errors #fallback }
        }
    }
}

/// The layer fields of a struct, with their attributes; errors for enums and unions.
fn fields<'a>(cx: &mut Ctxt, input: &'a syn::DeriveInput) -> Vec<LayerField<'a>> {
    let data = match &input.data {
        syn::Data::Struct(data) => data,
        syn::Data::Enum(e) => {
            cx.error_spanned_by(
                e.enum_token,
                "`Params` cannot be derived for an enum: a model is a struct whose fields are its layers; derive it for a struct per variant",
            );
            return Vec::new();
        }
        syn::Data::Union(u) => {
            cx.error_spanned_by(
                u.union_token,
                "`Params` cannot be derived for a union: a model is a struct whose fields are its layers; use a struct",
            );
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    let mut first_layer = true;
    for (i, field) in data.fields.iter().enumerate() {
        let attrs = attr::field(cx, &field.attrs);
        if attrs.skip.is_some() {
            continue;
        }
        if let (true, Some(span)) = (first_layer, attrs.shares_input) {
            cx.syn_error(syn::Error::new(
                span,
                "`shares_input` on the first layer field: there is no field before it whose input it could share; remove it",
            ));
        }
        first_layer = false;
        // a LoRA adapter under `frozen` would not train, under `tied` it would vanish
        if is_layer(&field.ty, "Lora") {
            for (flag, why) in [
                (
                    attrs.frozen,
                    "`frozen` on a `Lora` field freezes its adapter too; drop `frozen` (the LoRA base is frozen already)",
                ),
                (
                    attrs.tied,
                    "`tied` on a `Lora` field drops its adapter with the shared weights; drop `tied` or the LoRA",
                ),
            ] {
                if let Some(span) = flag {
                    cx.syn_error(syn::Error::new(span, why));
                }
            }
        }
        let name = field
            .ident
            .as_ref()
            .map_or_else(|| i.to_string(), |id| unraw(&id.to_string()));
        out.push(LayerField {
            name,
            ty: &field.ty,
            attrs,
        });
    }
    out
}

/// Whether the type is the layer `name` (`Lora<..>`, `Linear<..>`), by its last path segment.
pub(crate) fn is_layer(ty: &syn::Type, name: &str) -> bool {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == name),
        syn::Type::Group(g) => is_layer(&g.elem, name),
        syn::Type::Paren(p) => is_layer(&p.elem, name),
        _ => false,
    }
}

/// `r#type` → `type`.
fn unraw(name: &str) -> String {
    name.strip_prefix("r#").unwrap_or(name).to_owned()
}

/// Whether `tokens` mention the identifier `word` anywhere (a type parameter in a field type,
/// a block in `[Block; 4]`).
pub(crate) fn mentions(tokens: TokenStream, word: &str) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(i) => i == word,
        TokenTree::Group(g) => mentions(g.stream(), word),
        _ => false,
    })
}

/// The generics with `T: Params` added for each type parameter a layer field uses.
fn bounded(
    input: &syn::DeriveInput,
    krate: &syn::Path,
    fields: &[LayerField<'_>],
) -> syn::Generics {
    let mut generics = input.generics.clone();
    let used: Vec<syn::Ident> = input
        .generics
        .type_params()
        .filter(|p| {
            fields.iter().any(|f| {
                let ty = f.ty;
                mentions(quote!(#ty), &p.ident.to_string())
            })
        })
        .map(|p| p.ident.clone())
        .collect();
    if !used.is_empty() {
        let clause = generics.make_where_clause();
        for ident in used {
            clause
                .predicates
                .push(syn::parse_quote!(#ident: #krate::Params));
        }
    }
    generics
}

/// The `Layer` entry of one field, spanned at its type so that a type that is not a layer is
/// underlined there.
fn layer_entry(krate: &syn::Path, f: &LayerField<'_>) -> TokenStream {
    let ty = f.ty;
    let name = &f.name;
    let span = ty.span();
    let mut entry = quote_spanned!(span=> #krate::Layer::of::<#ty>(#name));
    // before freezing: a frozen layer's quantized weights are what is not left unquantized
    if f.attrs.unquantized.is_some() {
        entry = quote!(#entry.unquantized());
    }
    if f.attrs.tied.is_some() {
        entry = quote!(#entry.tied());
    }
    if f.attrs.frozen.is_some() {
        entry = quote!(#entry.frozen());
    }
    if f.attrs.shares_input.is_some() {
        entry = quote!(#entry.shares_input());
    }
    entry
}

fn impl_params(
    input: &syn::DeriveInput,
    krate: &syn::Path,
    fields: &[LayerField<'_>],
) -> TokenStream {
    let ident = &input.ident;
    let kind = unraw(&ident.to_string());
    let generics = bounded(input, krate, fields);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let entries = fields.iter().map(|f| layer_entry(krate, f));
    let members = match &input.data {
        syn::Data::Struct(data) => data.fields.members().collect(),
        _ => Vec::new(),
    };
    quote! {
        #[doc(hidden)]
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #krate::Params for #ident #ty_generics #where_clause {
                const COST: #krate::Cost = #krate::Cost::sum(<Self as #krate::Params>::LAYERS);
                const KIND: &'static ::core::primitive::str = #kind;
                #[allow(clippy::large_stack_arrays)]
                const LAYERS: &'static [#krate::Layer<'static>] = &[#(#entries),*];
                fn __read_fields(&self) {
                    #(let _ = &self.#members;)*
                }
            }
        };
    }
}

/// An impl emitted next to the errors, whose cost stops const evaluation with one message: the
/// uses of the type (its counts, an estimate, a model containing it) then add one error that
/// points back at the derive — measured in `tests/ui/derive/typo_with_uses.rs` — instead of a
/// wrong comparison each, and no budget check passes on a zero cost.
fn fallback(input: &syn::DeriveInput, krate: &syn::Path) -> TokenStream {
    let ident = &input.ident;
    let kind = unraw(&ident.to_string());
    let message = format!(
        "estimator: `#[derive(Params)]` on `{kind}` failed; fix the error reported at its definition"
    );
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let span = Span::call_site();
    quote_spanned! {span=>
        #[doc(hidden)]
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #krate::Params for #ident #ty_generics #where_clause {
                const COST: #krate::Cost = ::core::panic!(#message);
                const KIND: &'static ::core::primitive::str = #kind;
            }
        };
    }
}
