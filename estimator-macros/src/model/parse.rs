//! The `model!` grammar, one struct per production (see the crate docs of `estimator` for the
//! grammar in full).
//!
//! ```text
//! input     := attribute* visibility IDENT ( "=" STRING | "{" item ("," item)* ","? "}" )
//! item      := attribute* ( param | block | lora | field )
//! param     := IDENT "=" expr
//! block     := "block" IDENT "{" field ("," field)* ","? "}"
//! lora      := "lora" "(" "rank" "=" expr "," "targets" "=" "[" IDENT ("," IDENT)* "]" ")"
//! field     := attribute* modifier* IDENT ":" type
//! modifier  := "tied" | "frozen" | "shares_input" | "unquantized" | "lora" "(" expr ")"
//! ```

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{
    Attribute, Expr, Ident, LitStr, Token, Type, Visibility, braced, bracketed, parenthesized,
};

/// The whole invocation.
pub(crate) struct ModelInput {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) name: Ident,
    pub(crate) source: Source,
}

/// Where the architecture comes from.
pub(crate) enum Source {
    /// Written out in the invocation.
    Items(Vec<Item>),
    /// A Hugging Face `config.json`, relative to the calling file.
    Config(LitStr),
    /// `hub "org/name@commit"` (`in "cache"`): the config.json of a Hub model at a pinned
    /// commit, read from the local Hugging Face cache (the one given, relative to the calling
    /// file, or the environment's).
    Hub(LitStr, Option<LitStr>),
}

/// One entry of the body.
pub(crate) enum Item {
    /// `name = expr`: a hyper-parameter.
    Param(Param),
    /// `block Name { fields }`: a nested layer type.
    Block(Block),
    /// `lora(rank = r, targets = [..])`: LoRA adapters on the named projections, everything
    /// else frozen.
    Lora(LoraOption),
    /// `name: Type`: a layer.
    Field(Field),
}

/// `name = expr`.
pub(crate) struct Param {
    pub(crate) name: Ident,
    pub(crate) value: Expr,
}

/// `block Name { fields }`.
pub(crate) struct Block {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) name: Ident,
    pub(crate) fields: Vec<Field>,
}

/// `lora(rank = r, targets = [a, b])`.
pub(crate) struct LoraOption {
    pub(crate) span: Span,
    pub(crate) rank: Expr,
    pub(crate) targets: Vec<Ident>,
}

/// `modifiers name: Type`.
pub(crate) struct Field {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) modifiers: Vec<Modifier>,
    pub(crate) name: Ident,
    pub(crate) ty: Type,
}

/// A field modifier.
pub(crate) enum Modifier {
    /// `tied`.
    Tied(Span),
    /// `frozen`.
    Frozen(Span),
    /// `shares_input`.
    SharesInput(Span),
    /// `unquantized`.
    Unquantized(Span),
    /// `lora(rank)`.
    Lora(Span, Expr),
}

/// The modifier keywords, for the error that lists them.
const MODIFIERS: &str = "`tied`, `frozen`, `shares_input`, `unquantized` or `lora(rank)`";

impl Parse for ModelInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        if input.is_empty() {
            return Err(input.error(
                "expected a model, e.g. `model! { pub Gpt2 { d_model = 768, wte: Embedding<50257, d_model>, … } }`",
            ));
        }
        let name: Ident = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected the model's name, e.g. `pub Gpt2 { … }`")
        })?;
        let source = if input.peek(Token![=]) && input.peek2(Ident) {
            input.parse::<Token![=]>()?;
            let word: Ident = input.parse()?;
            if word != "hub" {
                return Err(syn::Error::new(
                    word.span(),
                    "expected the path of a config.json in quotes, e.g. `= \"configs/llama-2-7b.json\"`, or a Hub model pinned to a commit, `= hub \"org/name@<commit>\"`",
                ));
            }
            let id: LitStr = input.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected the Hub id in quotes, pinned to a commit: `hub \"org/name@<40-hex commit>\"`",
                )
            })?;
            let cache = if input.peek(Token![in]) {
                input.parse::<Token![in]>()?;
                Some(input.parse::<LitStr>().map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "expected the Hugging Face cache's path in quotes, e.g. `in \"hf-cache\"`",
                    )
                })?)
            } else {
                None
            };
            Source::Hub(id, cache)
        } else if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            let path: LitStr = input.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected the path of a config.json in quotes, e.g. `= \"configs/llama-2-7b.json\"`",
                )
            })?;
            Source::Config(path)
        } else if input.peek(syn::token::Brace) {
            let content;
            braced!(content in input);
            let mut items = Vec::new();
            while !content.is_empty() {
                items.push(content.parse()?);
                if content.is_empty() {
                    break;
                }
                if let Some(Item::Block(_)) = items.last() {
                    // a block's closing brace ends it; a comma is optional
                    let _ = content.parse::<Option<Token![,]>>()?;
                } else {
                    content.parse::<Token![,]>().map_err(|e| {
                        syn::Error::new(e.span(), "expected `,` between the model's entries")
                    })?;
                }
            }
            Source::Items(items)
        } else {
            return Err(
                input.error("expected `{ … }` with the model's entries, or `= \"config.json\"`")
            );
        };
        if !input.is_empty() {
            let _ = input.parse::<Option<Token![;]>>()?;
        }
        if !input.is_empty() {
            return Err(
                input.error("unexpected tokens after the model; declare one model per `model!`")
            );
        }
        Ok(ModelInput {
            attrs,
            vis,
            name,
            source,
        })
    }
}

