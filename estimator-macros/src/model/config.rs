//! `model!(pub Name = "config.json")`: read the file at compile time and declare the model as
//! types, through `#[derive(Params)]`.

use std::path::PathBuf;

use estimator_core::config::{ModelConfig, ModelType};
use proc_macro2::{Literal, TokenStream};
use quote::quote;
use syn::LitStr;

use super::parse::ModelInput;
use super::{crate_path, helper};

/// The file named by `path`, relative to the file that calls the macro.
fn resolve(path: &LitStr) -> PathBuf {
    let relative = PathBuf::from(path.value());
    if relative.is_absolute() {
        return relative;
    }
    let caller = proc_macro::Span::call_site().local_file();
    match caller.as_ref().and_then(|f| f.parent()) {
        Some(dir) => dir.join(&relative),
        // no source file (e.g. an IDE's expansion): the crate root
        None => std::env::var_os("CARGO_MANIFEST_DIR")
            .map_or_else(|| relative.clone(), |d| PathBuf::from(d).join(&relative)),
    }
}

pub(super) fn expand(input: &ModelInput, path: &LitStr) -> syn::Result<TokenStream> {
    let file = resolve(path);
    let shown = path.value();
    let text = std::fs::read_to_string(&file).map_err(|e| {
        syn::Error::new(
            path.span(),
            format!(
                "cannot read `{shown}` ({}): {e}; the path is relative to this source file",
                file.display()
            ),
        )
    })?;
    let config = ModelConfig::from_json(&text)
        .map_err(|e| syn::Error::new(path.span(), format!("`{shown}`: {e}")))?;
    let krate = crate_path(&input.attrs);
    let absolute = file.canonicalize().unwrap_or(file).display().to_string();
    let body = structs(input, &config, &krate, &shown);
    Ok(quote! {
        #body
        // an edit of the config rebuilds the crate
        const _: &[u8] = ::core::include_bytes!(#absolute);
    })
}

fn lit(v: u64) -> Literal {
    Literal::u64_unsuffixed(v)
}

/// What every generated struct of one model shares.
struct Gen<'a> {
    vis: &'a syn::Visibility,
    attrs: &'a [syn::Attribute],
    name: &'a syn::Ident,
    l: &'a TokenStream,
    c: &'a ModelConfig,
    model_doc: String,
    block_doc: String,
    part_doc: String,
    /// The config's sizes as literals.
    n: Dims,
    /// The repeated block's struct: `NameBlock`.
    block: syn::Ident,
}

/// The sizes every architecture uses, as unsuffixed literals.
struct Dims {
    v: Literal,
    d: Literal,
    layers: Literal,
    h: Literal,
    kv: Literal,
    hd: Literal,
    f: Literal,
    positions: Literal,
}

/// The model's structs, mirroring [`ModelConfig::cost`] field by field.
fn structs(input: &ModelInput, c: &ModelConfig, krate: &TokenStream, shown: &str) -> TokenStream {
    let name = &input.name;
    let g = Gen {
        vis: &input.vis,
        attrs: &input.attrs,
        name,
        l: krate,
        c,
        model_doc: format!(
            "`{name}` from `{shown}` ({}): {} parameters, declared with `model!`.",
            c.model_type.name(),
            c.params()
        ),
        block_doc: format!("A repeated block of `{name}`."),
        part_doc: format!("A part of `{name}`'s block."),
        n: Dims {
            v: lit(c.vocab_size),
            d: lit(c.hidden_size),
            layers: lit(c.num_layers),
            h: lit(c.num_heads),
            kv: lit(c.num_kv_heads),
            hd: lit(c.head_dim),
            f: lit(c.intermediate_size),
            positions: lit(c.max_positions),
        },
        block: helper(name, "Block"),
    };
    match c.model_type {
        ModelType::Gpt2 => gpt2(&g),
        ModelType::Bert => bert(&g),
        _ => llama_like(&g),
    }
}

