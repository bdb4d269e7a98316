//! A [`ModelConfig`] as named parts, built from the shared layer costs: one recipe for every
//! decoder family (norm kind and placement, attention variant, dense or gated MLP, mixture of
//! experts, per-layer pattern, head), and one for the encoders in BERT's layout.

use super::{
    Act, Architecture, Deberta, Encoder, Head, Layout, Lora, LoraTargets, ModelConfig, Norm, Parts,
    Positions, Pretraining, QkNorm, ScoreCorrection,
};
use crate::cost::{Activations, Cost};
use crate::layers::{
    attention, attention_core_with, conv, dropout, embedding, fused_expert, gated,
    gated_feed_forward, keeps_input, keeps_output, latent_attention, layer_norm, linear, lora,
    new_gelu, non_parametric_norm, per_row, rms_norm, stacked_moe,
};

pub(super) const fn architecture(c: &ModelConfig, lora: Option<Lora>) -> Architecture {
    match c.encoder {
        Some(e) if e.pre_norm.is_some() => modern_encoder(c, e),
        Some(e) => encoder(c, e),
        None => decoder(c, lora),
    }
}

const fn targets(lora: Option<Lora>) -> LoraTargets {
    match lora {
        Some(l) => l.targets,
        None => LoraTargets::NONE,
    }
}

const fn rank(lora: Option<Lora>) -> u64 {
    match lora {
        Some(l) => l.rank,
        None => 0,
    }
}

/// A projection: LoRA-adapted, frozen (under LoRA, untargeted), or plain.
const fn proj(inp: u64, out: u64, bias: bool, adapted: bool, rank: u64, frozen: bool) -> Cost {
    if adapted {
        lora(inp, out, bias, rank)
    } else {
        freeze(linear(inp, out, bias), frozen)
    }
}

const fn freeze(c: Cost, frozen: bool) -> Cost {
    if frozen { c.frozen() } else { c }
}

/// A projection reading the same input as an earlier one: the textbook counts that input once;
/// and once one of them keeps it (a frozen projection does not), the others share the storage.
const fn share(c: Cost, kept: &mut bool) -> Cost {
    let deduped = c.shares_input();
    if *kept || c.act.weight_input_per_token == 0 {
        deduped
    } else {
        *kept = true;
        Cost {
            act: Activations {
                textbook_per_token: deduped.act.textbook_per_token,
                ..c.act
            },
            ..c
        }
    }
}

/// The first projection of an MLP: it shares its input with the attention's projections when
/// `kept` says one of them keeps it already; otherwise it may keep the input itself.
const fn first(c: Cost, kept: &mut bool) -> Cost {
    if *kept {
        share(c, kept)
    } else {
        *kept = c.act.weight_input_per_token > 0;
        c
    }
}

/// A norm of width `d` of the given kind.
const fn norm(kind: Norm, d: u64) -> Cost {
    match kind {
        Norm::Rms => rms_norm(d),
        Norm::LayerNorm => layer_norm(d, true),
        Norm::LayerNormNoBias => layer_norm(d, false),
        Norm::NonParametric => non_parametric_norm(d),
        // the scale only; three fp32 copies of the width and the fp32 reciprocal deviation
        Norm::LayerNormFp32 => Cost::parameter(&[d])
            .saves(Activations {
                f32_per_token: 3 * d + 1,
                textbook_per_token: 2 * d,
                ..Activations::ZERO
            })
            .widths(d, d)
            .live(3 * d),
    }
}

/// A norm whose input another norm of the block already keeps (parallel blocks): the saved
/// input is one storage, counted once.
const fn second_norm(kind: Norm, d: u64) -> Cost {
    let n = norm(kind, d);
    Cost {
        act: Activations {
            residual_per_token: 0,
            textbook_per_token: 0,
            ..n.act
        },
        ..n
    }
}

/// The query/key norms of `h` query and `kv` key heads of `hd`.
const fn qk_norms(scope: QkNorm, kind: Norm, h: u64, kv: u64, hd: u64) -> Cost {
    match scope {
        QkNorm::None => Cost::ZERO,
        QkNorm::PerHead => per_row(norm(kind, hd), h).add(per_row(norm(kind, hd), kv)),
        QkNorm::Full => norm(kind, h * hd).add(norm(kind, kv * hd)),
        // a module per head: `h + kv` tensors of `hd`
        QkNorm::PerHeadModules => norm(kind, hd).times(h).add(norm(kind, hd).times(kv)),
    }
}

