//! `model!`: parse → evaluate the hyper-parameters → substitute them into the layer types →
//! expand every struct through `#[derive(Params)]`.

mod config;
mod parse;

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::{Expr, GenericArgument, Ident, PathArguments, Type};

use crate::ctxt::Ctxt;
pub(crate) use parse::ModelInput;
use parse::{Block, Field, Item, LoraOption, Modifier, Source};

/// The expansion of one `model!` invocation (errors as `compile_error!`).
pub(crate) fn expand(input: &ModelInput) -> TokenStream {
    let errors = match input.source {
        Source::Items(ref items) => {
            let mut cx = Ctxt::default();
            let tokens = expand_items(&mut cx, input, items);
            match cx.check() {
                Ok(()) => return tokens,
                Err(e) => e,
            }
        }
        Source::Config(ref path) => match config::expand(input, path) {
            Ok(tokens) => return tokens,
            Err(e) => e,
        },
        Source::Hub(ref id, ref cache) => match config::expand_hub(input, id, cache.as_ref()) {
            Ok(tokens) => return tokens,
            Err(e) => e,
        },
    };
    let errors = errors.to_compile_error();
    let fallback = fallback(input);
    quote! { #errors #fallback }
}

/// The model's type next to its errors, so that its uses do not add "cannot find type" errors:
/// its cost stops const evaluation with one message pointing back here, as the derive's
/// fallback does.
fn fallback(input: &ModelInput) -> TokenStream {
    let krate = crate_path(&input.attrs);
    let (vis, name) = (&input.vis, &input.name);
    let message = format!("estimator: `model!` for `{name}` failed; fix the error reported in it");
    quote! {
        #[doc(hidden)]
        #vis struct #name;
        impl #krate::Params for #name {
            const COST: #krate::Cost = ::core::panic!(#message);
            const KIND: &'static ::core::primitive::str = ::core::stringify!(#name);
        }
    }
}

/// Hyper-parameter values by name.
type Env = HashMap<String, u64>;

fn expand_items(cx: &mut Ctxt, input: &ModelInput, items: &[Item]) -> TokenStream {
    let Collected {
        env,
        blocks,
        fields,
        lora,
    } = collect(cx, items);
    if fields.is_empty() {
        cx.error_spanned_by(
            &input.name,
            format!("model `{}` has no layers; add fields such as `wte: Embedding<vocab_size, d_model>`", input.name),
        );
    }
    let krate = crate_path(&input.attrs);
    let block_names: Vec<String> = blocks.iter().map(|b| b.name.to_string()).collect();
    // duplicate names
    let mut seen: HashMap<String, Span> = HashMap::new();
    for b in &blocks {
        if seen.insert(b.name.to_string(), b.name.span()).is_some() || b.name == input.name {
            cx.error_spanned_by(
                &b.name,
                format!(
                    "`{}` is declared twice; give the block another name",
                    b.name
                ),
            );
        }
    }
    let rank = lora.and_then(|l| match eval(&l.rank, &env) {
        Ok(0) => {
            cx.error_spanned_by(&l.rank, "a LoRA rank must be at least 1");
            None
        }
        Ok(r) => Some(r),
        Err(e) => {
            cx.syn_error(e);
            None
        }
    });
    if let Some(l) = lora {
        check_lora_targets(cx, l, &fields, &blocks);
    }
    check_recursion(cx, input, &blocks, &fields);
    let all = fields
        .iter()
        .copied()
        .chain(blocks.iter().flat_map(|b| b.fields.iter()));
    let has_embedding = all.clone().any(|f| mentions(&f.ty, "Embedding"));
    let ctx = StructCtx {
        env: &env,
        krate: &krate,
        block_names: &block_names,
        lora: lora.zip(rank),
        has_embedding,
    };
    let vis = &input.vis;
    let mut out = TokenStream::new();
    for b in &blocks {
        let doc = format!("A block of `{}`, declared with `model!`.", input.name);
        let attrs = if b.attrs.iter().any(|a| a.path().is_ident("doc")) {
            quote!()
        } else {
            quote!(#[doc = #doc])
        };
        let own = &b.attrs;
        let block_fields: Vec<&Field> = b.fields.iter().collect();
        let body = struct_fields(cx, &ctx, &block_fields);
        let name = &b.name;
        out.extend(quote! {
            #attrs
            #(#own)*
            #[derive(#krate::Params)]
            #vis struct #name { #body }
        });
    }
    let attrs = &input.attrs;
    let doc = if attrs.iter().any(|a| a.path().is_ident("doc")) {
        quote!()
    } else {
        let text = format!("The `{}` model, declared with `model!`.", input.name);
        quote!(#[doc = #text])
    };
    let name = &input.name;
    let body = struct_fields(cx, &ctx, &fields);
    out.extend(quote! {
        #doc
        #(#attrs)*
        #[derive(#krate::Params)]
        #vis struct #name { #body }
    });
    out
}

/// The entries of a model body, sorted by kind, with the hyper-parameters evaluated.
struct Collected<'a> {
    env: Env,
    blocks: Vec<&'a Block>,
    fields: Vec<&'a Field>,
    lora: Option<&'a LoraOption>,
}

fn collect<'a>(cx: &mut Ctxt, items: &'a [Item]) -> Collected<'a> {
    let mut out = Collected {
        env: Env::new(),
        blocks: Vec::new(),
        fields: Vec::new(),
        lora: None,
    };
    for item in items {
        match item {
            Item::Param(p) => {
                let name = p.name.to_string();
                if out.env.contains_key(&name) {
                    cx.error_spanned_by(
                        &p.name,
                        format!("hyper-parameter `{name}` is defined twice; keep one"),
                    );
                }
                match eval(&p.value, &out.env) {
                    Ok(0) => cx.error_spanned_by(
                        &p.value,
                        format!("hyper-parameter `{name}` is 0; sizes must be at least 1 (where 0 means none, as for a window, write it in the type)"),
                    ),
                    Ok(v) => {
                        out.env.insert(name, v);
                    }
                    Err(e) => cx.syn_error(e),
                }
            }
            Item::Block(b) => out.blocks.push(b),
            Item::Field(f) => out.fields.push(f),
            Item::Lora(l) => {
                if out.lora.is_some() {
                    cx.syn_error(syn::Error::new(
                        l.span,
                        "`lora(…)` is given twice; keep one",
                    ));
                }
                out.lora = Some(l);
            }
        }
    }
    out
}