fn gpt2(g: &Gen<'_>) -> TokenStream {
    let Gen {
        vis,
        attrs,
        name,
        l,
        c,
        model_doc,
        block_doc,
        part_doc,
        n,
        block,
    } = g;
    let Dims {
        v,
        d,
        layers,
        h,
        f,
        positions: p,
        ..
    } = n;
    let (attn, mlp) = (helper(name, "Attention"), helper(name, "Mlp"));
    let (d3, hdim) = (lit(3 * c.hidden_size), lit(c.hidden_size / c.num_heads));
    quote! {
        #[doc = #part_doc]
        #[derive(#l::Params)]
        #vis struct #attn {
            c_attn: #l::layers::Linear<#d, #d3>,
            attn: #l::layers::AttentionCore<#h, #h, #hdim, 0, false>,
            c_proj: #l::layers::Linear<#d, #d>,
            resid_dropout: #l::layers::Dropout<#d>,
        }
        #[doc = #part_doc]
        #[derive(#l::Params)]
        #vis struct #mlp {
            c_fc: #l::layers::Linear<#d, #f>,
            act: #l::layers::NewGelu<#f>,
            c_proj: #l::layers::Linear<#f, #d>,
            dropout: #l::layers::Dropout<#d>,
        }
        #[doc = #block_doc]
        #[derive(#l::Params)]
        #vis struct #block {
            ln_1: #l::layers::LayerNorm<#d>,
            attn: #attn,
            ln_2: #l::layers::LayerNorm<#d>,
            mlp: #mlp,
        }
        #[doc = #model_doc]
        #(#attrs)*
        #[derive(#l::Params)]
        #vis struct #name {
            wte: #l::layers::Embedding<#v, #d>,
            wpe: #l::layers::Embedding<#p, #d>,
            drop: #l::layers::Dropout<#d>,
            h: [#block; #layers],
            ln_f: #l::layers::LayerNorm<#d>,
            #[params(tied)]
            lm_head: #l::layers::Linear<#d, #v, false>,
        }
    }
}

fn bert(g: &Gen<'_>) -> TokenStream {
    let Gen {
        vis,
        attrs,
        name,
        l,
        c,
        model_doc,
        block_doc,
        part_doc,
        n,
        block,
    } = g;
    let Dims {
        v,
        d,
        layers,
        h,
        f,
        positions: p,
        ..
    } = n;
    let (emb, head) = (helper(name, "Embeddings"), helper(name, "Head"));
    let (types, hdim) = (lit(c.type_vocab_size), lit(c.hidden_size / c.num_heads));
    let (top, head_struct) = if c.masked_lm {
        (
            quote! { cls: #head, },
            quote! {
                #[doc = #part_doc]
                #[derive(#l::Params)]
                #vis struct #head {
                    dense: #l::layers::Linear<#d, #d>,
                    act: #l::layers::Gelu<#d>,
                    layer_norm: #l::layers::LayerNorm<#d>,
                    #[params(tied)]
                    decoder: #l::layers::Linear<#d, #v, false>,
                    bias: #l::layers::Parameter<#v>,
                }
            },
        )
    } else {
        (quote! { pooler: #l::layers::Linear<#d, #d>, }, quote!())
    };
    quote! {
        #[doc = #part_doc]
        #[derive(#l::Params)]
        #vis struct #emb {
            word_embeddings: #l::layers::Embedding<#v, #d>,
            position_embeddings: #l::layers::Embedding<#p, #d>,
            token_type_embeddings: #l::layers::Embedding<#types, #d>,
            layer_norm: #l::layers::LayerNorm<#d>,
            dropout: #l::layers::Dropout<#d>,
            position_ids: #l::layers::Buffer<#p, 8>,
            token_type_ids: #l::layers::Buffer<#p, 8>,
        }
        #[doc = #block_doc]
        #[derive(#l::Params)]
        #vis struct #block {
            query: #l::layers::Linear<#d, #d>,
            #[params(shares_input)]
            key: #l::layers::Linear<#d, #d>,
            #[params(shares_input)]
            value: #l::layers::Linear<#d, #d>,
            attn: #l::layers::AttentionCore<#h, #h, #hdim, 0, false>,
            attention_output: #l::layers::Linear<#d, #d>,
            attention_dropout: #l::layers::Dropout<#d>,
            attention_norm: #l::layers::LayerNorm<#d>,
            intermediate: #l::layers::Linear<#d, #f>,
            act: #l::layers::Gelu<#f>,
            output: #l::layers::Linear<#f, #d>,
            output_dropout: #l::layers::Dropout<#d>,
            output_norm: #l::layers::LayerNorm<#d>,
        }
        #head_struct
        #[doc = #model_doc]
        #(#attrs)*
        #[derive(#l::Params)]
        #vis struct #name {
            embeddings: #emb,
            encoder: [#block; #layers],
            #top
        }
    }
}