/// The self-attention of one block, keys and values cached for at most `window` tokens (0:
/// all).
const fn self_attention(c: &ModelConfig, lora: Option<Lora>, window: u64) -> Cost {
    let a = &c.attention;
    let (d, h, kv, hd) = (c.hidden_size, c.num_heads, c.num_kv_heads, c.head_dim);
    let frozen = lora.is_some();
    let t = targets(lora);
    let r = rank(lora);
    if let Some(m) = a.mla {
        // `attention_bias` biases q_a, kv_a and o
        let mla = latent_attention(
            d,
            h,
            m.q_lora_rank,
            m.kv_lora_rank,
            m.qk_nope_head_dim,
            m.qk_rope_head_dim,
            m.v_head_dim,
            a.o_bias,
            window,
        );
        return freeze(mla, frozen);
    }
    let rotary = match c.positions {
        Positions::Rotary { dim, .. } => Some(dim),
        _ => None,
    };
    let flash_extra = match rotary {
        // a fused kernel keeps the value view's whole projection once rotary has replaced
        // the query and key (its q and k parts are (h + kv)·hd)
        Some(_) if a.fused_qkv && a.value_views_fused => (h + kv) * hd,
        _ => 0,
    } + match rotary {
        // partial rotary builds the query with `torch.cat`: a head-major kernel output, copied
        // for the output projection
        Some(dim) if dim < hd => h * hd,
        _ => 0,
    };
    let plain = lora.is_none()
        && !a.fused_qkv
        && matches!(a.qk_norm, QkNorm::None)
        && !a.sinks
        && !a.softcap
        && !a.kv_expanded
        && flash_extra == 0
        && a.softmax_fp32
        && a.qkv_bias == a.o_bias
        && h * hd == d;
    if plain {
        return attention(d, h, kv, hd, a.qkv_bias, window);
    }
    let qkv = if a.fused_qkv {
        proj(
            d,
            (h + 2 * kv) * hd,
            a.qkv_bias,
            t.q || t.k || t.v,
            r,
            frozen,
        )
    } else {
        // the first projection that keeps the input keeps it for the others
        let q = proj(d, h * hd, a.qkv_bias, t.q, r, frozen);
        let mut shared = q.act.weight_input_per_token > 0;
        let k = share(proj(d, kv * hd, a.qkv_bias, t.k, r, frozen), &mut shared);
        let v = share(proj(d, kv * hd, a.qkv_bias, t.v, r, frozen), &mut shared);
        q.add(k).add(v)
    };
    let sinks = if a.sinks {
        freeze(Cost::parameter(&[h]), frozen)
    } else {
        Cost::ZERO
    };
    // broadcast keys and values: every head's are computed on and cached
    let core_kv = if a.kv_expanded { h } else { kv };
    let core = attention_core_with(h, core_kv, hd, window, a.softmax_fp32).saves(Activations {
        flash_per_token: flash_extra,
        score_cap_heads: if a.softcap { h } else { 0 },
        ..Activations::ZERO
    });
    qkv.add(freeze(
        qk_norms(a.qk_norm, a.qk_norm_kind, h, kv, hd),
        frozen,
    ))
    .add(sinks)
    .add(core)
    .add(proj(h * hd, d, a.o_bias, t.o, r, frozen))
    .widths(d, d)
}

/// The activation between an MLP's projections, over `w` features.
const fn activation(act: Act, w: u64) -> Cost {
    match act {
        Act::Fused | Act::ClampedSwiGlu => keeps_input(w),
        Act::NewGelu => new_gelu(w),
        Act::Relu => keeps_output(w),
    }
}

/// A dense MLP of hidden width `w`. `shared_input`: its first projection reads a tensor the
/// attention's projections already keep (a parallel block with one norm).
const fn dense_mlp(c: &ModelConfig, w: u64, lora: Option<Lora>, shared_input: bool) -> Cost {
    let m = &c.mlp;
    let d = c.hidden_size;
    let frozen = lora.is_some();
    let t = targets(lora);
    let r = rank(lora);
    let mut kept = shared_input;
    if !m.gated {
        let up = first(proj(d, w, m.bias, t.up, r, frozen), &mut kept);
        return up
            .add(activation(m.act, w))
            .add(proj(w, d, m.bias, t.down, r, frozen));
    }
    if lora.is_none() && !m.fused_gate_up && !m.bias && !shared_input {
        return gated_feed_forward(d, w);
    }
    let gate_up = if m.fused_gate_up {
        first(proj(d, 2 * w, m.bias, t.gate || t.up, r, frozen), &mut kept)
    } else {
        let gate = first(proj(d, w, m.bias, t.gate, r, frozen), &mut kept);
        let up = share(proj(d, w, m.bias, t.up, r, frozen), &mut kept);
        gate.add(up)
    };
    gated(gate_up, proj(w, d, m.bias, t.down, r, frozen), d, w)
}