/// Every LoRA target must name a `Linear` field of the model or its blocks.
fn check_lora_targets(cx: &mut Ctxt, l: &LoraOption, fields: &[&Field], blocks: &[&Block]) {
    for target in &l.targets {
        let found: Vec<&Field> = fields
            .iter()
            .copied()
            .chain(blocks.iter().flat_map(|b| b.fields.iter()))
            .filter(|f| f.name == *target)
            .collect();
        if found.is_empty() {
            cx.error_spanned_by(
                target,
                format!("lora target `{target}` is not a field of the model or its blocks"),
            );
        }
        for f in found {
            if !is_linear(&f.ty) {
                cx.error_spanned_by(
                    target,
                    format!(
                        "lora target `{target}` must be a `Linear` field; it is `{}`",
                        shown(&f.ty)
                    ),
                );
            }
        }
    }
}

/// What every struct of one invocation shares.
struct StructCtx<'a> {
    env: &'a Env,
    krate: &'a TokenStream,
    block_names: &'a [String],
    lora: Option<(&'a LoraOption, u64)>,
    /// Whether any layer of the invocation is an embedding, which a `tied` layer shares.
    has_embedding: bool,
}

/// A block that contains itself, directly or through other blocks, has no finite size: the
/// error names the cycle at the block that closes it, before rustc reports the expansion.
fn check_recursion(cx: &mut Ctxt, input: &ModelInput, blocks: &[&Block], fields: &[&Field]) {
    let uses = |fs: &mut dyn Iterator<Item = &Field>| -> Vec<String> {
        let mut names: Vec<String> = fs
            .flat_map(|f| {
                blocks
                    .iter()
                    .map(|b| b.name.to_string())
                    .chain(std::iter::once(input.name.to_string()))
                    .filter(|n| mentions(&f.ty, n))
                    .collect::<Vec<_>>()
            })
            .collect();
        names.dedup();
        names
    };
    let graph: HashMap<String, Vec<String>> = blocks
        .iter()
        .map(|b| (b.name.to_string(), uses(&mut b.fields.iter())))
        .chain(std::iter::once((
            input.name.to_string(),
            uses(&mut fields.iter().copied()),
        )))
        .collect();
    for b in blocks
        .iter()
        .map(|b| &b.name)
        .chain(std::iter::once(&input.name))
    {
        // a path from `b` back to itself, breadth first over the blocks it contains
        let start = b.to_string();
        let mut path: HashMap<String, String> = HashMap::new();
        let mut queue = std::collections::VecDeque::from([start.clone()]);
        let mut cycle = None;
        while let Some(n) = queue.pop_front() {
            for next in graph.get(&n).into_iter().flatten() {
                if *next == start {
                    cycle = Some(n.clone());
                    break;
                }
                if !path.contains_key(next) {
                    path.insert(next.clone(), n.clone());
                    queue.push_back(next.clone());
                }
            }
            if cycle.is_some() {
                break;
            }
        }
        if let Some(last) = cycle {
            let mut chain = vec![start.clone()];
            if last != start {
                chain.push(last.clone());
            }
            let mut at = last;
            while let Some(prev) = path.get(&at).filter(|p| **p != start) {
                chain.insert(1, prev.clone());
                at = prev.clone();
            }
            chain.push(start.clone());
            cx.error_spanned_by(
                b,
                format!(
                    "`{start}` contains itself ({}): a layer cannot hold itself; use an array such as `[Block; N]` for repeated layers",
                    chain.join(" → ")
                ),
            );
            return;
        }
    }
}