impl Parse for Item {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        if input.peek(Ident) && input.peek2(Token![=]) {
            let name: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let value: Expr = input.parse()?;
            return Ok(Item::Param(Param { name, value }));
        }
        if input.peek(Ident) && input.peek2(Ident) {
            let fork = input.fork();
            let word: Ident = fork.parse()?;
            if word == "block" {
                input.parse::<Ident>()?;
                let name: Ident = input.parse()?;
                let content;
                braced!(content in input);
                let fields = content
                    .parse_terminated(Field::parse, Token![,])?
                    .into_iter()
                    .collect();
                return Ok(Item::Block(Block {
                    attrs,
                    name,
                    fields,
                }));
            }
        }
        if input.peek(Ident) && input.peek2(syn::token::Paren) {
            let fork = input.fork();
            let word: Ident = fork.parse()?;
            let _group: proc_macro2::Group = fork.parse()?;
            if word == "lora" && (fork.is_empty() || fork.peek(Token![,])) {
                return Ok(Item::Lora(input.parse()?));
            }
        }
        let mut field: Field = input.parse()?;
        field.attrs.splice(0..0, attrs);
        Ok(Item::Field(field))
    }
}

impl Parse for LoraOption {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let kw: Ident = input.parse()?;
        let content;
        parenthesized!(content in input);
        let mut rank = None;
        let mut targets = None;
        while !content.is_empty() {
            let key: Ident = content.parse()?;
            content.parse::<Token![=]>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected `=`: write `lora(rank = 16, targets = [q_proj, v_proj])`",
                )
            })?;
            if key == "rank" {
                rank = Some(content.parse::<Expr>()?);
            } else if key == "targets" {
                let list;
                bracketed!(list in content);
                let names = list.parse_terminated(Ident::parse, Token![,])?;
                targets = Some(names.into_iter().collect::<Vec<_>>());
            } else {
                return Err(syn::Error::new(
                    key.span(),
                    format!("unknown lora option `{key}`; expected `rank` or `targets`"),
                ));
            }
            if !content.is_empty() {
                content.parse::<Token![,]>()?;
            }
        }
        let Some(rank) = rank else {
            return Err(syn::Error::new(
                kw.span(),
                "`lora` needs a rank: `lora(rank = 16, targets = [q_proj, v_proj])`",
            ));
        };
        let Some(targets) = targets else {
            return Err(syn::Error::new(
                kw.span(),
                "`lora` needs targets: `lora(rank = 16, targets = [q_proj, v_proj])`",
            ));
        };
        if targets.is_empty() {
            return Err(syn::Error::new(
                kw.span(),
                "`lora` targets are empty; name the projections to adapt, e.g. `targets = [q_proj, v_proj]`",
            ));
        }
        Ok(LoraOption {
            span: kw.span(),
            rank,
            targets,
        })
    }
}

impl Parse for Field {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let mut modifiers = Vec::new();
        // modifiers come before the name: a word followed by another word or `lora(..)`
        loop {
            let is_modifier = input.peek(Ident)
                && (input.peek2(Ident)
                    || (input.peek2(syn::token::Paren) && {
                        let fork = input.fork();
                        let _: Ident = fork.parse()?;
                        let _: proc_macro2::Group = fork.parse()?;
                        fork.peek(Ident)
                    }));
            if !is_modifier {
                break;
            }
            let word: Ident = input.parse()?;
            let span = word.span();
            modifiers.push(match word.to_string().as_str() {
                "tied" => Modifier::Tied(span),
                "frozen" => Modifier::Frozen(span),
                "shares_input" => Modifier::SharesInput(span),
                "unquantized" => Modifier::Unquantized(span),
                "lora" => {
                    let content;
                    parenthesized!(content in input);
                    Modifier::Lora(span, content.parse()?)
                }
                other => {
                    return Err(syn::Error::new(
                        span,
                        format!(
                            "unknown modifier `{other}`; expected {MODIFIERS} before the field name"
                        ),
                    ));
                }
            });
        }
        let name: Ident = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected a layer `name: Type`, a hyper-parameter `name = value`, `block Name { … }` or `lora(…)`")
        })?;
        if input.peek(Token![=]) {
            return Err(syn::Error::new(
                name.span(),
                format!(
                    "hyper-parameters cannot be declared here; move `{name} = …` to the model's body"
                ),
            ));
        }
        input.parse::<Token![:]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected `:` and the layer type after `{name}`"),
            )
        })?;
        let ty: Type = input.parse()?;
        Ok(Field {
            attrs,
            modifiers,
            name,
            ty,
        })
    }
}