/// One routed expert as transformers 5 stacks it: `gate_up_proj` (`[2·w, d]` per expert) and
/// `down_proj` (`[d, w]`), with their biases when the family has them.
const fn expert(d: u64, w: u64, bias: bool, act: Act) -> Cost {
    match act {
        // gpt-oss: the projection (kept by the clamps of its interleaved halves), σ(α·gate),
        // the clamped gate, up + 1, their product with the gate, and the down projection's
        // input (measured: 7·w per visit, tests/fixtures/memory-families.json)
        Act::ClampedSwiGlu => linear(d, 2 * w, bias)
            .saves(Activations {
                per_token: 6 * w,
                textbook_per_token: 12 * w,
                ..Activations::ZERO
            })
            .add(linear(w, d, bias))
            .live(d + 7 * w),
        _ => fused_expert(d, w, bias),
    }
}

/// The mixture-of-experts MLP of a sparse layer: router, stacked experts, shared experts.
const fn sparse_mlp(c: &ModelConfig, lora: Option<Lora>) -> Cost {
    let (d, m) = (c.hidden_size, &c.moe);
    let mut cost = stacked_moe(
        d,
        m.experts,
        m.top_k,
        expert(d, m.width, m.expert_bias, m.act),
    );
    if m.router_bias {
        cost = cost.add(Cost::parameter(&[m.experts]));
    }
    match m.score_correction {
        ScoreCorrection::None => {}
        ScoreCorrection::Buffer => cost = cost.add(Cost::buffer(m.experts, 4)),
        ScoreCorrection::Parameter => cost = cost.add(Cost::parameter(&[1, m.experts])),
    }
    if m.shared_width > 0 {
        // every token goes through the shared experts, reading the router's input
        let shared = gated_feed_forward(d, m.shared_width).shares_input();
        cost = cost.add(shared);
        if m.shared_gate {
            cost = cost.add(linear(d, 1, false).shares_input());
        }
    }
    let cost = cost.widths(d, d);
    if lora.is_some() { cost.frozen() } else { cost }
}

/// One block: attention with `window` (0: full), and a mixture of experts when `sparse`.
const fn block(c: &ModelConfig, lora: Option<Lora>, window: u64, sparse: bool) -> Parts {
    let d = c.hidden_size;
    let frozen = lora.is_some();
    let n = freeze(norm(c.norm, d), frozen);
    let mut attn = self_attention(c, lora, window);
    let parallel_one_norm = matches!(c.layout, Layout::Parallel { norms: 1 });
    let mut mlp = if sparse {
        sparse_mlp(c, lora)
    } else {
        dense_mlp(c, c.intermediate_size, lora, parallel_one_norm)
    };
    if c.resid_dropout {
        attn = attn.add(dropout(d));
        mlp = mlp.add(dropout(d));
    }
    let mlp_kind = if sparse { "Moe" } else { "Mlp" };
    match c.layout {
        Layout::PreNorm => Parts::new()
            .push("input_layernorm", "Norm", n)
            .push("self_attn", "Attention", attn)
            .push("post_attention_layernorm", "Norm", n)
            .push("mlp", mlp_kind, mlp),
        Layout::Parallel { norms } => {
            let p = Parts::new().push("input_layernorm", "Norm", n).push(
                "self_attn",
                "Attention",
                attn,
            );
            let p = if norms >= 2 {
                p.push(
                    "post_attention_layernorm",
                    "Norm",
                    freeze(second_norm(c.norm, d), frozen),
                )
            } else {
                p
            };
            p.push("mlp", mlp_kind, mlp)
        }
        Layout::PostNorm => Parts::new()
            .push("self_attn", "Attention", attn)
            .push("post_attention_layernorm", "Norm", n)
            .push("mlp", mlp_kind, mlp)
            .push("post_feedforward_layernorm", "Norm", n),
        Layout::Sandwich => Parts::new()
            .push("input_layernorm", "Norm", n)
            .push("self_attn", "Attention", attn)
            .push("post_attention_layernorm", "Norm", n)
            .push("pre_feedforward_layernorm", "Norm", n)
            .push("mlp", mlp_kind, mlp)
            .push("post_feedforward_layernorm", "Norm", n),
    }
}

