//! `model!(pub Name = "config.json")`: read the file at compile time and declare the model as a
//! type whose cost is the file's [`ModelConfig`], evaluated by the compiler.
//!
//! The macro reads the file with the same family table as the CLI and emits the resulting
//! `ModelConfig` as a literal (`Name::CONFIG`); `Params::COST` is `Name::CONFIG.cost()` and the
//! layer tree is `Name::CONFIG.architecture(None)`, so the type and the CLI cannot disagree.

use std::path::PathBuf;

use estimator_core::config::{
    Act, Attention, Deberta, Encoder, Head, Layout, Mla, Mlp, ModelConfig, Moe, Norm, Positions,
    Pretraining, QkNorm, ScoreCorrection, Seq2Seq, Ssm, Vision,
};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use syn::LitStr;

use super::crate_path;
use super::parse::ModelInput;

/// The largest config file read: far beyond any real `config.json`.
const MAX_BYTES: u64 = 4 << 20;

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

/// The file's text, read up to [`MAX_BYTES`].
fn read(file: &std::path::Path) -> std::io::Result<Result<String, &'static str>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(file)?
        .take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Ok(Err("is larger than any config.json (4 MiB)"));
    }
    Ok(String::from_utf8(bytes).map_err(|_| "is not a text file (invalid UTF-8)"))
}

pub(super) fn expand(input: &ModelInput, path: &LitStr) -> syn::Result<TokenStream> {
    expand_file(input, path, resolve(path), &path.value())
}

/// The Hugging Face cache of the environment, as `huggingface_hub` resolves it:
/// `HF_HUB_CACHE`, `HUGGINGFACE_HUB_CACHE`, `$HF_HOME/hub`, `$XDG_CACHE_HOME/huggingface/hub`,
/// `~/.cache/huggingface/hub`.
fn env_cache() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("HF_HUB_CACHE")
        .or_else(|| var("HUGGINGFACE_HUB_CACHE"))
        .or_else(|| var("HF_HOME").map(|h| h.join("hub")))
        .or_else(|| var("XDG_CACHE_HOME").map(|x| x.join("huggingface").join("hub")))
        .or_else(|| var("HOME").map(|h| h.join(".cache").join("huggingface").join("hub")))
}

/// `model!(pub Name = hub "org/name@commit")`: the snapshot's config.json in the cache. The
/// commit is required — a branch moves, and a build must read the same file every time — and
/// the macro never reaches the network: the command line (`estimator estimate --model
/// org/name`) or `huggingface-cli download` fills the cache.
pub(super) fn expand_hub(
    input: &ModelInput,
    id: &LitStr,
    cache: Option<&LitStr>,
) -> syn::Result<TokenStream> {
    let text = id.value();
    let err = |m: String| syn::Error::new(id.span(), m);
    let word = |w: &str| {
        !w.is_empty()
            && w.len() <= 96
            && !w.starts_with('.')
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    let (repo, commit) = text.split_once('@').unwrap_or((&text, ""));
    if !matches!(repo.split_once('/'), Some((org, name)) if word(org) && word(name)) {
        return Err(err(format!(
            "`{text}` is not a Hub id: give `org/name@<commit>`"
        )));
    }
    if commit.len() != 40 || !commit.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(err(format!(
            "pin `{repo}` to a commit, `{repo}@<40 hex digits>`: a branch or tag moves and the build would not read the same config every time (after `estimator estimate --model {repo}`, the cache's `models--{}/refs/main` holds the commit)",
            repo.replace('/', "--")
        )));
    }
    let root = match cache {
        Some(c) => resolve(c),
        None => env_cache().ok_or_else(|| {
            err(
                "no Hugging Face cache to read: set HF_HUB_CACHE or HF_HOME, or add `in \"path\"`"
                    .to_owned(),
            )
        })?,
    };
    let file = root
        .join(format!("models--{}", repo.replace('/', "--")))
        .join("snapshots")
        .join(commit.to_ascii_lowercase())
        .join("config.json");
    if !file.is_file() {
        return Err(err(format!(
            "`{repo}` at {commit} is not in the Hugging Face cache ({}); fetch it once with `estimator estimate --model {repo}@{commit}` (or `huggingface-cli download {repo} config.json --revision {commit}`): the macro does not reach the network",
            root.display()
        )));
    }
    expand_file(input, id, file, &text)
}