/// Whether the type names `word` anywhere (`[Block; 4]`, `Frozen<Block>`).
fn mentions(ty: &Type, word: &str) -> bool {
    crate::expand::mentions(ty.to_token_stream(), word)
}

/// The fields of one struct: types with hyper-parameters substituted, modifiers as
/// `#[params(..)]` attributes, LoRA applied.
fn struct_fields(cx: &mut Ctxt, ctx: &StructCtx<'_>, fields: &[&Field]) -> TokenStream {
    let mut out = TokenStream::new();
    let mut names: HashMap<String, Span> = HashMap::new();
    for (i, f) in fields.iter().enumerate() {
        if names.insert(f.name.to_string(), f.name.span()).is_some() {
            cx.error_spanned_by(
                &f.name,
                format!("layer `{}` is declared twice; rename one", f.name),
            );
        }
        let mut ty = f.ty.clone();
        if let Err(e) = substitute(&mut ty, ctx.env) {
            cx.syn_error(e);
            continue;
        }
        let mut flags: Vec<Ident> = Vec::new();
        let mut lora_rank: Option<u64> = None;
        for m in &f.modifiers {
            let (word, span) = match m {
                Modifier::Tied(s) => ("tied", *s),
                Modifier::Frozen(s) => ("frozen", *s),
                Modifier::SharesInput(s) => ("shares_input", *s),
                Modifier::Unquantized(s) => ("unquantized", *s),
                Modifier::Lora(s, rank) => {
                    match eval(rank, ctx.env) {
                        Ok(0) => cx.error_spanned_by(rank, "a LoRA rank must be at least 1"),
                        Ok(r) => lora_rank = Some(r),
                        Err(e) => cx.syn_error(e),
                    }
                    if !is_linear(&f.ty) {
                        cx.syn_error(syn::Error::new(
                            *s,
                            format!(
                                "`lora(…)` wraps a `Linear`; `{}` is `{}`",
                                f.name,
                                shown(&f.ty)
                            ),
                        ));
                    }
                    continue;
                }
            };
            if flags.iter().any(|x| x == word) {
                cx.syn_error(syn::Error::new(
                    span,
                    format!("duplicate modifier `{word}`; remove one"),
                ));
            }
            if word == "shares_input" && i == 0 {
                cx.syn_error(syn::Error::new(span, "`shares_input` on the first layer: there is no layer before it whose input it could share; remove it"));
            }
            flags.push(Ident::new(word, span));
        }
        if let Some((opt, rank)) = ctx.lora {
            if opt.targets.contains(&f.name) {
                lora_rank = lora_rank.or(Some(rank));
            } else if !mentions_block(&f.ty, ctx.block_names)
                && !flags.iter().any(|x| x == "tied" || x == "frozen")
            {
                // peft: everything but the adapters is frozen
                flags.push(Ident::new("frozen", f.name.span()));
            }
        }
        check_modifiers(cx, ctx, f, &flags, lora_rank.is_some());
        if let Some(r) = lora_rank {
            let krate = ctx.krate;
            let r = syn::LitInt::new(&r.to_string(), f.name.span());
            ty = syn::parse_quote!(#krate::layers::Lora<#ty, #r>);
        }
        let attrs = &f.attrs;
        let params = if flags.is_empty() {
            quote!()
        } else {
            quote!(#[params(#(#flags),*)])
        };
        let name = &f.name;
        out.extend(quote! { #(#attrs)* #params #name: #ty, });
    }
    out
}

/// Modifiers that contradict each other or the model: LoRA on a frozen layer (the adapter would
/// freeze too) or a tied one (its weights are another layer's), `tied` with no embedding to
/// share.
fn check_modifiers(cx: &mut Ctxt, ctx: &StructCtx<'_>, f: &Field, flags: &[Ident], lora: bool) {
    let flag = |word: &str| flags.iter().find(|x| *x == word);
    if lora {
        if let Some(frozen) = flag("frozen") {
            cx.error_spanned_by(
                frozen,
                format!("`{}` has LoRA and `frozen`: the adapter would be frozen too; drop `frozen` (LoRA freezes the base itself)", f.name),
            );
        }
        if let Some(tied) = flag("tied") {
            cx.error_spanned_by(
                tied,
                format!("`{}` has LoRA and `tied`: a tied layer's weights are another layer's, and the adapter would be dropped; drop one", f.name),
            );
        }
    }
    if let Some(tied) = flag("tied")
        && !ctx.has_embedding
    {
        cx.error_spanned_by(
            tied,
            format!("`{}` is `tied`, but the model has no `Embedding` whose weights it could share; drop `tied` to count its weights", f.name),
        );
    }
}

/// `#[params(crate = path)]` among the model's attributes, or `::estimator`.
fn crate_path(attrs: &[syn::Attribute]) -> TokenStream {
    let mut path = quote!(::estimator);
    for attr in attrs.iter().filter(|a| a.path().is_ident("params")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let p: syn::Path = meta.value()?.parse()?;
                path = p.to_token_stream();
            } else if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
                let _: TokenStream = meta.input.parse()?;
            }
            Ok(())
        });
    }
    path
}