/// A rotary embedding's fp32 `inv_freq` and `original_inv_freq` buffers, one pair per table
/// (per layer type where the family keeps one each).
const fn rotary_buffers(dim: u64, tables: u64) -> Cost {
    let half = half_up(dim);
    Cost::buffer(half, 4)
        .add(Cost::buffer(half, 4))
        .times(tables)
}

/// `⌈dim / 2⌉`: the length of `inv_freq` (`arange(0, dim, 2)`).
const fn half_up(dim: u64) -> u64 {
    dim / 2 + dim % 2
}

#[allow(
    clippy::large_stack_arrays,
    reason = "four blocks of named parts, about 40 KB, built once per estimate"
)]
const fn decoder(c: &ModelConfig, lora: Option<Lora>) -> Architecture {
    let (d, v) = (c.hidden_size, c.vocab_size);
    let frozen = lora.is_some();
    let window = c.sliding_window;
    assert!(
        c.sliding_layers <= c.num_layers
            && c.dense_layers <= c.num_layers
            && c.sliding_dense_layers <= c.sliding_layers
            && c.sliding_dense_layers <= c.dense_layers
            && c.num_layers - c.dense_layers >= c.sliding_layers - c.sliding_dense_layers
            && (c.moe.experts > 0 || c.dense_layers == c.num_layers),
        "estimator: a ModelConfig's layer pattern must fit its layers: sliding_dense_layers <= sliding_layers, dense_layers <= num_layers, and every layer dense without experts"
    );
    let sliding_sparse = c.sliding_layers - c.sliding_dense_layers;
    let counts = [
        c.dense_layers - c.sliding_dense_layers,
        c.sliding_dense_layers,
        c.moe_layers() - sliding_sparse,
        sliding_sparse,
    ];
    // (window, sparse) of each kind; a kind with no layers is not built
    let kinds = [(0, false), (window, false), (0, true), (window, true)];
    let mut blocks = [Parts::new(); 4];
    let mut k = 0;
    while k < 4 {
        if counts[k] > 0 {
            blocks[k] = block(c, lora, kinds[k].0, kinds[k].1);
        }
        k += 1;
    }
    let mut top = Parts::new().push("embed_tokens", "Embedding", freeze(embedding(v, d), frozen));
    // a table of positions bounds the sequence: `max_positions` rows past any offset
    let limit = c.max_positions;
    match c.positions {
        Positions::Learned { rows } => {
            top = top.push(
                "embed_positions",
                "Embedding",
                freeze(embedding(rows, d), frozen).positions(limit),
            );
        }
        Positions::Sinusoidal { rows } => {
            top = top.push(
                "embed_positions",
                "Buffer",
                Cost::buffer(rows * d, 4).positions(limit),
            );
        }
        Positions::RotaryTable { dim } => {
            top = top.push(
                "embed_positions",
                "Buffer",
                Cost::buffer(c.max_positions * dim, 4).positions(limit),
            );
        }
        Positions::Rotary { .. } | Positions::None => {}
    }
    if c.causal_mask {
        top = top.push(
            "causal_mask",
            "Buffer",
            Cost::buffer(c.max_positions * c.max_positions, 1),
        );
    }
    if c.embed_scale {
        top = top.push("normalizer", "Buffer", Cost::buffer(1, 4));
    }
    if c.embed_norm {
        top = top.push("embed_layernorm", "Norm", freeze(norm(c.norm, d), frozen));
    }
    if c.resid_dropout {
        top = top.push("drop", "Dropout", dropout(d));
    }
    let names = [
        "layers",
        "sliding_layers",
        "moe_layers",
        "sliding_moe_layers",
    ];
    let mut i = 0;
    while i < 4 {
        top = top.repeat(names[i], "Block", &blocks[i], i, counts[i]);
        i += 1;
    }
    top = top.push("norm", "Norm", freeze(norm(c.norm, d), frozen));
    if let Positions::Rotary { dim, tables } = c.positions {
        top = top.push("rotary_emb", "Rotary", rotary_buffers(dim, tables));
    }
    Architecture {
        top: head(c, top, frozen),
        blocks,
    }
}