fn llama_like(g: &Gen<'_>) -> TokenStream {
    let Gen {
        vis,
        attrs,
        name,
        l,
        c,
        model_doc,
        block_doc,
        part_doc,
        n,
        block,
    } = g;
    let Dims {
        v,
        d,
        layers,
        h,
        kv,
        hd,
        f,
        ..
    } = n;
    let window = lit(c.sliding_window);
    let (attn_ty, attn_struct) = if c.standard_attention() {
        let bias = c.qkv_bias;
        (
            quote!(#l::layers::MultiHeadAttention<#d, #h, #kv, #bias, #window>),
            quote!(),
        )
    } else {
        let attn = helper(name, "Attention");
        let (q, kvw) = (
            lit(c.num_heads * c.head_dim),
            lit(c.num_kv_heads * c.head_dim),
        );
        let (qb, ob) = (c.qkv_bias, c.o_bias);
        (
            quote!(#attn),
            quote! {
                #[doc = #part_doc]
                #[derive(#l::Params)]
                #vis struct #attn {
                    q_proj: #l::layers::Linear<#d, #q, #qb>,
                    #[params(shares_input)]
                    k_proj: #l::layers::Linear<#d, #kvw, #qb>,
                    #[params(shares_input)]
                    v_proj: #l::layers::Linear<#d, #kvw, #qb>,
                    attn: #l::layers::AttentionCore<#h, #kv, #hd, #window>,
                    o_proj: #l::layers::Linear<#q, #d, #ob>,
                }
            },
        )
    };
    let mlp_ty = if c.num_experts > 0 {
        let (e, k) = (lit(c.num_experts), lit(c.experts_per_token));
        quote!(#l::layers::Moe<#d, #e, #k, #l::layers::GatedFeedForward<#d, #f>>)
    } else {
        quote!(#l::layers::GatedFeedForward<#d, #f>)
    };
    let normalizer = if matches!(c.model_type, ModelType::Gemma) {
        quote! {
            /// `sqrt(hidden_size)`, a non-persistent fp32 buffer
            normalizer: #l::layers::Buffer<1, 4>,
        }
    } else {
        quote!()
    };
    let tied = if c.tie_word_embeddings {
        quote!(#[params(tied)])
    } else {
        quote!()
    };
    quote! {
        #attn_struct
        #[doc = #block_doc]
        #[derive(#l::Params)]
        #vis struct #block {
            input_layernorm: #l::layers::RmsNorm<#d>,
            self_attn: #attn_ty,
            post_attention_layernorm: #l::layers::RmsNorm<#d>,
            mlp: #mlp_ty,
        }
        #[doc = #model_doc]
        #(#attrs)*
        #[derive(#l::Params)]
        #vis struct #name {
            embed_tokens: #l::layers::Embedding<#v, #d>,
            #normalizer
            layers: [#block; #layers],
            norm: #l::layers::RmsNorm<#d>,
            rotary_emb: #l::layers::Rotary<#hd>,
            #tied
            lm_head: #l::layers::Linear<#d, #v, false>,
        }
    }
}