/// The model of the config.json at `file`, errors pointing at `lit`.
fn expand_file(
    input: &ModelInput,
    lit: &LitStr,
    file: PathBuf,
    shown: &str,
) -> syn::Result<TokenStream> {
    let path = lit;
    let text = read(&file)
        .map_err(|e| {
            syn::Error::new(
                path.span(),
                format!(
                    "cannot read `{shown}` ({}): {e}; the path is relative to this source file",
                    file.display()
                ),
            )
        })?
        .map_err(|why| {
            syn::Error::new(path.span(), format!("`{shown}` {why}; give a config.json"))
        })?;
    let config = ModelConfig::from_json(&text)
        .map_err(|e| syn::Error::new(path.span(), format!("`{shown}`: {e}")))?;
    let krate = crate_path(&input.attrs);
    let absolute = file.canonicalize().unwrap_or(file).display().to_string();
    let body = model(input, &config, &krate, shown);
    Ok(quote! {
        #body
        // an edit of the config rebuilds the crate
        const _: &[u8] = ::core::include_bytes!(#absolute);
    })
}

fn lit(v: u64) -> Literal {
    Literal::u64_unsuffixed(v)
}

/// The model's type: a unit struct with its `CONFIG`, and `Params` from it.
fn model(input: &ModelInput, c: &ModelConfig, l: &TokenStream, shown: &str) -> TokenStream {
    let (vis, attrs, name) = (&input.vis, &input.attrs, &input.name);
    let doc = format!(
        "`{name}` from `{shown}` ({}): {} parameters, declared with `model!`.",
        c.model_type.name(),
        c.params()
    );
    let kind = name.to_string();
    let literal = config_tokens(c, l);
    let arch = c.architecture(None);
    // one constant per block stack's block, then the top level pointing at them
    let mut consts = Vec::new();
    for i in arch.top.as_slice().iter().filter_map(|p| p.block) {
        let n = arch.blocks[i].as_slice().len();
        let ident = format_ident!("__BLOCK{}", i);
        let entries = (0..n).map(|j| quote!(Self::__ARCH.blocks[#i].items()[#j].layer(&[])));
        consts.push(quote! {
            #[doc(hidden)]
            const #ident: [#l::Layer<'static>; #n] = [#(#entries),*];
        });
    }
    let top = arch.top.as_slice();
    let nt = top.len();
    let entries = top.iter().enumerate().map(|(j, p)| {
        if let Some(i) = p.block {
            let ident = format_ident!("__BLOCK{}", i);
            quote!(Self::__ARCH.top.items()[#j].layer(&Self::#ident))
        } else {
            quote!(Self::__ARCH.top.items()[#j].layer(&[]))
        }
    });
    quote! {
        #[doc = #doc]
        #(#attrs)*
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #name;

        // constants evaluated at compile time into static data, whatever their size
        #[allow(clippy::large_stack_arrays)]
        impl #name {
            /// The hyper-parameters read from the config file, as the family table reads them.
            #vis const CONFIG: #l::config::ModelConfig = #literal;
            #[doc(hidden)]
            const __ARCH: #l::config::Architecture = Self::CONFIG.architecture(::core::option::Option::None);
            #(#consts)*
            #[doc(hidden)]
            const __TOP: [#l::Layer<'static>; #nt] = [#(#entries),*];
        }

        #[automatically_derived]
        impl #l::Params for #name {
            const COST: #l::Cost = Self::CONFIG.cost();
            const KIND: &'static str = #kind;
            const LAYERS: &'static [#l::Layer<'static>] = &Self::__TOP;
        }
    }
}

/// An encoder–decoder's description as a Rust expression (every field named).
fn seq2seq_tokens(s: &Seq2Seq, cfg: &TokenStream) -> TokenStream {
    let Seq2Seq {
        encoder_layers,
        encoder_heads,
        encoder_ffn,
        relative_buckets,
        relative_every_layer,
        source_rows,
        mel_bins,
        frozen_source_positions,
        frozen_target_positions,
        post_norm,
        embed_norms,
        final_logits_bias,
        key_bias,
        source_vocab,
        encoder_only,
        encoder_head_dim,
        untied_stacks,
        contiguous_heads,
        hidden_dropout,
        attention_dropout,
        activation_dropout,
    } = *s;
    let sizes = [
        ("encoder_layers", encoder_layers),
        ("encoder_heads", encoder_heads),
        ("encoder_ffn", encoder_ffn),
        ("relative_buckets", relative_buckets),
        ("source_rows", source_rows),
        ("mel_bins", mel_bins),
        ("source_vocab", source_vocab),
        ("encoder_head_dim", encoder_head_dim),
    ]
    .map(|(field, v)| {
        let (field, v) = (format_ident!("{}", field), lit(v));
        quote!(#field: #v,)
    });
    quote!(::core::option::Option::Some(#cfg::Seq2Seq {
        #(#sizes)*
        relative_every_layer: #relative_every_layer,
        frozen_source_positions: #frozen_source_positions,
        frozen_target_positions: #frozen_target_positions,
        post_norm: #post_norm,
        embed_norms: #embed_norms,
        final_logits_bias: #final_logits_bias,
        key_bias: #key_bias,
        encoder_only: #encoder_only,
        untied_stacks: #untied_stacks,
        contiguous_heads: #contiguous_heads,
        hidden_dropout: #hidden_dropout,
        attention_dropout: #attention_dropout,
        activation_dropout: #activation_dropout,
    }))
}

/// A state-space mixer's description as a Rust expression (every field named).
fn ssm_tokens(s: &Ssm, cfg: &TokenStream) -> TokenStream {
    let Ssm {
        heads,
        head_dim,
        groups,
        inner,
        state,
        conv,
        dt_rank,
        chunk,
        proj_bias,
        conv_bias,
        dt_norms,
        mixer_only,
        attention_layers,
        attention_moe_layers,
        kernels,
    } = *s;
    let sizes = [
        ("heads", heads),
        ("head_dim", head_dim),
        ("groups", groups),
        ("inner", inner),
        ("state", state),
        ("conv", conv),
        ("dt_rank", dt_rank),
        ("chunk", chunk),
        ("attention_layers", attention_layers),
        ("attention_moe_layers", attention_moe_layers),
    ]
    .map(|(field, v)| {
        let (field, v) = (format_ident!("{}", field), lit(v));
        quote!(#field: #v,)
    });
    quote!(::core::option::Option::Some(#cfg::Ssm {
        #(#sizes)*
        proj_bias: #proj_bias,
        conv_bias: #conv_bias,
        dt_norms: #dt_norms,
        mixer_only: #mixer_only,
        kernels: #kernels,
    }))
}

/// `config` as a Rust expression (every field named, so a new field is a compile error here).
#[allow(
    clippy::too_many_lines,
    reason = "one line per field of the config, written out so that none is forgotten"
)]
fn config_tokens(c: &ModelConfig, l: &TokenStream) -> TokenStream {
    let ModelConfig {
        model_type,
        head,
        vocab_size,
        hidden_size,
        num_layers,
        num_heads,
        num_kv_heads,
        head_dim,
        intermediate_size,
        max_positions,
        positions,
        norm,
        layout,
        attention,
        mlp,
        moe,
        sliding_layers,
        sliding_dense_layers,
        dense_layers,
        sliding_window,
        tie_word_embeddings,
        head_bias,
        embed_norm,
        embed_scale,
        causal_mask,
        resid_dropout,
        encoder,
        seq2seq,
        vision,
        ssm,
        dropout,
    } = *c;
    let cfg = quote!(#l::config);
    let name = model_type.name();
    let head = match head {
        Head::LanguageModel => quote!(#cfg::Head::LanguageModel),
        Head::None => quote!(#cfg::Head::None),
        Head::SequenceClassification(n) => {
            let n = lit(n);
            quote!(#cfg::Head::SequenceClassification(#n))
        }
        Head::TokenClassification(n) => {
            let n = lit(n);
            quote!(#cfg::Head::TokenClassification(#n))
        }
        Head::QuestionAnswering => quote!(#cfg::Head::QuestionAnswering),
        Head::PreTraining => quote!(#cfg::Head::PreTraining),
    };
    let positions = match positions {
        Positions::Rotary { dim, tables } => {
            let (dim, tables) = (lit(dim), lit(tables));
            quote!(#cfg::Positions::Rotary { dim: #dim, tables: #tables })
        }
        Positions::RotaryTable { dim } => {
            let dim = lit(dim);
            quote!(#cfg::Positions::RotaryTable { dim: #dim })
        }
        Positions::Learned { rows } => {
            let rows = lit(rows);
            quote!(#cfg::Positions::Learned { rows: #rows })
        }
        Positions::Sinusoidal { rows } => {
            let rows = lit(rows);
            quote!(#cfg::Positions::Sinusoidal { rows: #rows })
        }
        Positions::None => quote!(#cfg::Positions::None),
    };
    let norm_tokens = |n: Norm| match n {
        Norm::Rms => quote!(#cfg::Norm::Rms),
        Norm::LayerNorm => quote!(#cfg::Norm::LayerNorm),
        Norm::LayerNormNoBias => quote!(#cfg::Norm::LayerNormNoBias),
        Norm::NonParametric => quote!(#cfg::Norm::NonParametric),
        Norm::LayerNormFp32 => quote!(#cfg::Norm::LayerNormFp32),
    };
    let norm = norm_tokens(norm);
    let layout = match layout {
        Layout::PreNorm => quote!(#cfg::Layout::PreNorm),
        Layout::Parallel { norms } => {
            let norms = lit(norms);
            quote!(#cfg::Layout::Parallel { norms: #norms })
        }
        Layout::PostNorm => quote!(#cfg::Layout::PostNorm),
        Layout::Sandwich => quote!(#cfg::Layout::Sandwich),
    };
    let Attention {
        qkv_bias,
        o_bias,
        fused_qkv,
        qk_norm,
        qk_norm_kind,
        sinks,
        softmax_fp32,
        softcap,
        value_views_fused,
        kv_expanded,
        mla,
    } = attention;
    let qk_norm = match qk_norm {
        QkNorm::None => quote!(#cfg::QkNorm::None),
        QkNorm::PerHead => quote!(#cfg::QkNorm::PerHead),
        QkNorm::Full => quote!(#cfg::QkNorm::Full),
        QkNorm::PerHeadModules => quote!(#cfg::QkNorm::PerHeadModules),
    };
    let qk_norm_kind = norm_tokens(qk_norm_kind);
    let mla = match mla {
        None => quote!(::core::option::Option::None),
        Some(Mla {
            q_lora_rank,
            kv_lora_rank,
            qk_nope_head_dim,
            qk_rope_head_dim,
            v_head_dim,
        }) => {
            let (a, b, n, r, v) = (
                lit(q_lora_rank),
                lit(kv_lora_rank),
                lit(qk_nope_head_dim),
                lit(qk_rope_head_dim),
                lit(v_head_dim),
            );
            quote!(::core::option::Option::Some(#cfg::Mla {
                q_lora_rank: #a, kv_lora_rank: #b, qk_nope_head_dim: #n,
                qk_rope_head_dim: #r, v_head_dim: #v,
            }))
        }
    };
    let Mlp {
        gated,
        fused_gate_up,
        bias,
        act,
    } = mlp;
    let act_tokens = |a: Act| match a {
        Act::Fused => quote!(#cfg::Act::Fused),
        Act::NewGelu => quote!(#cfg::Act::NewGelu),
        Act::Relu => quote!(#cfg::Act::Relu),
        Act::QuickGelu => quote!(#cfg::Act::QuickGelu),
        Act::ClampedSwiGlu => quote!(#cfg::Act::ClampedSwiGlu),
    };
    let act = act_tokens(act);
    let Moe {
        experts,
        top_k,
        width,
        shared_width,
        shared_gate,
        router_bias,
        expert_bias,
        score_correction,
        act: expert_act,
    } = moe;
    let expert_act = act_tokens(expert_act);
    let score_correction = match score_correction {
        ScoreCorrection::None => quote!(#cfg::ScoreCorrection::None),
        ScoreCorrection::Buffer => quote!(#cfg::ScoreCorrection::Buffer),
        ScoreCorrection::Parameter => quote!(#cfg::ScoreCorrection::Parameter),
    };
    let [experts, top_k, width, shared_width] = [experts, top_k, width, shared_width].map(lit);
    let encoder = match encoder {
        None => quote!(::core::option::Option::None),
        Some(Encoder {
            type_vocab_size,
            embedding_size,
            pooler,
            out_dropout,
            tied_decoder_bias,
            pretraining,
            pre_norm,
            deberta,
        }) => {
            let deberta = match deberta {
                None => quote!(::core::option::Option::None),
                Some(Deberta {
                    absolute,
                    rel_rows,
                    rel_norm,
                    c2p,
                    p2c,
                    share_att_key,
                    conv_kernel,
                    conv_groups,
                    legacy,
                }) => {
                    let (r, k, g) = (lit(rel_rows), lit(conv_kernel), lit(conv_groups));
                    quote!(::core::option::Option::Some(#cfg::Deberta {
                        absolute: #absolute, rel_rows: #r, rel_norm: #rel_norm, c2p: #c2p,
                        p2c: #p2c, share_att_key: #share_att_key, conv_kernel: #k,
                        conv_groups: #g, legacy: #legacy,
                    }))
                }
            };
            let (t, e) = (lit(type_vocab_size), lit(embedding_size));
            let pre_norm = match pre_norm {
                None => quote!(::core::option::Option::None),
                Some(b) => quote!(::core::option::Option::Some(#b)),
            };
            let pretraining = match pretraining {
                Pretraining::NextSentence => quote!(#cfg::Pretraining::NextSentence),
                Pretraining::Discriminator => quote!(#cfg::Pretraining::Discriminator),
            };
            quote!(::core::option::Option::Some(#cfg::Encoder {
                type_vocab_size: #t, embedding_size: #e, pooler: #pooler,
                out_dropout: #out_dropout, tied_decoder_bias: #tied_decoder_bias,
                pretraining: #pretraining, pre_norm: #pre_norm, deberta: #deberta,
            }))
        }
    };
    let seq2seq = match seq2seq {
        None => quote!(::core::option::Option::None),
        Some(s) => seq2seq_tokens(&s, &cfg),
    };
    let ssm = match ssm {
        None => quote!(::core::option::Option::None),
        Some(s) => ssm_tokens(&s, &cfg),
    };
    let vision = match vision {
        None => quote!(::core::option::Option::None),
        Some(Vision {
            image_size,
            patch_size,
            channels,
            clip,
            projection,
            pooler,
        }) => {
            let (i, p, ch, pr, po) = (
                lit(image_size),
                lit(patch_size),
                lit(channels),
                lit(projection),
                lit(pooler),
            );
            quote!(::core::option::Option::Some(#cfg::Vision {
                image_size: #i, patch_size: #p, channels: #ch, clip: #clip,
                projection: #pr, pooler: #po,
            }))
        }
    };
    // the plain sizes, each written `name: value`
    let sizes = [
        ("vocab_size", vocab_size),
        ("hidden_size", hidden_size),
        ("num_layers", num_layers),
        ("num_heads", num_heads),
        ("num_kv_heads", num_kv_heads),
        ("head_dim", head_dim),
        ("intermediate_size", intermediate_size),
        ("max_positions", max_positions),
        ("sliding_layers", sliding_layers),
        ("sliding_dense_layers", sliding_dense_layers),
        ("dense_layers", dense_layers),
        ("sliding_window", sliding_window),
    ]
    .map(|(field, v)| {
        let (field, v) = (format_ident!("{}", field), lit(v));
        quote!(#field: #v,)
    });
    quote! {
        #cfg::ModelConfig {
            model_type: match #cfg::ModelType::from_name(#name) {
                ::core::option::Option::Some(t) => t,
                ::core::option::Option::None => ::core::panic!("estimator: unknown model_type"),
            },
            head: #head,
            #(#sizes)*
            positions: #positions,
            norm: #norm,
            layout: #layout,
            attention: #cfg::Attention {
                qkv_bias: #qkv_bias,
                o_bias: #o_bias,
                fused_qkv: #fused_qkv,
                qk_norm: #qk_norm,
                qk_norm_kind: #qk_norm_kind,
                sinks: #sinks,
                softmax_fp32: #softmax_fp32,
                softcap: #softcap,
                value_views_fused: #value_views_fused,
                kv_expanded: #kv_expanded,
                mla: #mla,
            },
            mlp: #cfg::Mlp {
                gated: #gated,
                fused_gate_up: #fused_gate_up,
                bias: #bias,
                act: #act,
            },
            moe: #cfg::Moe {
                experts: #experts,
                top_k: #top_k,
                width: #width,
                shared_width: #shared_width,
                shared_gate: #shared_gate,
                router_bias: #router_bias,
                expert_bias: #expert_bias,
                score_correction: #score_correction,
                act: #expert_act,
            },
            tie_word_embeddings: #tie_word_embeddings,
            head_bias: #head_bias,
            embed_norm: #embed_norm,
            embed_scale: #embed_scale,
            causal_mask: #causal_mask,
            resid_dropout: #resid_dropout,
            encoder: #encoder,
            seq2seq: #seq2seq,
            vision: #vision,
            ssm: #ssm,
            dropout: #dropout,
        }
    }
}