/// `top` followed by the head `architectures[0]` names.
const fn head(c: &ModelConfig, top: Parts, frozen: bool) -> Parts {
    let (d, v) = (c.hidden_size, c.vocab_size);
    match c.head {
        Head::LanguageModel | Head::PreTraining => {
            let w = freeze(linear(d, v, false), frozen);
            let w = if c.tie_word_embeddings { w.tied() } else { w };
            // the bias is a parameter of its own; the head's output is still the logits
            let head = if c.head_bias {
                w.add(freeze(Cost::parameter(&[v]), frozen)).widths(d, v)
            } else {
                w
            };
            top.push("lm_head", "Linear", head)
        }
        Head::None => top,
        Head::SequenceClassification(n) => top.push("score", "Linear", linear(d, n, false)),
        Head::TokenClassification(n) => {
            top.push("dropout", "Dropout", dropout(d))
                .push("score", "Linear", linear(d, n, true))
        }
        Head::QuestionAnswering => top.push("qa_outputs", "Linear", linear(d, 2, true)),
    }
}

#[allow(
    clippy::large_stack_arrays,
    reason = "four blocks of named parts, about 40 KB, built once per estimate"
)]
const fn encoder(c: &ModelConfig, e: Encoder) -> Architecture {
    let (d, v, f) = (c.hidden_size, c.vocab_size, c.intermediate_size);
    let (rows, tokens) = match c.positions {
        Positions::Learned { rows } => (rows, c.max_positions),
        _ => (c.max_positions, c.max_positions),
    };
    // embeddings at their own width (ELECTRA's `embedding_size`), with the `position_ids`
    // buffer, and `token_type_ids` when there are token types
    let w = e.embedding_size;
    let embeddings = if let Some(db) = e.deberta {
        deberta_embeddings(c, e, db, rows, tokens)
    } else {
        let mut emb = embedding(v, w).add(embedding(rows, w).positions(tokens));
        if e.type_vocab_size > 0 {
            emb = emb.add(embedding(e.type_vocab_size, w));
        }
        emb = emb
            .add(layer_norm(w, true))
            .add(dropout(w))
            .add(Cost::buffer(rows, 8));
        if e.type_vocab_size > 0 {
            emb = emb.add(Cost::buffer(rows, 8));
        }
        emb
    };
    let attention = encoder_attention(c, e).add(layer_norm(d, true));
    let ffn = linear(d, f, true)
        .add(activation(c.mlp.act, f))
        .add(linear(f, d, true))
        .add(dropout(d))
        .add(layer_norm(d, true));
    let block =
        Parts::new()
            .push("attention", "Attention", attention)
            .push("ffn", "FeedForward", ffn);
    let empty = Parts::new();
    let blocks = [block, empty, empty, empty];
    let mut top = Parts::new().push("embeddings", "Embeddings", embeddings);
    if w != d && e.deberta.is_none() {
        top = top.push("embeddings_project", "Linear", linear(w, d, true));
    }
    let mut top = top.repeat("encoder", "Layer", &block, 0, c.num_layers);
    if let Some(db) = e.deberta {
        top = deberta_encoder_parts(top, db, d);
    }
    // the masked-LM head: a transform to the embedding width, its norm, the decoder (tied to
    // the word embeddings) and the vocabulary bias
    // DeBERTa's head without `legacy` multiplies by the word embeddings whatever the tie says
    let legacy = match e.deberta {
        Some(db) => db.legacy,
        None => true,
    };
    let decoder = if c.tie_word_embeddings || !legacy {
        linear(w, v, false).tied()
    } else {
        linear(w, v, e.tied_decoder_bias)
    };
    let mlm = linear(d, w, true)
        .add(keeps_input(w))
        .add(layer_norm(w, true))
        .add(decoder)
        .add(Cost::parameter(&[v]))
        .widths(d, v);
    let pooler = linear(d, d, true);
    let top = match c.head {
        Head::LanguageModel => top.push("lm_head", "MaskedLmHead", mlm),
        Head::None if e.pooler => top.push("pooler", "Linear", pooler),
        Head::None => top,
        Head::PreTraining => match e.pretraining {
            Pretraining::NextSentence => top.push("pooler", "Linear", pooler).push(
                "cls",
                "PreTrainingHeads",
                mlm.add(linear(d, 2, true)),
            ),
            Pretraining::Discriminator => top.push(
                "discriminator_predictions",
                "DiscriminatorPredictions",
                linear(d, d, true)
                    .add(activation(c.mlp.act, d))
                    .add(linear(d, 1, true)),
            ),
        },
        // BERT: the pooler and a classifier; RoBERTa, ELECTRA, DistilBERT: a dense layer and
        // an output projection over the first token, the same tensors
        Head::SequenceClassification(n) => top
            .push("pooler", "Linear", pooler)
            .push("dropout", "Dropout", dropout(d))
            .push("classifier", "Linear", linear(d, n, true)),
        Head::TokenClassification(n) => top.push("dropout", "Dropout", dropout(d)).push(
            "classifier",
            "Linear",
            linear(d, n, true),
        ),
        Head::QuestionAnswering => top.push("qa_outputs", "Linear", linear(d, 2, true)),
    };
    Architecture { top, blocks }
}

