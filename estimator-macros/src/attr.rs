//! `#[params(...)]` attributes: parsed, validated, each error spanned at its token.

use proc_macro2::Span;
use syn::spanned::Spanned;

use crate::ctxt::Ctxt;

/// The field attributes, for the "expected one of" hint and "did you mean".
const FIELD_KEYS: &[&str] = &["tied", "frozen", "skip", "shares_input", "unquantized"];

/// The field attributes as the errors list them.
const EXPECTED: &str = "`tied`, `frozen`, `skip`, `shares_input` or `unquantized`";

/// What `#[params(...)]` says about a field.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    /// `tied`, with the span of the keyword.
    pub(crate) tied: Option<Span>,
    /// `frozen`.
    pub(crate) frozen: Option<Span>,
    /// `skip`.
    pub(crate) skip: Option<Span>,
    /// `shares_input`.
    pub(crate) shares_input: Option<Span>,
    /// `unquantized`.
    pub(crate) unquantized: Option<Span>,
}

/// What `#[params(...)]` says about the struct.
#[derive(Default)]
pub(crate) struct ContainerAttrs {
    /// `crate = path`.
    pub(crate) krate: Option<syn::Path>,
}

/// `unknown params attribute `x`; …` with a suggestion when one key is close.
fn unknown(key: &str, keys: &[&str], expected: &str) -> String {
    match estimator_core::config::closest(key, keys.iter().copied()) {
        Some(k) => format!("unknown params attribute `{key}`; did you mean `{k}`?"),
        None => format!("unknown params attribute `{key}`; expected {expected}"),
    }
}

/// The key of a nested meta as text (`crate` is a keyword and not an identifier).
fn key_of(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// Errors for a `#[params]` or `#[params = …]` that is not a list.
fn require_list<'a>(cx: &mut Ctxt, attr: &'a syn::Attribute) -> Option<&'a syn::MetaList> {
    match &attr.meta {
        syn::Meta::List(list) => Some(list),
        other => {
            cx.error_spanned_by(
                other,
                "expected a list of params attributes, e.g. `#[params(tied)]`",
            );
            None
        }
    }
}

/// Skips an unknown key's value (`= …` or `(…)`) up to the next comma, so that the keys after
/// it are still checked.
fn skip_value(input: syn::parse::ParseStream<'_>) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(syn::Token![,]) {
        let _: proc_macro2::TokenTree = input.parse()?;
    }
    Ok(())
}

/// Records `span` into `slot`, or an error when the flag is already set.
fn set_flag(cx: &mut Ctxt, slot: &mut Option<Span>, key: &str, span: Span) {
    if slot.is_some() {
        cx.syn_error(syn::Error::new(
            span,
            format!("duplicate params attribute `{key}`; remove one"),
        ));
    } else {
        *slot = Some(span);
    }
}

/// Parses the `#[params(...)]` attributes of a field.
pub(crate) fn field(cx: &mut Ctxt, attrs: &[syn::Attribute]) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("params")) {
        let Some(list) = require_list(cx, attr) else {
            continue;
        };
        let result = list.parse_nested_meta(|meta| {
            let key = key_of(&meta.path);
            let span = meta.path.span();
            if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
                if key == "crate" {
                    return Err(meta.error(
                        "`crate` is a container attribute; write `#[params(crate = path)]` on the struct",
                    ));
                }
                if FIELD_KEYS.contains(&key.as_str()) {
                    return Err(meta.error(format!(
                        "params attribute `{key}` takes no value; write `#[params({key})]`"
                    )));
                }
                // An unknown key with a value: report the key, then skip the value.
                cx.syn_error(syn::Error::new(span, unknown(&key, FIELD_KEYS, EXPECTED)));
                skip_value(meta.input)?;
                return Ok(());
            }
            match key.as_str() {
                "tied" => set_flag(cx, &mut out.tied, "tied", span),
                "frozen" => set_flag(cx, &mut out.frozen, "frozen", span),
                "skip" => set_flag(cx, &mut out.skip, "skip", span),
                "shares_input" => set_flag(cx, &mut out.shares_input, "shares_input", span),
                "unquantized" => set_flag(cx, &mut out.unquantized, "unquantized", span),
                "crate" => cx.syn_error(syn::Error::new(
                    span,
                    "`crate` is a container attribute; write `#[params(crate = path)]` on the struct",
                )),
                _ => cx.syn_error(syn::Error::new(
                    span,
                    unknown(&key, FIELD_KEYS, EXPECTED),
                )),
            }
            Ok(())
        });
        if let Err(e) = result {
            cx.syn_error(e);
        }
    }
    check_combinations(cx, &out);
    out
}

/// One rule per pair of field attributes that contradict each other.
fn check_combinations(cx: &mut Ctxt, a: &FieldAttrs) {
    if let Some(skip) = a.skip {
        for (other, key) in [
            (a.tied, "tied"),
            (a.frozen, "frozen"),
            (a.shares_input, "shares_input"),
            (a.unquantized, "unquantized"),
        ] {
            if other.is_some() {
                cx.syn_error(syn::Error::new(
                    skip,
                    format!("`skip` cannot be combined with `{key}`: a skipped field is not a layer; remove one of them"),
                ));
            }
        }
    }
    if let (Some(_), Some(frozen)) = (a.tied, a.frozen) {
        cx.syn_error(syn::Error::new(
            frozen,
            "`tied` and `frozen` cannot be combined: a tied field's weights belong to another field; freeze that field instead",
        ));
    }
}

/// Parses the `#[params(...)]` attributes of the struct itself.
pub(crate) fn container(cx: &mut Ctxt, attrs: &[syn::Attribute]) -> ContainerAttrs {
    let mut out = ContainerAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("params")) {
        let Some(list) = require_list(cx, attr) else {
            continue;
        };
        let result = list.parse_nested_meta(|meta| {
            let key = key_of(&meta.path);
            if key == "crate" {
                if !meta.input.peek(syn::Token![=]) {
                    return Err(
                        meta.error("`crate` needs a path: write `#[params(crate = my_estimator)]`")
                    );
                }
                let path: syn::Path = meta.value()?.parse()?;
                if out.krate.is_some() {
                    cx.error_spanned_by(
                        &meta.path,
                        "duplicate params attribute `crate`; remove one",
                    );
                } else {
                    out.krate = Some(path);
                }
                return Ok(());
            }
            let msg = if FIELD_KEYS.contains(&key.as_str()) {
                format!("`{key}` is a field attribute; put `#[params({key})]` on a field")
            } else {
                unknown(&key, &["crate"], "`crate = path` on a struct")
            };
            cx.error_spanned_by(&meta.path, msg);
            skip_value(meta.input)?;
            Ok(())
        });
        if let Err(e) = result {
            cx.syn_error(e);
        }
    }
    out
}
