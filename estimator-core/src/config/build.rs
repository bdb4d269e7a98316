//! A [`ModelConfig`] as named parts, built from the shared layer costs: one recipe for every
//! decoder family (norm kind and placement, attention variant, dense or gated MLP, mixture of
//! experts, per-layer pattern, head), and one for the encoders in BERT's layout.

use super::{
    Act, Architecture, Deberta, Encoder, Head, Layout, Lora, LoraTargets, ModelConfig, Norm, Parts,
    Positions, Pretraining, QkNorm, ScoreCorrection, Seq2Seq, Ssm, Vision,
};
use crate::cost::{Activations, Cost};
use crate::layers::{
    ScanPath, attention, attention_core_with, audio_front_end, conv, cross_attention_with, dropout,
    embedding, encoder_output, fused_expert, gated, gated_feed_forward, keeps_input, keeps_output,
    latent_attention, layer_norm, linear, lora, mamba_mixer, mamba2_mixer, new_gelu,
    non_parametric_norm, per_row, rms_norm, stacked_moe,
};

pub(super) const fn architecture(c: &ModelConfig, lora: Option<Lora>) -> Architecture {
    if let Some(v) = c.vision {
        return vision(c, v);
    }
    if let Some(s) = c.ssm {
        return ssm_model(c, s);
    }
    match (c.encoder, c.seq2seq) {
        (_, Some(s)) => seq2seq(c, s),
        (Some(e), None) if e.pre_norm.is_some() => modern_encoder(c, e),
        (Some(e), None) => encoder(c, e),
        (None, None) => decoder(c, lora),
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
                textbook_replicated_per_token: 2 * d,
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
    // a fused kernel keeps its output for its own backward, the tensor the output projection
    // keeps for its weight's gradient; a frozen projection (LoRA not on it) keeps none, so the
    // kernel's counts here (measured: peft LoRA on q and v, tests/fixtures/memory-settings.json)
    let partial = matches!(rotary, Some(dim) if dim < hd);
    let kernel_output = if frozen && !t.o && !partial {
        h * hd
    } else {
        0
    };
    let core = attention_core_with(h, core_kv, hd, window, a.softmax_fp32).saves(Activations {
        flash_per_token: flash_extra + kernel_output,
        score_cap_heads: if a.softcap { h } else { 0 },
        ..Activations::ZERO
    });
    qkv.replicated()
        .add(freeze(
            qk_norms(a.qk_norm, a.qk_norm_kind, h, kv, hd),
            frozen,
        ))
        .add(sinks)
        .add(core)
        .add(proj(h * hd, d, a.o_bias, t.o, r, frozen))
        .saves(output_mask(d))
        .widths(d, d)
}

/// Korthikanti et al.'s dropout mask after a block's output projection: one byte per element in
/// the textbook account, replicated under tensor parallelism (the pieces `attention` and
/// `gated` are built from count it the same way).
const fn output_mask(d: u64) -> Activations {
    Activations {
        textbook_per_token: d,
        textbook_replicated_per_token: d,
        ..Activations::ZERO
    }
}

/// The activation between an MLP's projections, over `w` features.
const fn activation(act: Act, w: u64) -> Cost {
    match act {
        Act::Fused | Act::ClampedSwiGlu => keeps_input(w),
        Act::NewGelu => new_gelu(w),
        Act::Relu => keeps_output(w),
        // inference: its input, the sigmoid and the product at once
        Act::QuickGelu => keeps_input(2 * w).widths(w, w).live(3 * w),
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
            .replicated()
            .add(activation(m.act, w))
            .add(proj(w, d, m.bias, t.down, r, frozen))
            .saves(output_mask(d));
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
    // inference: beside a part's own tensors, the model's embedding output (alive through the
    // forward), the block's input (held by the loop over the layers) and, while the MLP runs,
    // the residual after attention (measured in the tiny Llama's 2048-token prefill)
    let attn = attn.score_live(attn.live_per_token + 2 * d);
    let mlp = mlp.live(mlp.live_per_token + 3 * d);
    let mlp_kind = if sparse { "Moe" } else { "Mlp" };
    match c.layout {
        Layout::PreNorm => Parts::of(&[
            ("input_layernorm", "Norm", n),
            ("self_attn", "Attention", attn),
            ("post_attention_layernorm", "Norm", n),
            ("mlp", mlp_kind, mlp),
        ]),
        Layout::Parallel { norms } => {
            let mut p = Parts::of(&[
                ("input_layernorm", "Norm", n),
                ("self_attn", "Attention", attn),
            ]);
            if norms >= 2 {
                p.push(
                    "post_attention_layernorm",
                    "Norm",
                    freeze(second_norm(c.norm, d), frozen),
                );
            }
            p.push("mlp", mlp_kind, mlp);
            p
        }
        Layout::PostNorm => Parts::of(&[
            ("self_attn", "Attention", attn),
            ("post_attention_layernorm", "Norm", n),
            ("mlp", mlp_kind, mlp),
            ("post_feedforward_layernorm", "Norm", n),
        ]),
        Layout::Sandwich => {
            let mut p = Parts::of(&[
                ("input_layernorm", "Norm", n),
                ("self_attn", "Attention", attn),
                ("post_attention_layernorm", "Norm", n),
            ]);
            p.extend(&[
                ("pre_feedforward_layernorm", "Norm", n),
                ("mlp", mlp_kind, mlp),
                ("post_feedforward_layernorm", "Norm", n),
            ]);
            p
        }
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
    let mut top = Parts::new();
    top.push("embed_tokens", "Embedding", freeze(embedding(v, d), frozen));
    // a table of positions bounds the sequence: `max_positions` rows past any offset
    let limit = c.max_positions;
    match c.positions {
        Positions::Learned { rows } => {
            top.push(
                "embed_positions",
                "Embedding",
                freeze(embedding(rows, d), frozen).positions(limit),
            );
        }
        Positions::Sinusoidal { rows } => {
            top.push(
                "embed_positions",
                "Buffer",
                Cost::buffer(rows * d, 4).positions(limit),
            );
        }
        Positions::RotaryTable { dim } => {
            top.push(
                "embed_positions",
                "Buffer",
                Cost::buffer(c.max_positions * dim, 4).positions(limit),
            );
        }
        Positions::Rotary { .. } | Positions::None => {}
    }
    if c.causal_mask {
        top.push(
            "causal_mask",
            "Buffer",
            Cost::buffer(c.max_positions * c.max_positions, 1),
        );
    }
    if c.embed_scale {
        top.push("normalizer", "Buffer", Cost::buffer(1, 4));
    }
    if c.embed_norm {
        top.push("embed_layernorm", "Norm", freeze(norm(c.norm, d), frozen));
    }
    if c.resid_dropout {
        top.push("drop", "Dropout", dropout(d));
    }
    let names = [
        "layers",
        "sliding_layers",
        "moe_layers",
        "sliding_moe_layers",
    ];
    let mut i = 0;
    while i < 4 {
        top.repeat(names[i], "Block", &blocks[i], i, counts[i]);
        i += 1;
    }
    top.push("norm", "Norm", freeze(norm(c.norm, d), frozen));
    if let Positions::Rotary { dim, tables } = c.positions {
        top.push("rotary_emb", "Rotary", rotary_buffers(dim, tables));
    }
    head(c, &mut top, frozen);
    // eager attention's causal mask, and the sliding layers' own
    let masks = if c.sliding_layers > 0 && c.sliding_layers < c.num_layers {
        2
    } else {
        1
    };
    let last = top.len - 1;
    top.items[last].cost = Cost {
        eager_masks: masks,
        ..top.items[last].cost
    };
    Architecture { top, blocks }
}

/// Appends to `top` the head `architectures[0]` names.
const fn head(c: &ModelConfig, top: &mut Parts, frozen: bool) {
    let (d, v) = (c.hidden_size, c.vocab_size);
    match c.head {
        Head::LanguageModel | Head::PreTraining => {
            // vocabulary-parallel: its input, the final norm's output, is whole on every GPU
            let w = freeze(linear(d, v, false).replicated().unquantized(), frozen);
            let w = if c.tie_word_embeddings { w.tied() } else { w };
            // the bias is a parameter of its own; the head's output is still the logits
            let head = if c.head_bias {
                w.add(freeze(Cost::parameter(&[v]), frozen)).widths(d, v)
            } else {
                w
            };
            let head = match c.head {
                // generation keeps the logits of the tokens the plan says
                Head::LanguageModel if c.encoder.is_none() => head.generates(d),
                _ => head,
            };
            top.push("lm_head", "Linear", head);
        }
        Head::None => {}
        // the last module: left unquantized (`get_keys_to_not_convert`)
        Head::SequenceClassification(n) => {
            top.push("score", "Linear", linear(d, n, false).unquantized());
        }
        Head::TokenClassification(n) => top.extend(&[
            ("dropout", "Dropout", dropout(d)),
            ("score", "Linear", linear(d, n, true).unquantized()),
        ]),
        Head::QuestionAnswering => {
            top.push("qa_outputs", "Linear", linear(d, 2, true).unquantized());
        }
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
    let block = Parts::of(&[
        ("attention", "Attention", attention),
        ("ffn", "FeedForward", ffn),
    ]);
    let empty = Parts::new();
    let blocks = [block, empty, empty, empty];
    let mut top = Parts::of(&[("embeddings", "Embeddings", embeddings)]);
    if w != d && e.deberta.is_none() {
        top.push("embeddings_project", "Linear", linear(w, d, true));
    }
    top.repeat("encoder", "Layer", &block, 0, c.num_layers);
    if let Some(db) = e.deberta {
        deberta_encoder_parts(&mut top, db, d);
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
    match c.head {
        Head::LanguageModel => top.push("lm_head", "MaskedLmHead", mlm),
        Head::None if e.pooler => top.push("pooler", "Linear", pooler),
        Head::None => {}
        Head::PreTraining => match e.pretraining {
            Pretraining::NextSentence => top.extend(&[
                ("pooler", "Linear", pooler),
                ("cls", "PreTrainingHeads", mlm.add(linear(d, 2, true))),
            ]),
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
        Head::SequenceClassification(n) => top.extend(&[
            ("pooler", "Linear", pooler),
            ("dropout", "Dropout", dropout(d)),
            ("classifier", "Linear", linear(d, n, true).unquantized()),
        ]),
        Head::TokenClassification(n) => top.extend(&[
            ("dropout", "Dropout", dropout(d)),
            ("classifier", "Linear", linear(d, n, true).unquantized()),
        ]),
        Head::QuestionAnswering => {
            top.push("qa_outputs", "Linear", linear(d, 2, true).unquantized());
        }
    }
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
        kv_layers: 0,
        kv_window_layers: 0,
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
    let first = Parts::of(&[
        ("attn", "Attention", attn),
        ("mlp_norm", "Norm", n),
        ("mlp", "Mlp", mlp),
    ]);
    let layer = Parts::of(&[
        ("attn_norm", "Norm", n),
        ("attn", "Attention", attn),
        ("mlp_norm", "Norm", n),
        ("mlp", "Mlp", mlp),
    ]);
    let empty = Parts::new();
    let blocks = [first, layer, empty, empty];
    let mut top = Parts::of(&[
        ("tok_embeddings", "Embedding", embedding(v, d)),
        ("norm", "Norm", n),
    ]);
    if c.dropout {
        top.push("drop", "Dropout", dropout(d));
    }
    if c.sliding_layers > 0 {
        // the local window's `[b, 1, s, s]` mask, built once per forward and handed to every
        // sliding layer's SDPA, which keeps it (measured, tests/fixtures/memory-families.json)
        top.push(
            "sliding_window_mask",
            "Mask",
            Cost::ZERO.saves(Activations {
                mask_maps: 1,
                ..Activations::ZERO
            }),
        );
    }
    top.repeat("layers.0", "Layer", &first, 0, 1);
    top.repeat("layers", "Layer", &layer, 1, c.num_layers - 1);
    top.push("final_norm", "Norm", n);
    if let Positions::Rotary { dim, tables } = c.positions {
        top.push("rotary_emb", "Rotary", rotary_buffers(dim, tables));
    }
    let bias = matches!(e.pre_norm, Some(true));
    let predict = linear(d, d, bias).add(activation(c.mlp.act, d)).add(n);
    match c.head {
        // (ModernBERT has no `*ForPreTraining`: the reader refuses it)
        Head::LanguageModel | Head::PreTraining => {
            let w = linear(d, v, false);
            let w = if c.tie_word_embeddings { w.tied() } else { w };
            let decoder = if c.head_bias {
                w.add(Cost::parameter(&[v]))
            } else {
                w
            };
            top.extend(&[
                ("head", "PredictionHead", predict),
                ("decoder", "Linear", decoder.widths(d, v)),
            ]);
        }
        Head::None => {}
        Head::SequenceClassification(k) | Head::TokenClassification(k) => top.extend(&[
            ("head", "PredictionHead", predict),
            ("classifier", "Linear", linear(d, k, true)),
        ]),
        Head::QuestionAnswering => top.extend(&[
            ("head", "PredictionHead", predict),
            ("classifier", "Linear", linear(d, 2, true)),
        ]),
    }
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
        kv_layers: 0,
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
const fn deberta_encoder_parts(top: &mut Parts, db: Deberta, d: u64) {
    if db.rel_rows > 0 {
        top.push(
            "rel_embeddings",
            "Embedding",
            Cost::parameter(&[db.rel_rows, d]),
        );
    }
    if db.rel_norm {
        top.push("LayerNorm", "Norm", layer_norm(d, true));
    }
    if db.conv_kernel > 0 {
        top.push(
            "conv",
            "ConvLayer",
            conv(1, d, d, db.conv_kernel, 1, true, db.conv_groups)
                .add(layer_norm(d, true))
                .add(dropout(d)),
        );
    }
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

/// The attention core of an encoder–decoder layer over `h` heads of `hd`: what it keeps of its
/// scores depends on their dtype — T5 adds its fp32 position bias, so its probabilities stay
/// fp32 into their dropout; BART's and Whisper's decoder add an fp32 causal mask, so their
/// softmax runs in fp32; an encoder's and cross-attention's scores, with no mask, keep the
/// activation dtype (measured: `tests/fixtures/memory-families.json`). With Whisper's
/// contiguous heads a fused kernel's output is copied for the output projection.
const fn s2s_core(s: &Seq2Seq, h: u64, hd: u64, masked: bool) -> Activations {
    let w = h * hd;
    let core = attention_core_with(h, h, hd, 0, true).act;
    let t5 = s.relative_buckets > 0;
    Activations {
        score_dropout_heads: if s.attention_dropout { h } else { 0 },
        score_dtype_heads: if masked { 0 } else { h },
        score_f32_dropout_heads: if t5 && masked && s.attention_dropout {
            h
        } else {
            0
        },
        flash_per_token: if s.contiguous_heads { w } else { 0 },
        ..core
    }
}

/// An encoder–decoder's self-attention over `h` heads: q, k, v (reading one input) and o around
/// the core; the decoder's caches its keys and values; T5's first layer of each stack holds the
/// relative position table (`buckets × h`) and keeps its int64 bucket indices, `[q, k]` once
/// per step.
const fn s2s_self_attention(
    c: &ModelConfig,
    s: &Seq2Seq,
    h: u64,
    decoder: bool,
    buckets: u64,
) -> Cost {
    let d = c.hidden_size;
    let hd = if decoder {
        c.head_dim
    } else {
        s.encoder_head_dim
    };
    let w = h * hd;
    let a = &c.attention;
    let mut kept = true;
    let q = linear(d, w, a.qkv_bias);
    let k = share(linear(d, w, s.key_bias), &mut kept);
    let v = share(linear(d, w, a.qkv_bias), &mut kept);
    let masked = decoder || s.relative_buckets > 0;
    let core = Cost::ZERO
        .saves(s2s_core(s, h, hd, masked))
        .attends(h, h)
        .widths(w, w)
        .live(3 * w);
    let core = if decoder { core.caches(2 * w, 0) } else { core };
    let mut attn = q.add(k).add(v).add(core).add(linear(w, d, a.o_bias));
    if buckets > 0 {
        attn = attn.add(Cost::parameter(&[buckets, h]).saves(Activations {
            step_square_bytes: 8,
            bias_heads: h,
            ..Activations::ZERO
        }));
    }
    // inference: the input, its norm and the residual beside q, k and v (measured at the
    // encoder's peak, inside self-attention)
    attn.widths(d, d).live(3 * d + 3 * w)
}

/// Cross-attention of a decoder layer over `h` heads (see [`cross_attention_with`]): scores
/// with no mask, Whisper's copied kernel output.
const fn cross_attention(c: &ModelConfig, s: &Seq2Seq, h: u64) -> Cost {
    let (d, hd) = (c.hidden_size, c.head_dim);
    cross_attention_with(
        d,
        d,
        h,
        hd,
        (c.attention.qkv_bias, s.key_bias),
        s2s_core(s, h, hd, false),
    )
}

/// An encoder–decoder's feed-forward block of width `f`: T5's `wi` (or gated `wi_0`, `wi_1`)
/// and `wo` with its dropout before `wo`, BART's and Whisper's `fc1` and `fc2` (their
/// `activation_dropout`, zero by default, keeps nothing).
const fn s2s_mlp(c: &ModelConfig, s: &Seq2Seq, f: u64) -> Cost {
    let (d, m) = (c.hidden_size, &c.mlp);
    let up = linear(d, f, m.bias);
    let inner = if s.activation_dropout {
        dropout(f)
    } else {
        Cost::ZERO
    };
    if m.gated {
        // gelu_new of wi_0's output, its product with wi_1's (both kept), then the dropout,
        // whose output wo keeps
        let gate = up.add(linear(d, f, m.bias).shares_input());
        return gate
            .add(activation(m.act, f))
            .add(keeps_input(2 * f))
            .add(inner)
            .add(linear(f, d, m.bias))
            .widths(d, d)
            .live(d + 4 * f);
    }
    // ReLU keeps its output; with a dropout after it, wo keeps the dropout's output too
    let inner = if s.activation_dropout {
        inner.saves(Activations {
            dropout_per_token: f,
            ..Activations::ZERO
        })
    } else {
        inner
    };
    up.add(activation(m.act, f))
        .add(inner)
        .add(linear(f, d, m.bias))
        .widths(d, d)
}

/// One encoder–decoder layer: self-attention (and, in the decoder, cross-attention), the
/// feed-forward block, a norm for each (before it, or after the residual sum in BART's
/// post-norm layers), and the residual dropouts.
const fn s2s_layer(c: &ModelConfig, s: &Seq2Seq, decoder: bool, buckets: u64) -> Parts {
    let d = c.hidden_size;
    let (h, f) = if decoder {
        (c.num_heads, c.intermediate_size)
    } else {
        (s.encoder_heads, s.encoder_ffn)
    };
    let n = norm(c.norm, d);
    let residual = if s.hidden_dropout {
        dropout(d)
    } else {
        Cost::ZERO
    };
    let attn = s2s_self_attention(c, s, h, decoder, buckets).add(residual);
    let cross = cross_attention(c, s, h).add(residual);
    let mlp = s2s_mlp(c, s, f).add(residual);
    let mut p = Parts::new();
    if s.post_norm {
        p.extend(&[
            ("self_attn", "Attention", attn),
            ("self_attn_layer_norm", "Norm", n),
        ]);
        if decoder {
            p.extend(&[
                ("encoder_attn", "CrossAttention", cross),
                ("encoder_attn_layer_norm", "Norm", n),
            ]);
        }
        p.extend(&[("mlp", "Mlp", mlp), ("final_layer_norm", "Norm", n)]);
    } else {
        p.extend(&[
            ("self_attn_layer_norm", "Norm", n),
            ("self_attn", "Attention", attn),
        ]);
        if decoder {
            p.extend(&[
                ("encoder_attn_layer_norm", "Norm", n),
                ("encoder_attn", "CrossAttention", cross),
            ]);
        }
        p.extend(&[("final_layer_norm", "Norm", n), ("mlp", "Mlp", mlp)]);
    }
    p
}

/// A dropout over the residual stream (the embeddings, a stack's output), whose mask takes
/// the stream's dtype on CPU.
const fn residual_dropout(d: u64) -> Cost {
    Cost::ZERO
        .saves(Activations {
            residual_mask_per_token: d,
            ..Activations::ZERO
        })
        .widths(d, d)
}

/// `c` run over the source (see [`Cost::encodes`]) unless the model is an encoder alone.
const fn on_source(c: Cost, source: bool) -> Cost {
    if source { c.encodes() } else { c }
}

/// An embedding's int64 indices, `rows` per token (token ids; BART's and Whisper's position
/// ids), kept by its backward: 8 bytes each, two fp32-sized elements.
const fn indices(rows: u64) -> Activations {
    Activations {
        f32_per_token: 2 * rows,
        ..Activations::ZERO
    }
}

/// The encoder's parts, over the source: its token table (the shared one; Marian's own; each
/// stack's own when untied) or Whisper's convolutions over mel frames, positions, embedding
/// norm and dropout, the layers, the final norm.
const fn encoder_parts(c: &ModelConfig, s: &Seq2Seq, top: &mut Parts, blocks: &[Parts; 4]) {
    let (d, v) = (c.hidden_size, c.vocab_size);
    let source = !s.encoder_only;
    let table = embedding(v, d).saves(indices(1));
    if s.mel_bins > 0 {
        // two convolutions of kernel 3 (the second of stride 2), each followed by GELU
        top.push(
            "encoder.conv",
            "AudioFrontEnd",
            on_source(audio_front_end(s.mel_bins, d), source),
        );
    } else if s.source_vocab > 0 {
        top.push(
            "encoder.embed_tokens",
            "Embedding",
            on_source(embedding(s.source_vocab, d).saves(indices(1)), source),
        );
    } else if s.untied_stacks && !c.tie_word_embeddings && !s.encoder_only {
        // transformers 5 unties every use of `shared`: each stack has its own table, and
        // `shared` gets no gradient (nor optimizer state)
        top.push("shared", "Embedding", embedding(v, d).frozen());
        top.push(
            "encoder.embed_tokens",
            "Embedding",
            on_source(table, source),
        );
    } else {
        top.push("shared", "Embedding", on_source(table, source));
    }
    if s.source_rows > 0 {
        let pos = freeze(embedding(s.source_rows, d), s.frozen_source_positions);
        let pos = if s.mel_bins > 0 {
            on_source(pos, source).fixed_source(s.source_rows)
        } else {
            // BART's table has two rows before the first position; its int64 position ids
            // are kept per token
            on_source(pos.saves(indices(1)).positions(c.max_positions), source)
        };
        top.push("encoder.embed_positions", "Embedding", pos);
    }
    if s.embed_norms {
        top.push(
            "encoder.layernorm_embedding",
            "Norm",
            on_source(norm(c.norm, d), source),
        );
    }
    if s.hidden_dropout {
        top.push(
            "encoder.dropout",
            "Dropout",
            on_source(residual_dropout(d), source),
        );
    }
    let split = s.relative_buckets > 0 && !s.relative_every_layer;
    if split {
        top.repeat("encoder.block.0", "Layer", &blocks[0], 0, 1);
        top.repeat(
            "encoder.block",
            "Layer",
            &blocks[1],
            1,
            s.encoder_layers - 1,
        );
    } else {
        top.repeat("encoder.layers", "Layer", &blocks[1], 1, s.encoder_layers);
    }
    let mut i = top.len - if split { 2 } else { 1 };
    while i < top.len {
        top.items[i].cost = on_source(top.items[i].cost, source);
        i += 1;
    }
    if !s.post_norm {
        let mut last = norm(c.norm, d);
        if s.hidden_dropout {
            // T5's final dropout
            last = last.add(residual_dropout(d));
        }
        top.push("encoder.final_layer_norm", "Norm", on_source(last, source));
    }
}

/// An encoder–decoder (T5, BART, Marian, Pegasus, Whisper): the token table, the encoder over
/// the source, the decoder with cross-attention to the encoder's output, and the head.
#[allow(
    clippy::large_stack_arrays,
    reason = "four blocks of named parts, built once per estimate"
)]
const fn seq2seq(c: &ModelConfig, s: Seq2Seq) -> Architecture {
    let (d, v) = (c.hidden_size, c.vocab_size);
    let relative = s.relative_buckets;
    let every = if s.relative_every_layer { relative } else { 0 };
    let blocks = [
        s2s_layer(c, &s, false, relative),
        s2s_layer(c, &s, false, every),
        s2s_layer(c, &s, true, relative),
        s2s_layer(c, &s, true, every),
    ];
    let mut top = Parts::new();
    encoder_parts(c, &s, &mut top, &blocks);
    if s.encoder_only {
        return Architecture { top, blocks };
    }
    // the decoder: its embeddings (the shared table, tied, unless it has its own)
    let own_table =
        s.mel_bins > 0 || s.source_vocab > 0 || (s.untied_stacks && !c.tie_word_embeddings);
    let ids = Cost::ZERO.saves(indices(1));
    if own_table {
        top.push(
            "decoder.embed_tokens",
            "Embedding",
            embedding(v, d).saves(indices(1)),
        );
    } else {
        top.push("decoder.embed_tokens", "Indices", ids);
    }
    if let Positions::Learned { rows } = c.positions {
        // position ids: per token (Whisper), once per step for BART's `[1, s]` (counted per
        // token here, at most 8·(b − 1)·s bytes over)
        top.push(
            "decoder.embed_positions",
            "Embedding",
            freeze(embedding(rows, d), s.frozen_target_positions)
                .saves(indices(1))
                .positions(c.max_positions),
        );
    }
    if s.embed_norms {
        top.push("decoder.layernorm_embedding", "Norm", norm(c.norm, d));
    }
    if s.hidden_dropout {
        top.push("decoder.dropout", "Dropout", residual_dropout(d));
    }
    // the encoder's output, read by every decoder layer's k and v projections
    top.push(
        "encoder_output",
        "EncoderOutput",
        encoder_output(d, 2 * c.num_layers),
    );
    if relative > 0 && !s.relative_every_layer {
        top.repeat("decoder.block.0", "Layer", &blocks[2], 2, 1);
        top.repeat("decoder.block", "Layer", &blocks[3], 3, c.num_layers - 1);
    } else {
        top.repeat("decoder.layers", "Layer", &blocks[3], 3, c.num_layers);
    }
    if !s.post_norm {
        let mut last = norm(c.norm, d);
        if s.hidden_dropout {
            last = last.add(residual_dropout(d));
        }
        top.push("decoder.final_layer_norm", "Norm", last);
    }
    match c.head {
        Head::SequenceClassification(n) => top.push(
            "classification_head",
            "Linear",
            linear(d, d, true).add(dropout(d)).add(linear(d, n, true)),
        ),
        Head::LanguageModel => {
            let w = linear(d, v, false).unquantized();
            top.push(
                "lm_head",
                "Linear",
                if c.tie_word_embeddings { w.tied() } else { w }.generates(d),
            );
            if s.final_logits_bias {
                // added to the logits in place: the model's output is still the vocabulary
                top.push(
                    "final_logits_bias",
                    "Buffer",
                    Cost {
                        input: v,
                        output: v,
                        ..Cost::buffer(v, 4)
                    },
                );
            }
        }
        _ => {}
    }
    Architecture { top, blocks }
}

/// `c` applied to one token per sample (a head over the class token): what it keeps per token
/// is kept once per sample.
const fn per_sample(c: Cost) -> Cost {
    let a = c.act;
    Cost {
        act: Activations {
            per_sample: a.per_token + a.weight_input_per_token,
            textbook_per_token: 0,
            ..Activations::ZERO
        },
        live_per_token: 0,
        ..c
    }
}

/// A vision transformer (ViT, CLIP's vision tower): the patch convolution (which keeps the
/// image, per sample), the class token and the learned positions of the patches and the class
/// token (exactly that many tokens), pre-norm layers of attention (nothing cached) and an MLP,
/// the final norm (CLIP's over the class token only), and the head over the class token.
#[allow(
    clippy::large_stack_arrays,
    reason = "four blocks of named parts, built once per estimate"
)]
const fn vision(c: &ModelConfig, v: Vision) -> Architecture {
    let (d, h, f) = (c.hidden_size, c.num_heads, c.intermediate_size);
    let n = c.max_positions;
    let a = &c.attention;
    let pixels = v.channels * v.image_size * v.image_size;
    let patches = conv(2, v.channels, d, v.patch_size, v.patch_size, !v.clip, 1);
    let patches = Cost {
        act: Activations {
            per_sample: pixels,
            ..Activations::ZERO
        },
        live_per_token: 0,
        ..patches
    };
    let (class, positions) = if v.clip {
        (
            Cost::parameter(&[d]),
            embedding(n, d).add(Cost::buffer(n, 8)),
        )
    } else {
        (Cost::parameter(&[1, 1, d]), Cost::parameter(&[1, n, d]))
    };
    let mut embeddings = patches.add(class).add(positions).widths(0, d);
    if c.dropout {
        embeddings = embeddings.add(dropout(d));
    }
    embeddings = embeddings.fixed_length(n);
    // attention over the whole image: q, k, v (one input) and o, nothing cached
    let hd = d / h;
    let mut kept = true;
    let q = linear(d, d, a.qkv_bias);
    let k = share(linear(d, d, a.qkv_bias), &mut kept);
    let v_proj = share(linear(d, d, a.qkv_bias), &mut kept);
    let core = Cost {
        kv_per_token: 0,
        kv_layers: 0,
        ..attention_core_with(h, h, hd, 0, a.softmax_fp32)
    };
    // inference, at the output's head-major copy (measured in ViT's eager forward): the
    // block's input, its norm, q, k, v, the attention output, its copy and one more
    // residual-width tensor beside the probabilities; with eager attention the estimate adds
    // the scores and their softmax, at most 2·d per token over the moment before the copy
    let mut attn = q
        .add(k)
        .add(v_proj)
        .add(core)
        .add(linear(d, d, a.o_bias))
        .widths(d, d)
        .live(7 * d);
    let mut mlp = dense_mlp(c, f, None, false);
    if c.dropout {
        attn = attn.add(dropout(d));
        mlp = mlp.add(dropout(d));
    }
    let n_norm = norm(c.norm, d);
    let layer = Parts::of(&[
        ("layernorm_before", "Norm", n_norm),
        ("attention", "Attention", attn),
        ("layernorm_after", "Norm", n_norm),
        ("mlp", "Mlp", mlp),
    ]);
    let empty = Parts::new();
    let blocks = [layer, empty, empty, empty];
    let mut top = Parts::of(&[("embeddings", "PatchEmbeddings", embeddings)]);
    if v.clip {
        top.push("pre_layrnorm", "Norm", n_norm);
    }
    top.repeat("layers", "Layer", &blocks[0], 0, c.num_layers);
    // The heads read the class token, `[:, 0]`: a view whose storage — every token's — is what
    // the next operation keeps (measured: ViT's classifier keeps the final norm's whole output)
    if v.clip {
        // over the class token: keeps the last layer's whole output (and per-sample statistics)
        let post = Cost {
            act: Activations {
                residual_per_token: d,
                ..Activations::ZERO
            },
            ..n_norm
        };
        top.push("post_layernorm", "Norm", post);
    } else {
        top.push("layernorm", "Norm", n_norm);
    }
    // the heads' outputs are per image (the class token's): no per-token logits
    if v.pooler > 0 {
        top.push("pooler", "Linear", linear(d, v.pooler, true).widths(d, 0));
    }
    if v.projection > 0 {
        // reads the post-layernorm's own per-sample output
        top.push(
            "visual_projection",
            "Linear",
            per_sample(linear(d, v.projection, false)).widths(d, 0),
        );
    }
    if let Head::SequenceClassification(k) = c.head {
        top.push("classifier", "Linear", linear(d, k, true).widths(d, 0));
    }
    Architecture { top, blocks }
}

/// A state-space mixer of the config (Mamba's or Mamba-2's), run by the kernels the config
/// says: the fused functions (Mamba, Mamba-2), the split ones (the hybrids), or the reference.
const fn mixer(c: &ModelConfig, s: &Ssm) -> Cost {
    let d = c.hidden_size;
    let path = if !s.kernels {
        ScanPath::Reference
    } else if s.mixer_only {
        ScanPath::Fused
    } else {
        ScanPath::Split
    };
    if s.heads > 0 {
        mamba2_mixer(
            d,
            s.inner,
            s.heads,
            s.groups,
            s.state,
            s.conv,
            s.chunk,
            (s.proj_bias, s.conv_bias),
            path,
        )
    } else {
        mamba_mixer(
            d,
            s.inner,
            s.state,
            s.conv,
            s.dt_rank,
            (s.proj_bias, s.conv_bias, s.dt_norms),
            path,
        )
    }
}

/// A state-space model (Mamba, Mamba-2: layers of a norm and the mixer) or hybrid (Jamba,
/// Bamba: two norms, attention or the mixer, a dense MLP or Jamba's mixture of experts).
#[allow(
    clippy::large_stack_arrays,
    reason = "four blocks of named parts, built once per estimate"
)]
const fn ssm_model(c: &ModelConfig, s: Ssm) -> Architecture {
    let (d, v) = (c.hidden_size, c.vocab_size);
    let n = norm(c.norm, d);
    let mut blocks = [Parts::new(); 4];
    let mut top = Parts::new();
    if s.mixer_only {
        blocks[0] = Parts::of(&[
            ("norm", "Norm", n),
            (
                "mixer",
                if s.heads > 0 {
                    "Mamba2Mixer"
                } else {
                    "MambaMixer"
                },
                mixer(c, &s),
            ),
        ]);
        top.push("embeddings", "Embedding", embedding(v, d));
        top.repeat("layers", "Block", &blocks[0], 0, c.num_layers);
        top.push("norm_f", "Norm", n);
        head(c, &mut top, false);
        return Architecture { top, blocks };
    }
    // attention or the mixer; a dense MLP or a mixture of experts
    let attn_dense = s.attention_layers - s.attention_moe_layers;
    let ssm_dense = c.dense_layers - attn_dense;
    let counts = [
        attn_dense,
        s.attention_moe_layers,
        ssm_dense,
        c.num_layers - s.attention_layers - ssm_dense,
    ];
    let names = [
        "attention_layers",
        "attention_moe_layers",
        "mamba_layers",
        "mamba_moe_layers",
    ];
    let mut k = 0;
    while k < 4 {
        if counts[k] > 0 {
            // inference: the embedding output and the block's input beside each part, the
            // residual beside the MLP (as in the decoders)
            let (name, kind, mix) = if k < 2 {
                let attn = self_attention(c, None, 0);
                (
                    "self_attn",
                    "Attention",
                    attn.score_live(attn.live_per_token + 2 * d),
                )
            } else {
                let m = mixer(c, &s);
                ("mamba", "Mixer", m.live(m.live_per_token + 2 * d))
            };
            let (ffn, ffn_kind) = if k % 2 == 1 {
                (sparse_mlp(c, None), "Moe")
            } else {
                (dense_mlp(c, c.intermediate_size, None, false), "Mlp")
            };
            let ffn = ffn.live(ffn.live_per_token + 3 * d);
            blocks[k] = Parts::of(&[
                ("input_layernorm", "Norm", n),
                (name, kind, mix),
                ("pre_ff_layernorm", "Norm", n),
                ("feed_forward", ffn_kind, ffn),
            ]);
        }
        k += 1;
    }
    top.push("embed_tokens", "Embedding", embedding(v, d));
    let mut i = 0;
    while i < 4 {
        top.repeat(names[i], "Block", &blocks[i], i, counts[i]);
        i += 1;
    }
    top.push("final_layernorm", "Norm", n);
    if let Positions::Rotary { dim, tables } = c.positions {
        top.push("rotary_emb", "Rotary", rotary_buffers(dim, tables));
    }
    head(c, &mut top, false);
    // eager attention's causal mask
    let last = top.len - 1;
    top.items[last].cost = Cost {
        eager_masks: if s.attention_layers > 0 { 1 } else { 0 },
        ..top.items[last].cost
    };
    Architecture { top, blocks }
}