/// ModernBERT: pre-norm blocks of the family's attention (fused `Wqkv`) and GLU MLP, the first
/// layer without its attention norm, a final norm, rotary tables per layer type, and a
/// prediction head (dense, activation, norm) under every head; nothing cached.
#[allow(
    clippy::large_stack_arrays,
    reason = "four blocks of named parts, about 40 KB, built once per estimate"
)]
const fn modern_encoder(c: &ModelConfig, e: Encoder) -> Architecture {
    let (d, v) = (c.hidden_size, c.vocab_size);
    let n = norm(c.norm, d);
    // every layer's eager scores get a mask added (the window's, or the padding one)
    let attn = Cost {
        kv_per_token: 0,
        kv_window_per_token: 0,
        window: 0,
        ..self_attention(c, None, 0)
    }
    .saves(Activations {
        masked_score_heads: c.num_heads,
        ..Activations::ZERO
    });
    let mut mlp = dense_mlp(c, c.intermediate_size, None, false);
    let mut attn = attn;
    if c.dropout {
        // `attn.out_drop` and `mlp.drop` (before `Wo`): counted when any dropout is on, an
        // over-estimate when only some probabilities are
        attn = attn.add(dropout(d));
        mlp = mlp.add(dropout(c.intermediate_size));
    }
    let first = Parts::new()
        .push("attn", "Attention", attn)
        .push("mlp_norm", "Norm", n)
        .push("mlp", "Mlp", mlp);
    let layer = Parts::new()
        .push("attn_norm", "Norm", n)
        .push("attn", "Attention", attn)
        .push("mlp_norm", "Norm", n)
        .push("mlp", "Mlp", mlp);
    let empty = Parts::new();
    let blocks = [first, layer, empty, empty];
    let mut top = Parts::new()
        .push("tok_embeddings", "Embedding", embedding(v, d))
        .push("norm", "Norm", n);
    if c.dropout {
        top = top.push("drop", "Dropout", dropout(d));
    }
    if c.sliding_layers > 0 {
        // the local window's `[b, 1, s, s]` mask, built once per forward and handed to every
        // sliding layer's SDPA, which keeps it (measured, tests/fixtures/memory-families.json)
        top = top.push(
            "sliding_window_mask",
            "Mask",
            Cost::ZERO.saves(Activations {
                mask_maps: 1,
                ..Activations::ZERO
            }),
        );
    }
    let mut top = top
        .repeat("layers.0", "Layer", &first, 0, 1)
        .repeat("layers", "Layer", &layer, 1, c.num_layers - 1)
        .push("final_norm", "Norm", n);
    if let Positions::Rotary { dim, tables } = c.positions {
        top = top.push("rotary_emb", "Rotary", rotary_buffers(dim, tables));
    }
    let bias = matches!(e.pre_norm, Some(true));
    let predict = linear(d, d, bias).add(activation(c.mlp.act, d)).add(n);
    let top = match c.head {
        // (ModernBERT has no `*ForPreTraining`: the reader refuses it)
        Head::LanguageModel | Head::PreTraining => {
            let w = linear(d, v, false);
            let w = if c.tie_word_embeddings { w.tied() } else { w };
            let decoder = if c.head_bias {
                w.add(Cost::parameter(&[v]))
            } else {
                w
            };
            top.push("head", "PredictionHead", predict).push(
                "decoder",
                "Linear",
                decoder.widths(d, v),
            )
        }
        Head::None => top,
        Head::SequenceClassification(k) | Head::TokenClassification(k) => top
            .push("head", "PredictionHead", predict)
            .push("classifier", "Linear", linear(d, k, true)),
        Head::QuestionAnswering => top.push("head", "PredictionHead", predict).push(
            "classifier",
            "Linear",
            linear(d, 2, true),
        ),
    };
    Architecture { top, blocks }
}