/// A type as a person writes it: `LayerNorm<64>`, not `LayerNorm < 64 >`.
fn shown(ty: &Type) -> String {
    ty.to_token_stream()
        .to_string()
        .replace(" < ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace("< ", "<")
}

/// Whether `ty` is `Linear<..>` (by its last path segment).
fn is_linear(ty: &Type) -> bool {
    crate::expand::is_layer(ty, "Linear")
}

/// Whether `ty` mentions one of the model's blocks (a field holding blocks is not frozen as a
/// whole: its own fields decide).
fn mentions_block(ty: &Type, blocks: &[String]) -> bool {
    blocks.iter().any(|b| mentions(ty, b))
}

/// Replaces hyper-parameter names and expressions of them inside `ty` with their values.
fn substitute(ty: &mut Type, env: &Env) -> syn::Result<()> {
    match ty {
        Type::Path(p) => {
            if let Some(q) = &mut p.qself {
                substitute(&mut q.ty, env)?;
            }
            for seg in &mut p.path.segments {
                if let PathArguments::AngleBracketed(args) = &mut seg.arguments {
                    for arg in &mut args.args {
                        substitute_arg(arg, env)?;
                    }
                }
            }
            Ok(())
        }
        Type::Array(a) => {
            substitute(&mut a.elem, env)?;
            if mentions_param(&a.len, env) || braced_inner(&a.len).is_some() {
                let v = eval(&a.len, env)?;
                a.len = literal(v, a.len.span());
            }
            Ok(())
        }
        Type::Tuple(t) => t.elems.iter_mut().try_for_each(|e| substitute(e, env)),
        Type::Paren(p) => substitute(&mut p.elem, env),
        Type::Group(g) => substitute(&mut g.elem, env),
        _ => Ok(()),
    }
}

fn substitute_arg(arg: &mut GenericArgument, env: &Env) -> syn::Result<()> {
    match arg {
        GenericArgument::Type(Type::Path(p))
            if p.qself.is_none() && p.path.get_ident().is_some() =>
        {
            let ident = p
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            if let Some(v) = env.get(&ident) {
                *arg = GenericArgument::Const(literal(*v, p.span()));
            }
            Ok(())
        }
        GenericArgument::Type(t) => substitute(t, env),
        GenericArgument::Const(e) => {
            if mentions_param(e, env) || braced_inner(e).is_some() {
                let v = eval(e, env)?;
                *e = literal(v, e.span());
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn literal(v: u64, span: Span) -> Expr {
    Expr::Lit(syn::ExprLit {
        attrs: Vec::new(),
        lit: syn::Lit::Int(syn::LitInt::new(&v.to_string(), span)),
    })
}

/// The tokens inside `{ … }` when the expression is exactly one braced group.
fn braced_inner(e: &Expr) -> Option<TokenStream> {
    let mut tokens = e.to_token_stream().into_iter();
    match (tokens.next(), tokens.next()) {
        (Some(TokenTree::Group(g)), None) if g.delimiter() == proc_macro2::Delimiter::Brace => {
            Some(g.stream())
        }
        _ => None,
    }
}

/// Whether the expression names a hyper-parameter.
fn mentions_param(e: &Expr, env: &Env) -> bool {
    fn walk(tokens: TokenStream, env: &Env) -> bool {
        tokens.into_iter().any(|tt| match tt {
            TokenTree::Ident(i) => env.contains_key(&i.to_string()),
            TokenTree::Group(g) => walk(g.stream(), env),
            _ => false,
        })
    }
    walk(e.to_token_stream(), env)
}

/// Evaluates an integer expression of literals and hyper-parameters: `+ - * / %` and
/// parentheses, checked (an overflow or a division by zero is an error at the expression).
fn eval(e: &Expr, env: &Env) -> syn::Result<u64> {
    let err = |msg: String| syn::Error::new_spanned(e, msg);
    match e {
        Expr::Lit(l) => match &l.lit {
            syn::Lit::Int(i) if !matches!(i.suffix(), "" | "u64") => Err(syn::Error::new_spanned(
                i,
                format!(
                    "`{i}`: sizes are u64; write the number without a type suffix (`{}`)",
                    i.base10_digits()
                ),
            )),
            syn::Lit::Int(i) => i.base10_parse::<u64>(),
            other => Err(syn::Error::new_spanned(
                other,
                "expected a whole number (sizes are integers), e.g. `4096`",
            )),
        },
        Expr::Path(p) => {
            let Some(ident) = p.path.get_ident() else {
                return Err(err("expected a hyper-parameter name or a number".to_owned()));
            };
            env.get(&ident.to_string()).copied().ok_or_else(|| {
                syn::Error::new_spanned(
                    ident,
                    format!(
                        "unknown hyper-parameter `{ident}`; define it before use (`{ident} = …`)"
                    ),
                )
            })
        }
        Expr::Paren(p) => eval(&p.expr, env),
        Expr::Group(g) => eval(&g.expr, env),
        // a braced const argument `{ 4 * d_model }`: a block with syn's "full" feature, verbatim
        // tokens without it (another crate in the build may turn it on)
        Expr::Block(_) | Expr::Verbatim(_) => match braced_inner(e) {
            Some(inner) => {
                let parsed: Expr = syn::parse2(inner)?;
                eval(&parsed, env)
            }
            None => Err(err(
                "expected an integer expression in braces, e.g. `{ 4 * d_model }`".to_owned(),
            )),
        },
        Expr::Binary(b) => {
            let (l, r) = (eval(&b.left, env)?, eval(&b.right, env)?);
            let shown = e.to_token_stream().to_string();
            let v = match b.op {
                syn::BinOp::Add(_) => l.checked_add(r),
                syn::BinOp::Sub(_) => l.checked_sub(r),
                syn::BinOp::Mul(_) => l.checked_mul(r),
                syn::BinOp::Div(_) => l.checked_div(r),
                syn::BinOp::Rem(_) => l.checked_rem(r),
                _ => {
                    return Err(err(format!(
                        "unsupported operator in `{shown}`; use + - * / % and parentheses"
                    )));
                }
            };
            v.ok_or_else(|| {
                err(match b.op {
                    syn::BinOp::Div(_) | syn::BinOp::Rem(_) => {
                        format!("division by zero in `{shown}`")
                    }
                    syn::BinOp::Sub(_) => format!("`{shown}` is negative; sizes are whole numbers"),
                    _ => format!("`{shown}` overflows u64"),
                })
            })
        }
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => {
            Err(err("negative sizes are not allowed".to_owned()))
        }
        _ => Err(err(
            "expected an integer expression of numbers and hyper-parameters (+ - * / %)".to_owned(),
        )),
    }
}