/// An encoder layer's self-attention, up to its output norm: q, k, v and the output
/// projection around the core (nothing cached), the output dropout, and DeBERTa's disentangled
/// terms and position projections.
const fn encoder_attention(c: &ModelConfig, e: Encoder) -> Cost {
    let (d, h) = (c.hidden_size, c.num_heads);
    // an encoder reads its whole input at once: nothing is cached
    let core = Cost {
        kv_per_token: 0,
        ..attention_core_with(h, h, d / h, 0, false)
    };
    let mut attention = linear(d, d, true)
        .add(linear(d, d, true).shares_input())
        .add(linear(d, d, true).shares_input())
        .add(core)
        .add(linear(d, d, true));
    if e.out_dropout {
        attention = attention.add(dropout(d));
    }
    if e.deberta.is_some() {
        // no fused kernel in transformers: eager whatever the plan names
        attention = Cost {
            eager_attention: true,
            ..attention
        };
    }
    if let Some(db) = e.deberta
        && db.rel_rows > 0
    {
        // the disentangled terms, per layer (measured, tests/fixtures/memory-families.json):
        // c2p scores `Q·pos_keyᵀ` and p2c `K·pos_queryᵀ` of `[b·h, s, 2R]` before their
        // gathers, the key kept again for p2c, the relative table after its dropout, the
        // projected table repeated over the batch (`[b·h, 2R, d]` per term), an int64 `[s, s]`
        // gather index per term, and the boolean mask of `masked_fill`
        let terms = db.c2p as u64 + db.p2c as u64;
        attention = attention.saves(Activations {
            attention_per_token: terms * h * db.rel_rows + if db.p2c { d } else { 0 },
            per_sample: terms * db.rel_rows * d,
            per_step: db.rel_rows * d,
            step_square_bytes: terms * 8,
            square_bytes: 1,
            ..Activations::ZERO
        });
    }
    if let Some(db) = e.deberta
        && db.rel_rows > 0
        && !db.share_att_key
    {
        // `pos_key_proj` (c2p) and `pos_query_proj` (p2c) project the relative table, not the
        // hidden states: parameters only here
        let n = db.c2p as u64 + db.p2c as u64;
        attention = attention.add(
            Cost::parameter(&[d, d])
                .matmul()
                .add(Cost::parameter(&[d]))
                .times(n),
        );
    }
    attention
}

/// DeBERTa's parts after the layers: the relative table, its norm, the convolution.
const fn deberta_encoder_parts(top: Parts, db: Deberta, d: u64) -> Parts {
    let mut top = top;
    if db.rel_rows > 0 {
        top = top.push(
            "rel_embeddings",
            "Embedding",
            Cost::parameter(&[db.rel_rows, d]),
        );
    }
    if db.rel_norm {
        top = top.push("LayerNorm", "Norm", layer_norm(d, true));
    }
    if db.conv_kernel > 0 {
        top = top.push(
            "conv",
            "ConvLayer",
            conv(1, d, d, db.conv_kernel, 1, true, db.conv_groups)
                .add(layer_norm(d, true))
                .add(dropout(d)),
        );
    }
    top
}

/// DeBERTa's embeddings: words (and, with `position_biased_input`, absolute positions; token
/// types when `type_vocab_size > 0`) at the embedding width, a bias-free `embed_proj` to the
/// hidden size when they differ, then the norm and dropout at the hidden size; one
/// `position_ids` buffer.
const fn deberta_embeddings(
    c: &ModelConfig,
    e: Encoder,
    db: Deberta,
    rows: u64,
    tokens: u64,
) -> Cost {
    let (d, w) = (c.hidden_size, e.embedding_size);
    let mut emb = embedding(c.vocab_size, w);
    if db.absolute {
        emb = emb.add(embedding(rows, w).positions(tokens));
    }
    if e.type_vocab_size > 0 {
        emb = emb.add(embedding(e.type_vocab_size, w));
    }
    if w != d {
        emb = emb.add(linear(w, d, false));
    }
    emb.add(layer_norm(d, true))
        .add(dropout(d))
        .add(Cost::buffer(rows, 8))
}
