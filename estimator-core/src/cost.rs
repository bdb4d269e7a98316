//! [`Cost`]: everything the memory model needs to know about a layer, composed by `const fn`s.
//!
//! A layer's cost is counted in *elements* (never bytes): the memory model chooses the dtypes.
//! Parameters and buffers are fixed counts; activations are linear in the batch `b` and the
//! sequence length `s` (terms per token `b·s`, per token·position `b·s²` for attention scores,
//! per sample `b`); the KV cache is per token. Composition is plain arithmetic, so any model
//! built from layers, arrays (`[T; N]`), tuples and derived structs has an exact `Cost` computed
//! by the compiler.
//!
//! Arithmetic is checked. An overflow stops const evaluation with a message naming the quantity
//! (`estimator: parameter count overflows u64`): a compile error in a `const` item, a panic at run
//! time. Run-time callers that want an error value use [`Cost::checked_add`] and
//! [`Cost::checked_times`].

/// Tensors a layer keeps alive from its forward pass for its backward pass (autograd's saved
/// tensors), counted in elements and grouped by how the memory model prices them.
///
/// With batch `b` and sequence length `s`, a layer saves
/// `b·s·per_token` elements in the activation dtype, and so on for each field. Tensors that two
/// operations share (a storage saved by both) are counted once, by the layer that owns them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Activations {
    /// Elements per token, in the activation dtype, kept for the *input* gradient (e.g. the
    /// inputs of GELU, the query and key of `Q·Kᵀ`). Needed whether or not the layer trains.
    pub per_token: u64,
    /// Elements per token the attention core keeps — the query, key and value — in the
    /// activation dtype (fp32 for PyTorch's SDPA math fallback on CPU, which upcasts).
    pub attention_per_token: u64,
    /// Elements per token of the residual stream (what norms read and keep), in its dtype: the
    /// compute dtype, or fp32 under autocast, whose residual additions stay in fp32.
    pub residual_per_token: u64,
    /// Elements per token kept only to compute *weight* gradients: a `Linear`'s input. A frozen
    /// layer (`Frozen<T>`, a LoRA base) does not keep them (autograd saves `x` for `x·Wᵀ` only
    /// when `W` requires a gradient).
    pub weight_input_per_token: u64,
    /// Weight-gradient inputs per token in the residual stream's dtype (RMSNorm's normalized
    /// tensor, kept by its scale multiply); dropped when frozen too.
    pub residual_weight_input_per_token: u64,
    /// Weight-gradient inputs per token that another layer already keeps (`k_proj` reading what
    /// `q_proj` reads): one storage, counted once — except under autocast, which casts the
    /// input separately for each `Linear` (one 16-bit copy each). Dropped when frozen.
    pub shared_input_per_token: u64,
    /// Elements per token kept in fp32 whatever the precision (layer-norm mean and reciprocal
    /// standard deviation, the fp32 upcast inside RMSNorm, a router's fp32 softmax).
    pub f32_per_token: u64,
    /// Elements per token that an explicit `.float()` copies to fp32 only when the tensor is
    /// 16-bit — under autocast (Mamba's `u.float()`, `B.float()`); in full precision the copy
    /// is the tensor itself, counted once elsewhere.
    pub upcast_per_token: u64,
    /// Dropout masks, elements per token: one byte each on CUDA (`native_dropout`'s bool mask),
    /// the activation dtype on CPU. Absent when dropout is off.
    pub mask_per_token: u64,
    /// Dropout masks over the residual stream (T5's dropout of its embeddings and of each stack's
    /// output, BART's of its embeddings), elements per token: one byte each on CUDA, the
    /// residual stream's dtype on CPU (fp32 under autocast). Absent when dropout is off.
    pub residual_mask_per_token: u64,
    /// Elements per token kept only when dropout is on: a dropout output saved by the next
    /// operation while the dropout's input is saved too (with `p = 0` the two are one tensor).
    pub dropout_per_token: u64,
    /// Elements per token that only eager attention keeps: keys and values repeated to every
    /// query head for grouped-query attention (`repeat_kv`), `2·(H − KV)·head_dim`.
    pub eager_per_token: u64,
    /// Elements per token that only a fused kernel (flash, SDPA's CPU flash path) keeps beyond
    /// q, k and v: its output when the output projection reads a copy of it (queries built by
    /// `torch.cat`, as partial rotary embedding does, give a head-major output whose transpose
    /// back is a copy), and the rest of a fused q/k/v projection's storage that a value view
    /// keeps alive once rotary embedding has replaced the query and key (GPT-NeoX).
    pub flash_per_token: u64,
    /// Heads whose eager scores go through tanh soft-capping (Gemma 2's
    /// `attn_logit_softcapping`), which keeps its `s × s` output in the activation dtype.
    pub score_cap_heads: u64,
    /// Elements per sample that do not grow with the sequence, in the activation dtype.
    pub per_sample: u64,
    /// Attention heads whose softmax output (`s × s` per head per sample) eager attention keeps;
    /// a flash kernel keeps one fp32 log-sum-exp per head per token instead.
    pub score_heads: u64,
    /// Attention heads whose probabilities go through dropout: with eager attention and dropout
    /// on, each keeps an `s × s` mask and an `s × s` dropout output per sample.
    pub score_dropout_heads: u64,
    /// Heads whose eager softmax runs in the activation dtype (Hugging Face's GPT-2 and BERT)
    /// rather than in fp32 with a 16-bit copy (Llama and its descendants, which pass
    /// `dtype=torch.float32`); it matters for pure 16-bit training only.
    pub score_dtype_heads: u64,
    /// Heads whose eager scores get an attention mask added before the softmax, leaving
    /// `scores + mask` alive beside the scores and their softmax in a no-grad forward
    /// (ModernBERT's window mask; measured in its eager forward).
    pub masked_score_heads: u64,
    /// Heads whose probabilities stay fp32 into their dropout under autocast (T5 adds its fp32
    /// position bias to the scores): on CPU their dropout mask is fp32 too (measured, T5 in
    /// `tests/fixtures/memory-families.json`); CUDA's is one byte either way.
    pub score_f32_dropout_heads: u64,
    /// Elements per *padded* token in the activation dtype: Mamba-2's chunked scan pads the
    /// sequence to whole chunks of [`Cost::chunk`] tokens and keeps its own tensors over them.
    pub padded_per_token: u64,
    /// fp32 elements per padded token (the scan's fp32 tensors).
    pub padded_f32_per_token: u64,
    /// fp32 elements per padded token that exist only under autocast (`.float()` copies).
    pub padded_upcast_per_token: u64,
    /// Elements per chunk per sample in the activation dtype (the scan's chunk states).
    pub per_chunk: u64,
    /// fp32 elements per chunk per sample (mamba_ssm's scan intermediates, per 2048 tokens).
    pub per_chunk_f32: u64,
    /// fp32 elements kept once per step whatever the batch (a mixer's `A = −exp(A_log)`, kept
    /// twice).
    pub per_step_f32: u64,
    /// fp32 elements per token that one layer's backward allocates at once beside the saved
    /// activations (the reference Mamba scan's gradients of its `[e, N]`-per-token tensors):
    /// what the backward pass peaks with, in the largest block ([`Cost::block`]).
    pub backward_f32_per_token: u64,
    /// Heads of a position bias `[1, h, q, k]` built once per forward in the weights' dtype and
    /// added to the scores (T5's relative bias): a view reused by every layer and not saved for
    /// backward, but alive through an inference forward beside the scores.
    pub bias_heads: u64,
    /// Elements kept once per step whatever the batch (DeBERTa's relative table after its
    /// dropout, per layer), in the activation dtype; with dropout on, as many mask elements.
    pub per_step: u64,
    /// Bytes per sample per position pair (`× b·s²`): DeBERTa's boolean attention mask, kept
    /// by every layer's `masked_fill`.
    pub square_bytes: u64,
    /// Bytes per position pair once per step (`× s²`): DeBERTa's int64 gather indices of the
    /// relative positions (an `[s, s]` storage viewed over the batch and heads).
    pub step_square_bytes: u64,
    /// `s × s` attention masks per sample that a kernel given a mask keeps for backward, in
    /// the weights' dtype: SDPA (and its math fallback) with ModernBERT's local window, one
    /// mask shared by every sliding layer. Eager attention adds the mask to its scores and
    /// keeps nothing of it.
    pub mask_maps: u64,
    /// Korthikanti et al. (2022) textbook bytes per token: 2 bytes per saved 16-bit element and
    /// 1 byte per dropout-mask element, layer norms' statistics ignored. A transformer layer
    /// (attention + 4h GELU MLP + two layer norms) has `34·h`.
    pub textbook_per_token: u64,
    /// Korthikanti et al. textbook bytes per token per position (`× b·s²`): `5·a` for an
    /// attention layer with `a` heads (softmax output 2, dropout mask 1, dropout output 2).
    pub textbook_per_token_seq: u64,
    /// The part of [`Activations::textbook_per_token`] that Megatron-LM's tensor parallelism
    /// without sequence parallelism keeps whole on every GPU: the layer norms' inputs, the
    /// input of each block's first (column-parallel) projection and the dropout mask after its
    /// last (row-parallel) one — `10·h` of a transformer layer's `34·h` (Korthikanti et al.
    /// 2022, Eq. 2). Sequence parallelism splits them too (Eq. 4). See [`Cost::replicated`].
    pub textbook_replicated_per_token: u64,
}

impl Activations {
    /// Nothing saved.
    pub const ZERO: Activations = Activations {
        per_token: 0,
        attention_per_token: 0,
        residual_per_token: 0,
        weight_input_per_token: 0,
        residual_weight_input_per_token: 0,
        shared_input_per_token: 0,
        f32_per_token: 0,
        upcast_per_token: 0,
        mask_per_token: 0,
        residual_mask_per_token: 0,
        dropout_per_token: 0,
        eager_per_token: 0,
        flash_per_token: 0,
        score_cap_heads: 0,
        per_sample: 0,
        score_heads: 0,
        score_dropout_heads: 0,
        score_dtype_heads: 0,
        masked_score_heads: 0,
        score_f32_dropout_heads: 0,
        padded_per_token: 0,
        padded_f32_per_token: 0,
        padded_upcast_per_token: 0,
        per_chunk: 0,
        per_chunk_f32: 0,
        per_step_f32: 0,
        backward_f32_per_token: 0,
        bias_heads: 0,
        per_step: 0,
        square_bytes: 0,
        step_square_bytes: 0,
        mask_maps: 0,
        textbook_per_token: 0,
        textbook_per_token_seq: 0,
        textbook_replicated_per_token: 0,
    };

    /// The fields in declaration order, so that arithmetic is written once.
    const fn to_array(self) -> [u64; 35] {
        [
            self.per_token,
            self.attention_per_token,
            self.residual_per_token,
            self.weight_input_per_token,
            self.residual_weight_input_per_token,
            self.shared_input_per_token,
            self.f32_per_token,
            self.mask_per_token,
            self.dropout_per_token,
            self.eager_per_token,
            self.flash_per_token,
            self.score_cap_heads,
            self.per_sample,
            self.score_heads,
            self.score_dropout_heads,
            self.score_dtype_heads,
            self.textbook_per_token,
            self.textbook_per_token_seq,
            self.mask_maps,
            self.per_step,
            self.square_bytes,
            self.step_square_bytes,
            self.masked_score_heads,
            self.score_f32_dropout_heads,
            self.residual_mask_per_token,
            self.bias_heads,
            self.upcast_per_token,
            self.backward_f32_per_token,
            self.padded_per_token,
            self.padded_f32_per_token,
            self.padded_upcast_per_token,
            self.per_chunk,
            self.per_chunk_f32,
            self.per_step_f32,
            self.textbook_replicated_per_token,
        ]
    }

    const fn from_array(a: [u64; 35]) -> Activations {
        Activations {
            per_token: a[0],
            attention_per_token: a[1],
            residual_per_token: a[2],
            weight_input_per_token: a[3],
            residual_weight_input_per_token: a[4],
            shared_input_per_token: a[5],
            f32_per_token: a[6],
            mask_per_token: a[7],
            dropout_per_token: a[8],
            eager_per_token: a[9],
            flash_per_token: a[10],
            score_cap_heads: a[11],
            per_sample: a[12],
            score_heads: a[13],
            score_dropout_heads: a[14],
            score_dtype_heads: a[15],
            textbook_per_token: a[16],
            textbook_per_token_seq: a[17],
            mask_maps: a[18],
            per_step: a[19],
            square_bytes: a[20],
            step_square_bytes: a[21],
            masked_score_heads: a[22],
            score_f32_dropout_heads: a[23],
            residual_mask_per_token: a[24],
            bias_heads: a[25],
            upcast_per_token: a[26],
            backward_f32_per_token: a[27],
            padded_per_token: a[28],
            padded_f32_per_token: a[29],
            padded_upcast_per_token: a[30],
            per_chunk: a[31],
            per_chunk_f32: a[32],
            per_step_f32: a[33],
            textbook_replicated_per_token: a[34],
        }
    }

    /// Field-wise sum.
    ///
    /// # Errors
    /// [`Overflow::Activations`] when a sum does not fit in a `u64`.
    pub const fn checked_add(self, o: Activations) -> Result<Activations, Overflow> {
        let (mut a, b) = (self.to_array(), o.to_array());
        let mut i = 0;
        while i < a.len() {
            a[i] = tri!(add(a[i], b[i], Overflow::Activations));
            i += 1;
        }
        Ok(Activations::from_array(a))
    }

    /// Every field times `n`.
    ///
    /// # Errors
    /// [`Overflow::Activations`] when a product does not fit in a `u64`.
    pub const fn checked_times(self, n: u64) -> Result<Activations, Overflow> {
        let mut a = self.to_array();
        let mut i = 0;
        while i < a.len() {
            a[i] = tri!(mul(a[i], n, Overflow::Activations));
            i += 1;
        }
        Ok(Activations::from_array(a))
    }

    /// Field-wise sum; stops const evaluation on overflow.
    #[must_use]
    pub const fn add(self, o: Activations) -> Activations {
        ok(self.checked_add(o))
    }

    /// Every field times `n`; stops const evaluation on overflow.
    #[must_use]
    pub const fn times(self, n: u64) -> Activations {
        ok(self.checked_times(n))
    }

    /// Field-wise `self − o`, floored at zero (the activations outside a part of the model).
    #[must_use]
    pub const fn saturating_sub(self, o: Activations) -> Activations {
        let (mut a, b) = (self.to_array(), o.to_array());
        let mut i = 0;
        while i < a.len() {
            a[i] = a[i].saturating_sub(b[i]);
            i += 1;
        }
        Activations::from_array(a)
    }

    /// The same tensors when the layer's weights do not train: inputs kept only for weight
    /// gradients are dropped.
    #[must_use]
    pub const fn frozen(self) -> Activations {
        Activations {
            weight_input_per_token: 0,
            residual_weight_input_per_token: 0,
            shared_input_per_token: 0,
            ..self
        }
    }

    /// Total elements per token over every per-token term, the yardstick for "the largest
    /// block" (ties broken by score heads).
    const fn size_key(self) -> (u64, u64) {
        (
            self.per_token
                .saturating_add(self.attention_per_token)
                .saturating_add(self.residual_per_token)
                .saturating_add(self.weight_input_per_token)
                .saturating_add(self.residual_weight_input_per_token)
                .saturating_add(self.f32_per_token)
                .saturating_add(self.mask_per_token)
                .saturating_add(self.dropout_per_token)
                .saturating_add(self.flash_per_token),
            self.score_heads,
        )
    }

    /// The larger of two blocks' activations (by elements per token, then score heads).
    #[must_use]
    pub const fn larger(self, o: Activations) -> Activations {
        if self.at_least(o) { self } else { o }
    }

    /// Whether `self` is at least as large as `o` by [`Activations::larger`]'s measure.
    const fn at_least(self, o: Activations) -> bool {
        let (a, b) = (self.size_key(), o.size_key());
        a.0 > b.0 || (a.0 == b.0 && a.1 >= b.1)
    }
}

/// What an encoder–decoder runs over its *source* sequence (the encoder's tokens, or an audio
/// encoder's positions) and between its two sequences (cross-attention), beside the target
/// sequence that [`Cost::act`] describes. Everything here is zero for a decoder-only model.
///
/// With batch `b`, target length `s` and source length `S`: [`Source::act`] is priced at `b·S`
/// tokens (its scores over `b·S²` pairs), [`Source::cross`] at `b·s` tokens (its scores over
/// `b·s·S` pairs), and the cross-attention cache holds `b·S·kv_per_token` elements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Source {
    /// Saved per source position: the encoder's layers, and what cross-attention keeps of the
    /// encoder's output (its keys and values).
    pub act: Activations,
    /// Saved by cross-attention per target token, its score fields per (target, source) pair.
    pub cross: Activations,
    /// The part of `act` inside repeated blocks (what full recomputation drops).
    pub checkpointed: Activations,
    /// The part of `cross` inside repeated blocks.
    pub cross_checkpointed: Activations,
    /// The source part of the largest block that reads the target ([`Cost::block`]'s block).
    pub block: Activations,
    /// The cross-attention part of that block.
    pub cross_block: Activations,
    /// The largest repeated block that runs over the source alone (an encoder layer).
    pub encoder_block: Activations,
    /// Elements per source position at the inputs of repeated encoder blocks: what full
    /// recomputation keeps.
    pub checkpoint_per_token: u64,
    /// Cross-attention cache elements per source position (K and V of every decoder layer,
    /// computed once from the encoder's output).
    pub kv_per_token: u64,
    /// Elements per source position alive at once in the encoder's inference pass.
    pub live_per_token: u64,
    /// Width per source position of the encoder's output, which the decoder reads while it
    /// generates (0: the model has no source sequence).
    pub output: u64,
    /// The longest source the encoder reads, from a learned position table (0: no bound).
    pub positions: u64,
    /// The encoder reads exactly [`Source::positions`] positions (Whisper pads every clip to
    /// 30 s of mel frames and refuses other lengths).
    pub fixed: bool,
}

impl Source {
    /// No source sequence.
    pub const ZERO: Source = Source {
        act: Activations::ZERO,
        cross: Activations::ZERO,
        checkpointed: Activations::ZERO,
        cross_checkpointed: Activations::ZERO,
        block: Activations::ZERO,
        cross_block: Activations::ZERO,
        encoder_block: Activations::ZERO,
        checkpoint_per_token: 0,
        kv_per_token: 0,
        live_per_token: 0,
        output: 0,
        positions: 0,
        fixed: false,
    };

    /// `self` then `next`; `block` and `cross_block` are chosen with the target block by the
    /// caller.
    const fn checked_add(self, next: Source) -> Result<Source, Overflow> {
        Ok(Source {
            act: tri!(self.act.checked_add(next.act)),
            cross: tri!(self.cross.checked_add(next.cross)),
            checkpointed: tri!(self.checkpointed.checked_add(next.checkpointed)),
            cross_checkpointed: tri!(self.cross_checkpointed.checked_add(next.cross_checkpointed)),
            encoder_block: self.encoder_block.larger(next.encoder_block),
            checkpoint_per_token: tri!(add(
                self.checkpoint_per_token,
                next.checkpoint_per_token,
                Overflow::Activations
            )),
            kv_per_token: tri!(add(self.kv_per_token, next.kv_per_token, Overflow::KvCache)),
            live_per_token: max(self.live_per_token, next.live_per_token),
            output: if next.output > 0 {
                next.output
            } else {
                self.output
            },
            positions: min_bound(self.positions, next.positions),
            fixed: self.fixed || next.fixed,
            ..self
        })
    }

    const fn checked_times(self, n: u64) -> Result<Source, Overflow> {
        Ok(Source {
            act: tri!(self.act.checked_times(n)),
            cross: tri!(self.cross.checked_times(n)),
            checkpointed: tri!(self.checkpointed.checked_times(n)),
            cross_checkpointed: tri!(self.cross_checkpointed.checked_times(n)),
            checkpoint_per_token: tri!(mul(self.checkpoint_per_token, n, Overflow::Activations)),
            kv_per_token: tri!(mul(self.kv_per_token, n, Overflow::KvCache)),
            ..self
        })
    }

    const fn frozen(self) -> Source {
        Source {
            act: self.act.frozen(),
            cross: self.cross.frozen(),
            checkpointed: self.checkpointed.frozen(),
            cross_checkpointed: self.cross_checkpointed.frozen(),
            block: self.block.frozen(),
            cross_block: self.cross_block.frozen(),
            encoder_block: self.encoder_block.frozen(),
            ..self
        }
    }
}

/// The quantity whose count does not fit in a `u64`: the error of the checked operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Overflow {
    /// Parameter, tensor or buffer counts.
    Parameters,
    /// Activation element counts.
    Activations,
    /// KV-cache element counts.
    KvCache,
}

impl Overflow {
    /// What overflowed, as one line.
    #[must_use]
    pub const fn message(self) -> &'static str {
        match self {
            Overflow::Parameters => {
                "estimator: parameter count overflows u64; check the layer dimensions and repeat counts"
            }
            Overflow::Activations => {
                "estimator: activation element count overflows u64; check the layer dimensions and repeat counts"
            }
            Overflow::KvCache => {
                "estimator: KV-cache element count overflows u64; check the head counts and repeat counts"
            }
        }
    }
}

impl core::fmt::Display for Overflow {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

/// `?` for const fns: unwraps `Ok`, returns `Err` early.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Err(e),
        }
    };
}
use tri;

const fn add(a: u64, b: u64, what: Overflow) -> Result<u64, Overflow> {
    match a.checked_add(b) {
        Some(v) => Ok(v),
        None => Err(what),
    }
}

const fn mul(a: u64, b: u64, what: Overflow) -> Result<u64, Overflow> {
    match a.checked_mul(b) {
        Some(v) => Ok(v),
        None => Err(what),
    }
}

const fn max(a: u64, b: u64) -> u64 {
    if a >= b { a } else { b }
}

/// The greatest common divisor, 0 standing for "none" (`gcd(a, 0) = a`).
pub(crate) const fn gcd(a: u64, b: u64) -> u64 {
    let (mut a, mut b) = (a, b);
    while b != 0 {
        let r = a % b;
        a = b;
        b = r;
    }
    a
}

/// The smaller of two bounds, 0 standing for "no bound".
const fn min_bound(a: u64, b: u64) -> u64 {
    if a == 0 || (b != 0 && b < a) { b } else { a }
}

/// Unwraps a checked result, stopping const evaluation with the overflow's message.
const fn ok<T: Copy>(r: Result<T, Overflow>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{}", e.message()),
    }
}

/// What one layer (or a whole model) costs: parameters, buffers, saved activations and KV cache,
/// in elements, with what the memory model needs to price them.
///
/// Built with [`Cost::parameter`], [`Cost::buffer`], [`Cost::saves`] and friends, and composed
/// with [`Cost::add`] (one layer after another), [`Cost::times`] (identical copies side by side),
/// [`Cost::repeated`] (a stack of blocks, as `[T; N]` is), [`Cost::tied`] and [`Cost::frozen`].
///
/// ```
/// use estimator::Cost;
/// // A bias-free 4096 → 4096 projection: one matmul weight of 4096 × 4096 elements.
/// const PROJ: Cost = Cost::parameter(&[4096, 4096]).matmul()
///     .saves(estimator::Activations { weight_input_per_token: 4096, ..estimator::Activations::ZERO });
/// assert_eq!(PROJ.params, 16_777_216);
/// assert_eq!(PROJ.times(32).params, 536_870_912);
/// assert_eq!(PROJ.frozen().trainable, 0);
/// ```
///
/// Fields are public so hand-written layers can fill them with struct-update syntax
/// (`Cost { buffers: 1, ..Cost::ZERO }`); each says what it holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Cost {
    /// Parameter elements stored, tied weights counted once (`sum(p.numel() for p in
    /// model.parameters())`).
    pub params: u64,
    /// Parameter elements that receive gradients and optimizer state.
    pub trainable: u64,
    /// Parameter elements one token uses: `params` except for mixture-of-experts layers, where
    /// only `TOP_K` of the experts run per token.
    pub active: u64,
    /// Parameter tensors (PyTorch's `step` counter of Adam is one per tensor).
    pub tensors: u64,
    /// Parameter tensors that train.
    pub trainable_tensors: u64,
    /// Parameter elements in matmul weights (`Linear` weights, attention projections, experts,
    /// LoRA adapters): what weight quantization (int8, int4, NF4) applies to. Embeddings,
    /// convolutions, biases and norms stay in 16 bits in bitsandbytes, GPTQ and AWQ.
    pub matmul: u64,
    /// Matmul-weight elements that do not train (a LoRA base, `Frozen<T>`) and that a
    /// quantizer converts: QLoRA stores these in NF4 (an [unquantized](Cost::unquantized) head
    /// is not among them).
    pub frozen_matmul: u64,
    /// Matmul-weight elements that quantizers leave in their dtype: the model's output head
    /// (transformers' bitsandbytes integration skips it, `get_keys_to_not_convert`:
    /// `lm_head`, or a classifier as the last module; GPTQ and AWQ keep `lm_head` too).
    pub unquantized_matmul: u64,
    /// Matmul-weight tensors a quantizer converts (those in [`Cost::matmul`] but not in
    /// [`Cost::unquantized_matmul`]): bitsandbytes keeps a code book per 4-bit tensor
    /// ([`DType::tensor_overhead`](crate::DType::tensor_overhead)).
    pub matmul_tensors: u64,
    /// Of [`Cost::matmul_tensors`], those that do not train (the tensors of
    /// [`Cost::frozen_matmul`]).
    pub frozen_matmul_tensors: u64,
    /// Rows of the parameter tensors of two or more dimensions (their elements over the last
    /// dimension: a `Linear` weight's output features, a stacked expert tensor's experts ×
    /// outputs).
    pub rows: u64,
    /// Of [`Cost::rows`], those of the matmul weights a quantizer converts (as
    /// [`Cost::matmul_tensors`]): LLM.int8 keeps an fp32 scale per row (`SCB`).
    pub matmul_rows: u64,
    /// Matmul-weight elements used outside autocast, so that it keeps no 16-bit copy of them:
    /// transformers 5's grouped experts, which compute in the parameters' dtype (measured: their
    /// activations stay fp32 under bf16 autocast, `tests/fixtures/memory-families.json`).
    pub uncast_matmul: u64,
    /// Adafactor's second-moment elements over the trainable tensors (Shazeer & Stern 2018, as
    /// Hugging Face implements it): a tensor of shape `[.., r, c]` keeps `numel/c` row and
    /// `numel/r` column statistics; a vector keeps `numel`.
    pub factored: u64,
    /// Trainable elements in tensors of fewer than 4096 elements, for which bitsandbytes' 8-bit
    /// optimizers keep 32-bit state (`min_8bit_size = 4096`).
    pub small_trainable: u64,
    /// Trainable elements in tensors of fewer than 100,000 elements, whose state bitsandbytes'
    /// paged optimizers allocate as ordinary GPU memory (`get_state_buffer`:
    /// `p.numel() < 1e5`; LoRA's adapters of rank 16 over 4096 features among them).
    pub unpaged_trainable: u64,
    /// Elements of the largest trainable parameter tensor (the optimizer step's temporaries are
    /// sized by it).
    pub largest_tensor: u64,
    /// Elements of weights shared with another layer (`#[params(tied)]`), not in `params`:
    /// their gradient is still computed twice and summed during backward.
    pub tied: u64,
    /// Of [`Cost::tied`], the elements that train: their gradient comes from both uses and is
    /// summed. 0 for a head frozen before it was tied (a LoRA model's: the embedding it shares
    /// is frozen too).
    pub tied_trainable: u64,
    /// Buffer elements (`sum(b.numel() for b in model.buffers())`).
    pub buffers: u64,
    /// Buffer bytes: buffers keep their own dtype (BatchNorm's running statistics are fp32, its
    /// `num_batches_tracked` is int64) whatever the weights' precision.
    pub buffer_bytes: u64,
    /// Buffer elements in fp32 (running statistics, rotary tables), which `model.to(dtype)`
    /// casts along with the weights; integer buffers keep their type.
    pub float_buffers: u64,
    /// Tensors saved for backward by every layer.
    pub act: Activations,
    /// The part of `act` inside repeated blocks (`[T; N]`): what full recomputation drops.
    pub checkpointed: Activations,
    /// One repeated block's activations (the largest): alive at once while full recomputation
    /// replays that block, and the working set of a layer at inference.
    pub block: Activations,
    /// Parameter elements of the largest repeated block (ZeRO-3 / FSDP gathers one at a time).
    pub block_params: u64,
    /// Elements per token at the inputs of repeated blocks: what full recomputation keeps.
    pub checkpoint_per_token: u64,
    /// KV-cache elements per cached token (K and V of every attention layer without a sliding
    /// window: `2 · kv_heads · head_dim` each).
    pub kv_per_token: u64,
    /// KV-cache elements per cached token of sliding-window attention layers, which cache at
    /// most `window` tokens.
    pub kv_window_per_token: u64,
    /// Attention layers caching every token ([`Cost::kv_per_token`] is their sum): what a
    /// paged engine groups (vLLM's KV-cache groups).
    pub kv_layers: u64,
    /// Sliding-window attention layers ([`Cost::kv_window_per_token`] is their sum).
    pub kv_window_layers: u64,
    /// Cache elements per sequence that do not grow with it, in the activation dtype: the
    /// state-space mixers' convolution states (the last `K` inputs of each layer's conv).
    pub conv_state: u64,
    /// Cache elements per sequence in fp32 whatever the precision: the state-space mixers'
    /// recurrent states (`[e, N]` per Mamba layer, `[H, P, N]` per Mamba-2 layer).
    pub ssm_state: u64,
    /// The sliding window in tokens (0: none). Layers with different windows keep the largest,
    /// which over-estimates rather than under-estimates.
    pub window: u64,
    /// Width of the layer's input per token (the hidden size a block reads).
    pub input: u64,
    /// Width of the layer's output per token (a language-model head's is the vocabulary: the
    /// logits).
    pub output: u64,
    /// Elements per token alive at once inside the layer during an inference forward pass (no
    /// autograd): its input, intermediates and output at the widest point. Sequential layers
    /// take the maximum, since each frees its intermediates before the next runs.
    pub live_per_token: u64,
    /// Width per token that a generation head reads (its hidden states): the head's moment at
    /// inference is these for every token of the pass and the logits of the tokens kept
    /// ([`Inference::logits`](crate::Inference::logits)). 0: a head whose logits are part of
    /// [`Cost::live_per_token`] (an encoder's, every token's).
    pub logits_input: u64,
    /// `[b, 1, q, k]` masks that eager attention's forward builds in the weights' dtype and keeps
    /// alive through the forward (a decoder's causal mask; a second one for its sliding
    /// layers): not saved for backward, but part of an inference pass's working set (measured:
    /// the tiny Llama's 2048-token eager prefill).
    pub eager_masks: u64,
    /// Elements per token alive beside eager attention's scores and softmax, at the moment they
    /// exist (0: [`Cost::live_per_token`], the widest moment of any part). A block whose MLP is
    /// wider than its attention peaks there without the scores.
    pub score_live_per_token: u64,
    /// Query heads of the attention layers, as their greatest common divisor (0: no
    /// attention): a tensor-parallel degree must divide every layer's heads.
    pub heads: u64,
    /// Key/value heads of the attention layers, as their greatest common divisor: tensor
    /// parallelism splits the KV cache over at most this many GPUs and replicates it beyond.
    /// 0 where the cache is not split by head — a latent cache (DeepSeek's), which every GPU
    /// keeps whole, or a layer that caches without [`Cost::attends`].
    pub kv_heads: u64,
    /// Repeated blocks (`[T; N]`, nested stacks multiplied out): the units a pipeline splits
    /// into stages.
    pub blocks: u64,
    /// The longest sequence the model can read, from a learned position table (0: no bound;
    /// rotary and relative positions have none).
    pub positions: u64,
    /// The model reads exactly [`Cost::positions`] tokens (a vision transformer: its image's
    /// patches and the class token).
    pub fixed_length: bool,
    /// The chunk in tokens that a chunked scan pads the sequence to (Mamba-2's `chunk_size`;
    /// the largest when layers differ; 0: none): prices [`Activations::padded_per_token`] and
    /// [`Activations::per_chunk`].
    pub chunk: u64,
    /// Parameter elements inside repeated blocks: what pipeline stages split.
    pub repeated_params: u64,
    /// Matmul-weight elements inside repeated blocks (see [`Cost::matmul`]).
    pub repeated_matmul: u64,
    /// Parameter elements of the largest single repeated block (innermost, one layer): a
    /// pipeline stage of `n` blocks holds at most `n` of these (a model whose MoE layers
    /// follow dense ones has stages of MoE layers only).
    pub unit_params: u64,
    /// Parameter elements before the first repeated block (the embeddings): the first
    /// pipeline stage's besides its blocks; the rest outside the blocks (the final norm, the
    /// head) is the last stage's.
    pub lead_params: u64,
    /// The attention has no fused kernel (DeBERTa's disentangled attention): it runs eagerly
    /// whatever kernel a plan names, keeping its `s × s` scores.
    pub eager_attention: bool,
    /// What runs over an encoder–decoder's source sequence and across the two sequences
    /// ([`Source::ZERO`] for a decoder-only or encoder-only model).
    pub source: Source,
    /// A count that overflowed `u64` while the cost was built. The composing forms ([`Cost::add`],
    /// [`Cost::times`], [`Cost::repeated`], [`Cost::parameter`]) record it here instead of
    /// stopping, so that the error is reported where a number is asked of the cost: an estimate
    /// in the user's own `const` ([`EstimateError::CostOverflow`](crate::EstimateError)), or
    /// [`Params::PARAMS`](crate::Params::PARAMS). The other counts are then meaningless.
    pub overflow: Option<Overflow>,
}

impl Cost {
    /// Nothing at all.
    pub const ZERO: Cost = Cost {
        params: 0,
        trainable: 0,
        active: 0,
        tensors: 0,
        trainable_tensors: 0,
        matmul: 0,
        frozen_matmul: 0,
        uncast_matmul: 0,
        unquantized_matmul: 0,
        matmul_tensors: 0,
        frozen_matmul_tensors: 0,
        rows: 0,
        matmul_rows: 0,
        factored: 0,
        small_trainable: 0,
        unpaged_trainable: 0,
        largest_tensor: 0,
        tied: 0,
        tied_trainable: 0,
        buffers: 0,
        buffer_bytes: 0,
        float_buffers: 0,
        act: Activations::ZERO,
        checkpointed: Activations::ZERO,
        block: Activations::ZERO,
        block_params: 0,
        checkpoint_per_token: 0,
        kv_per_token: 0,
        kv_window_per_token: 0,
        kv_layers: 0,
        kv_window_layers: 0,
        conv_state: 0,
        ssm_state: 0,
        window: 0,
        input: 0,
        output: 0,
        live_per_token: 0,
        score_live_per_token: 0,
        logits_input: 0,
        eager_masks: 0,
        heads: 0,
        kv_heads: 0,
        blocks: 0,
        positions: 0,
        fixed_length: false,
        chunk: 0,
        repeated_params: 0,
        repeated_matmul: 0,
        unit_params: 0,
        lead_params: 0,
        eager_attention: false,
        source: Source::ZERO,
        overflow: None,
    };

    /// One trainable parameter tensor of the given shape (PyTorch order, e.g. `[out, in]` for a
    /// `Linear` weight), not a matmul weight (see [`Cost::matmul`]).
    ///
    /// An empty shape is a scalar. An element count past `u64` is recorded in
    /// [`Cost::overflow`].
    #[must_use]
    pub const fn parameter(shape: &[u64]) -> Cost {
        let mut numel: u64 = 1;
        let mut i = 0;
        while i < shape.len() {
            numel = match mul(numel, shape[i], Overflow::Parameters) {
                Ok(n) => n,
                Err(e) => return Cost::ZERO.poisoned(e),
            };
            i += 1;
        }
        let factored = if shape.len() >= 2 {
            let rows = shape[shape.len() - 2];
            let cols = shape[shape.len() - 1];
            // numel/c row statistics + numel/r column statistics (0 for an empty tensor)
            let r = match numel.checked_div(cols) {
                Some(v) => v,
                None => 0,
            };
            let c = match numel.checked_div(rows) {
                Some(v) => v,
                None => 0,
            };
            match add(r, c, Overflow::Parameters) {
                Ok(n) => n,
                Err(e) => return Cost::ZERO.poisoned(e),
            }
        } else {
            numel
        };
        let rows = if shape.len() >= 2 {
            match numel.checked_div(shape[shape.len() - 1]) {
                Some(v) => v,
                None => 0,
            }
        } else {
            0
        };
        Cost {
            params: numel,
            trainable: numel,
            active: numel,
            tensors: 1,
            trainable_tensors: 1,
            rows,
            factored,
            small_trainable: if numel < 4096 { numel } else { 0 },
            unpaged_trainable: if numel < 100_000 { numel } else { 0 },
            largest_tensor: numel,
            ..Cost::ZERO
        }
    }

    /// Marks every parameter of `self` as a matmul weight (what weight quantization applies to).
    #[must_use]
    pub const fn matmul(self) -> Cost {
        Cost {
            matmul: self.params,
            frozen_matmul: self.params - self.trainable,
            matmul_tensors: self.tensors,
            frozen_matmul_tensors: self.tensors - self.trainable_tensors,
            matmul_rows: self.rows,
            ..self
        }
    }

    /// `n` buffer elements of `bytes_each` bytes (e.g. BatchNorm's `running_mean`: `C` × 4).
    /// Four-byte buffers are fp32 (cast by `model.to(dtype)`); others are integers.
    #[must_use]
    pub const fn buffer(n: u64, bytes_each: u64) -> Cost {
        Cost {
            buffers: n,
            buffer_bytes: match mul(n, bytes_each, Overflow::Parameters) {
                Ok(b) => b,
                Err(e) => return Cost::ZERO.poisoned(e),
            },
            float_buffers: if bytes_each == 4 { n } else { 0 },
            ..Cost::ZERO
        }
    }

    /// `self` plus the tensors `act` that it saves for backward.
    #[must_use]
    pub const fn saves(self, act: Activations) -> Cost {
        Cost {
            act: self.act.add(act),
            ..self
        }
    }

    /// The same layer whose textbook bytes are all kept whole on every tensor-parallel GPU
    /// unless sequence parallelism splits them ([`Activations::textbook_replicated_per_token`]):
    /// a layer norm, the first projection of an attention or MLP block (whose input is the
    /// block's, not yet split by head or by column), a dropout on the residual stream.
    #[must_use]
    pub const fn replicated(self) -> Cost {
        Cost {
            act: Activations {
                textbook_replicated_per_token: self.act.textbook_per_token,
                ..self.act
            },
            ..self
        }
    }

    /// `self` with KV cache `per_token` elements per cached token, capped at `window` tokens
    /// when `window > 0`.
    #[must_use]
    pub const fn caches(self, per_token: u64, window: u64) -> Cost {
        if window == 0 {
            Cost {
                kv_per_token: match add(self.kv_per_token, per_token, Overflow::KvCache) {
                    Ok(n) => n,
                    Err(e) => return self.poisoned(e),
                },
                kv_layers: self.kv_layers.saturating_add(1),
                ..self
            }
        } else {
            Cost {
                kv_window_per_token: match add(
                    self.kv_window_per_token,
                    per_token,
                    Overflow::KvCache,
                ) {
                    Ok(n) => n,
                    Err(e) => return self.poisoned(e),
                },
                window: max(self.window, window),
                kv_window_layers: self.kv_window_layers.saturating_add(1),
                ..self
            }
        }
    }

    /// `self` keeping, per sequence, `conv` convolution-state elements (activation dtype) and
    /// `ssm` recurrent-state elements (fp32) while it generates: a state-space mixer's cache,
    /// the same size whatever the sequence's length.
    #[must_use]
    pub const fn keeps_state(self, conv: u64, ssm: u64) -> Cost {
        let conv_state = match add(self.conv_state, conv, Overflow::KvCache) {
            Ok(n) => n,
            Err(e) => return self.poisoned(e),
        };
        match add(self.ssm_state, ssm, Overflow::KvCache) {
            Ok(ssm_state) => Cost {
                conv_state,
                ssm_state,
                ..self
            },
            Err(e) => self.poisoned(e),
        }
    }

    /// `self` attending with `heads` query heads and `kv_heads` cached key/value heads (see
    /// [`Cost::heads`], [`Cost::kv_heads`]).
    #[must_use]
    pub const fn attends(self, heads: u64, kv_heads: u64) -> Cost {
        Cost {
            heads: gcd(self.heads, heads),
            kv_heads: gcd(self.kv_heads, kv_heads),
            ..self
        }
    }

    /// `self` reading at most `n` positions (a learned position table of `n` rows).
    #[must_use]
    pub const fn positions(self, n: u64) -> Cost {
        Cost {
            positions: min_bound(self.positions, n),
            ..self
        }
    }

    /// `self` run over the source sequence: an encoder (its embeddings, front end or layers),
    /// whose activations, checkpoints and working set move to [`Cost::source`], priced at the
    /// source length; its output width becomes what the decoder reads
    /// ([`Source::output`]), a learned position table bounds the source
    /// ([`Source::positions`]), and its self-attention caches nothing (it runs once).
    #[must_use]
    pub const fn encodes(self) -> Cost {
        let s = self.source;
        let act = match s.act.checked_add(self.act) {
            Ok(a) => a,
            Err(e) => return self.poisoned(e),
        };
        let checkpointed = match s.checkpointed.checked_add(self.checkpointed) {
            Ok(a) => a,
            Err(e) => return self.poisoned(e),
        };
        Cost {
            act: Activations::ZERO,
            checkpointed: Activations::ZERO,
            block: Activations::ZERO,
            checkpoint_per_token: 0,
            live_per_token: 0,
            positions: 0,
            kv_per_token: 0,
            kv_window_per_token: 0,
            kv_layers: 0,
            kv_window_layers: 0,
            conv_state: 0,
            ssm_state: 0,
            window: 0,
            source: Source {
                act,
                checkpointed,
                encoder_block: s.encoder_block.larger(self.block),
                checkpoint_per_token: s
                    .checkpoint_per_token
                    .saturating_add(self.checkpoint_per_token),
                live_per_token: max(s.live_per_token, self.live_per_token),
                output: self.output,
                positions: min_bound(s.positions, self.positions),
                ..s
            },
            ..self
        }
    }

    /// `self` reading the target and the source at once (cross-attention's core): its
    /// activations move to [`Source::cross`], per target token, its scores per (target,
    /// source) pair.
    #[must_use]
    pub const fn crosses(self) -> Cost {
        let cross = match self.source.cross.checked_add(self.act) {
            Ok(a) => a,
            Err(e) => return self.poisoned(e),
        };
        Cost {
            act: Activations::ZERO,
            source: Source {
                cross,
                ..self.source
            },
            ..self
        }
    }

    /// `self` caching `per_token` cross-attention elements per source position (computed
    /// once from the encoder's output, kept while the decoder generates).
    #[must_use]
    pub const fn caches_source(self, per_token: u64) -> Cost {
        match add(self.source.kv_per_token, per_token, Overflow::KvCache) {
            Ok(kv_per_token) => Cost {
                source: Source {
                    kv_per_token,
                    ..self.source
                },
                ..self
            },
            Err(e) => self.poisoned(e),
        }
    }

    /// `self` scanning in chunks of `q` tokens (see [`Cost::chunk`]).
    #[must_use]
    pub const fn chunked(self, q: u64) -> Cost {
        Cost {
            chunk: max(self.chunk, q),
            ..self
        }
    }

    /// `self` reading exactly `n` tokens (a vision transformer's patches and class token): a
    /// learned table of `n` positions that every input fills.
    #[must_use]
    pub const fn fixed_length(self, n: u64) -> Cost {
        Cost {
            positions: n,
            fixed_length: true,
            ..self
        }
    }

    /// `self`, an encoder that reads exactly `n` source positions (Whisper's 30 s of frames).
    #[must_use]
    pub const fn fixed_source(self, n: u64) -> Cost {
        Cost {
            source: Source {
                positions: n,
                fixed: true,
                ..self.source
            },
            ..self
        }
    }

    /// `self` with input and output widths per token; its inference working set is at least
    /// both at once.
    #[must_use]
    pub const fn widths(self, input: u64, output: u64) -> Cost {
        Cost {
            input,
            output,
            live_per_token: max(self.live_per_token, input.saturating_add(output)),
            ..self
        }
    }

    /// `self` as a generation head reading `d` per token: its logits leave
    /// [`Cost::live_per_token`] for [`Cost::logits_input`], priced for the tokens whose logits
    /// are kept.
    #[must_use]
    pub const fn generates(self, d: u64) -> Cost {
        Cost {
            logits_input: max(self.logits_input, d),
            live_per_token: d,
            ..self
        }
    }

    /// `self` with `live` elements per token alive beside eager attention's scores (see
    /// [`Cost::score_live_per_token`]), and at least that alive at its widest moment.
    #[must_use]
    pub const fn score_live(self, live: u64) -> Cost {
        Cost {
            score_live_per_token: max(self.score_live_per_token, live),
            live_per_token: max(self.live_per_token, live),
            ..self
        }
    }

    /// `self` with `live` elements per token alive at once during an inference forward pass
    /// (see [`Cost::live_per_token`]), when that exceeds what it had.
    #[must_use]
    pub const fn live(self, live: u64) -> Cost {
        Cost {
            live_per_token: max(self.live_per_token, live),
            ..self
        }
    }

    /// `self` followed by `next`: counts add up; the input width is `self`'s, the output width
    /// `next`'s; the largest tensor and block are the larger of the two.
    ///
    /// # Errors
    /// The [`Overflow`] naming the quantity that does not fit in a `u64`.
    pub const fn checked_add(self, next: Cost) -> Result<Cost, Overflow> {
        const P: Overflow = Overflow::Parameters;
        const KV: Overflow = Overflow::KvCache;
        tri!(self.valid());
        tri!(next.valid());
        // the largest block that reads the target keeps its source and cross parts with it
        let (block, source_block, cross_block) = if self.block.at_least(next.block) {
            (self.block, self.source.block, self.source.cross_block)
        } else {
            (next.block, next.source.block, next.source.cross_block)
        };
        let source = tri!(self.source.checked_add(next.source));
        Ok(Cost {
            params: tri!(add(self.params, next.params, P)),
            trainable: tri!(add(self.trainable, next.trainable, P)),
            active: tri!(add(self.active, next.active, P)),
            tensors: tri!(add(self.tensors, next.tensors, P)),
            trainable_tensors: tri!(add(self.trainable_tensors, next.trainable_tensors, P)),
            matmul: tri!(add(self.matmul, next.matmul, P)),
            frozen_matmul: tri!(add(self.frozen_matmul, next.frozen_matmul, P)),
            uncast_matmul: tri!(add(self.uncast_matmul, next.uncast_matmul, P)),
            unquantized_matmul: tri!(add(self.unquantized_matmul, next.unquantized_matmul, P)),
            matmul_tensors: tri!(add(self.matmul_tensors, next.matmul_tensors, P)),
            rows: tri!(add(self.rows, next.rows, P)),
            matmul_rows: tri!(add(self.matmul_rows, next.matmul_rows, P)),
            frozen_matmul_tensors: tri!(add(
                self.frozen_matmul_tensors,
                next.frozen_matmul_tensors,
                P
            )),
            factored: tri!(add(self.factored, next.factored, P)),
            small_trainable: tri!(add(self.small_trainable, next.small_trainable, P)),
            unpaged_trainable: tri!(add(self.unpaged_trainable, next.unpaged_trainable, P)),
            largest_tensor: max(self.largest_tensor, next.largest_tensor),
            tied: tri!(add(self.tied, next.tied, P)),
            tied_trainable: tri!(add(self.tied_trainable, next.tied_trainable, P)),
            buffers: tri!(add(self.buffers, next.buffers, P)),
            buffer_bytes: tri!(add(self.buffer_bytes, next.buffer_bytes, P)),
            float_buffers: tri!(add(self.float_buffers, next.float_buffers, P)),
            act: tri!(self.act.checked_add(next.act)),
            checkpointed: tri!(self.checkpointed.checked_add(next.checkpointed)),
            block,
            block_params: max(self.block_params, next.block_params),
            checkpoint_per_token: tri!(add(
                self.checkpoint_per_token,
                next.checkpoint_per_token,
                Overflow::Activations
            )),
            kv_per_token: tri!(add(self.kv_per_token, next.kv_per_token, KV)),
            kv_window_per_token: tri!(add(self.kv_window_per_token, next.kv_window_per_token, KV)),
            kv_layers: tri!(add(self.kv_layers, next.kv_layers, KV)),
            kv_window_layers: tri!(add(self.kv_window_layers, next.kv_window_layers, KV)),
            conv_state: tri!(add(self.conv_state, next.conv_state, KV)),
            ssm_state: tri!(add(self.ssm_state, next.ssm_state, KV)),
            window: max(self.window, next.window),
            input: self.input,
            output: next.output,
            live_per_token: max(self.live_per_token, next.live_per_token),
            score_live_per_token: max(self.score_live_per_token, next.score_live_per_token),
            eager_masks: max(self.eager_masks, next.eager_masks),
            logits_input: max(self.logits_input, next.logits_input),
            heads: gcd(self.heads, next.heads),
            kv_heads: gcd(self.kv_heads, next.kv_heads),
            blocks: tri!(add(self.blocks, next.blocks, P)),
            positions: min_bound(self.positions, next.positions),
            fixed_length: self.fixed_length || next.fixed_length,
            chunk: max(self.chunk, next.chunk),
            repeated_params: tri!(add(self.repeated_params, next.repeated_params, P)),
            repeated_matmul: tri!(add(self.repeated_matmul, next.repeated_matmul, P)),
            unit_params: max(self.unit_params, next.unit_params),
            lead_params: if self.blocks == 0 {
                tri!(add(self.params, next.lead(), P))
            } else {
                self.lead_params
            },
            eager_attention: self.eager_attention || next.eager_attention,
            source: Source {
                block: source_block,
                cross_block,
                ..source
            },
            overflow: None,
        })
    }

    /// `n` identical copies side by side (e.g. experts): counts times `n`, widths, the largest
    /// tensor and block unchanged.
    ///
    /// # Errors
    /// The [`Overflow`] naming the quantity that does not fit in a `u64`.
    pub const fn checked_times(self, n: u64) -> Result<Cost, Overflow> {
        const P: Overflow = Overflow::Parameters;
        const KV: Overflow = Overflow::KvCache;
        tri!(self.valid());
        Ok(Cost {
            params: tri!(mul(self.params, n, P)),
            trainable: tri!(mul(self.trainable, n, P)),
            active: tri!(mul(self.active, n, P)),
            tensors: tri!(mul(self.tensors, n, P)),
            trainable_tensors: tri!(mul(self.trainable_tensors, n, P)),
            matmul: tri!(mul(self.matmul, n, P)),
            frozen_matmul: tri!(mul(self.frozen_matmul, n, P)),
            uncast_matmul: tri!(mul(self.uncast_matmul, n, P)),
            unquantized_matmul: tri!(mul(self.unquantized_matmul, n, P)),
            matmul_tensors: tri!(mul(self.matmul_tensors, n, P)),
            rows: tri!(mul(self.rows, n, P)),
            matmul_rows: tri!(mul(self.matmul_rows, n, P)),
            frozen_matmul_tensors: tri!(mul(self.frozen_matmul_tensors, n, P)),
            factored: tri!(mul(self.factored, n, P)),
            small_trainable: tri!(mul(self.small_trainable, n, P)),
            unpaged_trainable: tri!(mul(self.unpaged_trainable, n, P)),
            tied: tri!(mul(self.tied, n, P)),
            tied_trainable: tri!(mul(self.tied_trainable, n, P)),
            buffers: tri!(mul(self.buffers, n, P)),
            buffer_bytes: tri!(mul(self.buffer_bytes, n, P)),
            float_buffers: tri!(mul(self.float_buffers, n, P)),
            act: tri!(self.act.checked_times(n)),
            checkpointed: tri!(self.checkpointed.checked_times(n)),
            checkpoint_per_token: tri!(mul(self.checkpoint_per_token, n, Overflow::Activations)),
            kv_per_token: tri!(mul(self.kv_per_token, n, KV)),
            kv_window_per_token: tri!(mul(self.kv_window_per_token, n, KV)),
            kv_layers: tri!(mul(self.kv_layers, n, KV)),
            kv_window_layers: tri!(mul(self.kv_window_layers, n, KV)),
            conv_state: tri!(mul(self.conv_state, n, KV)),
            ssm_state: tri!(mul(self.ssm_state, n, KV)),
            repeated_params: tri!(mul(self.repeated_params, n, P)),
            repeated_matmul: tri!(mul(self.repeated_matmul, n, P)),
            lead_params: tri!(mul(self.lead_params, n, P)),
            source: tri!(self.source.checked_times(n)),
            ..self
        })
    }

    /// The parameters before the first repeated block (all of them when there is none).
    const fn lead(&self) -> u64 {
        if self.blocks == 0 {
            self.params
        } else {
            self.lead_params
        }
    }

    /// Parameter elements on the heaviest of `p` pipeline stages: its `blocks / p` blocks —
    /// `1/p` of the repeated parameters when the blocks are alike, at most that many of the
    /// largest block when they are not — and the larger of what comes before them (the first
    /// stage's embeddings) and after them (the last stage's norm and head). Exact when the
    /// blocks are alike; an upper bound otherwise, by at most the ends, never below the
    /// heaviest explicit stage.
    #[must_use]
    pub const fn stage_params(&self, p: u64) -> u64 {
        if p <= 1 || self.blocks == 0 {
            return self.params;
        }
        let lead = self.lead();
        let tail = self
            .params
            .saturating_sub(self.repeated_params)
            .saturating_sub(lead);
        let ends = if lead > tail { lead } else { tail };
        let largest = self.blocks.div_ceil(p).saturating_mul(self.unit_params);
        let even = self.repeated_params.div_ceil(p);
        let blocks = if largest > even { largest } else { even };
        let blocks = if blocks < self.repeated_params {
            blocks
        } else {
            self.repeated_params
        };
        blocks.saturating_add(ends)
    }

    /// A stack of `n` copies of the block `self`, run one after another: [`Cost::times`], and
    /// each copy is a unit of activation checkpointing (full recomputation keeps each block's
    /// input and replays one block at a time) and of ZeRO-3 parameter gathering. This is what
    /// `[T; N]` means.
    ///
    /// # Errors
    /// The [`Overflow`] naming the quantity that does not fit in a `u64`.
    pub const fn checked_repeated(self, n: u64) -> Result<Cost, Overflow> {
        let stacked = tri!(self.checked_times(n));
        if n == 0 {
            // no block at all: nothing to attend, cache or split
            return Ok(Cost {
                block: Activations::ZERO,
                source: Source {
                    block: Activations::ZERO,
                    cross_block: Activations::ZERO,
                    encoder_block: Activations::ZERO,
                    checkpointed: Activations::ZERO,
                    cross_checkpointed: Activations::ZERO,
                    checkpoint_per_token: 0,
                    ..stacked.source
                },
                block_params: 0,
                checkpoint_per_token: 0,
                checkpointed: Activations::ZERO,
                heads: 0,
                kv_heads: 0,
                blocks: 0,
                positions: 0,
                fixed_length: false,
                repeated_params: 0,
                repeated_matmul: 0,
                unit_params: 0,
                lead_params: 0,
                ..stacked
            });
        }
        Ok(Cost {
            blocks: tri!(mul(n, max(self.blocks, 1), Overflow::Parameters)),
            repeated_params: stacked.params,
            repeated_matmul: stacked.matmul,
            unit_params: if self.blocks == 0 {
                self.params
            } else {
                self.unit_params
            },
            lead_params: 0,
            checkpointed: stacked.act,
            block: self.act,
            block_params: self.params,
            checkpoint_per_token: tri!(mul(self.input, n, Overflow::Activations)),
            source: Source {
                checkpointed: stacked.source.act,
                cross_checkpointed: stacked.source.cross,
                block: self.source.act,
                cross_block: self.source.cross,
                ..stacked.source
            },
            ..stacked
        })
    }

    /// `self` followed by `next` (see [`Cost::checked_add`]); an overflow is recorded in
    /// [`Cost::overflow`].
    #[must_use]
    pub const fn add(self, next: Cost) -> Cost {
        match self.checked_add(next) {
            Ok(c) => c,
            Err(e) => self.poisoned(e),
        }
    }

    /// `n` identical copies side by side (see [`Cost::checked_times`]); an overflow is
    /// recorded in [`Cost::overflow`].
    #[must_use]
    pub const fn times(self, n: u64) -> Cost {
        match self.checked_times(n) {
            Ok(c) => c,
            Err(e) => self.poisoned(e),
        }
    }

    /// A stack of `n` blocks (see [`Cost::checked_repeated`]); an overflow is recorded in
    /// [`Cost::overflow`].
    #[must_use]
    pub const fn repeated(self, n: u64) -> Cost {
        match self.checked_repeated(n) {
            Ok(c) => c,
            Err(e) => self.poisoned(e),
        }
    }

    /// `self` marked as overflowed (the first overflow is kept).
    const fn poisoned(self, e: Overflow) -> Cost {
        Cost {
            overflow: match self.overflow {
                Some(first) => Some(first),
                None => Some(e),
            },
            ..self
        }
    }

    /// `self`, after stopping const evaluation with the overflow's message if a count overflowed
    /// while it was built: what the [`Params`](crate::Params) counts read.
    #[must_use]
    pub const fn counted(self) -> Cost {
        match self.overflow {
            Some(e) => panic!("{}", e.message()),
            None => self,
        }
    }

    /// `Ok` unless a count overflowed while the cost was built ([`Cost::overflow`]).
    ///
    /// # Errors
    /// The [`Overflow`] recorded.
    pub const fn valid(&self) -> Result<(), Overflow> {
        match self.overflow {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The same layer left in its dtype by weight quantization (the model's output head: see
    /// [`Cost::unquantized_matmul`]); mark it before freezing it.
    #[must_use]
    pub const fn unquantized(self) -> Cost {
        Cost {
            unquantized_matmul: self.matmul,
            matmul_tensors: 0,
            matmul_rows: 0,
            ..self
        }
    }

    /// The same layer with no trainable parameters: no gradients, no optimizer state, matmul
    /// weights counted as frozen (a LoRA base, `Frozen<T>`, `#[params(frozen)]`), and no inputs
    /// kept for weight gradients.
    #[must_use]
    pub const fn frozen(self) -> Cost {
        Cost {
            trainable: 0,
            trainable_tensors: 0,
            frozen_matmul: self.matmul - self.unquantized_matmul,
            frozen_matmul_tensors: self.matmul_tensors,
            tied_trainable: 0,
            factored: 0,
            small_trainable: 0,
            unpaged_trainable: 0,
            largest_tensor: 0,
            act: self.act.frozen(),
            checkpointed: self.checkpointed.frozen(),
            block: self.block.frozen(),
            source: self.source.frozen(),
            ..self
        }
    }

    /// The same layer whose weights are another layer's (`#[params(tied)]`, e.g. GPT-2's
    /// `lm_head` sharing `wte`): its parameters are not counted again (they move to
    /// [`Cost::tied`]); its activations, KV cache and widths stay.
    #[must_use]
    pub const fn tied(self) -> Cost {
        Cost {
            params: 0,
            trainable: 0,
            active: 0,
            tensors: 0,
            trainable_tensors: 0,
            matmul: 0,
            frozen_matmul: 0,
            uncast_matmul: 0,
            unquantized_matmul: 0,
            matmul_tensors: 0,
            frozen_matmul_tensors: 0,
            rows: 0,
            matmul_rows: 0,
            factored: 0,
            small_trainable: 0,
            unpaged_trainable: 0,
            largest_tensor: 0,
            tied: match add(self.tied, self.params, Overflow::Parameters) {
                Ok(n) => n,
                Err(e) => return self.poisoned(e),
            },
            tied_trainable: match add(self.tied_trainable, self.trainable, Overflow::Parameters) {
                Ok(n) => n,
                Err(e) => return self.poisoned(e),
            },
            block_params: 0,
            repeated_params: 0,
            repeated_matmul: 0,
            unit_params: 0,
            lead_params: 0,
            ..self
        }
    }

    /// The same layer reading an input that the previous layer already keeps (e.g. `k_proj`
    /// after `q_proj`, both reading the normalized hidden states): its
    /// [`Activations::weight_input_per_token`] moves to [`Activations::shared_input_per_token`]
    /// (and its textbook bytes are dropped), since a storage saved twice is stored once.
    #[must_use]
    pub const fn shares_input(self) -> Cost {
        // a frozen layer keeps no input of its own: nothing to share
        let shared = if self.input < self.act.weight_input_per_token {
            self.input
        } else {
            self.act.weight_input_per_token
        };
        let act = Activations {
            weight_input_per_token: self.act.weight_input_per_token - shared,
            shared_input_per_token: self.act.shared_input_per_token.saturating_add(shared),
            // the textbook counts the input once, trained or not
            textbook_per_token: self
                .act
                .textbook_per_token
                .saturating_sub(self.input.saturating_mul(2)),
            textbook_replicated_per_token: self
                .act
                .textbook_replicated_per_token
                .saturating_sub(self.input.saturating_mul(2)),
            ..self.act
        };
        Cost { act, ..self }
    }

    /// Parameter elements that do not train.
    #[must_use]
    pub const fn frozen_params(self) -> u64 {
        self.params - self.trainable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_counts_elements_and_adafactor_factors() {
        let w = Cost::parameter(&[3072, 768]);
        assert_eq!(w.params, 3072 * 768);
        assert_eq!(w.tensors, 1);
        // Hugging Face Adafactor: exp_avg_sq_row has shape[:-1] = 3072, _col shape[:-2]+[-1] = 768
        assert_eq!(w.factored, 3072 + 768);
        let conv = Cost::parameter(&[64, 3, 7, 7]);
        // row: 64·3·7, col: 64·3·7
        assert_eq!(conv.factored, 2 * 64 * 3 * 7);
        let bias = Cost::parameter(&[768]);
        assert_eq!(bias.factored, 768);
        assert_eq!(bias.small_trainable, 768);
        assert_eq!(Cost::parameter(&[]).params, 1);
    }

    #[test]
    fn add_is_sequential_and_times_scales() {
        let a = Cost::parameter(&[10, 4]).widths(4, 10);
        let b = Cost::parameter(&[2, 10]).widths(10, 2);
        let ab = a.add(b);
        assert_eq!((ab.params, ab.tensors, ab.input, ab.output), (60, 2, 4, 2));
        assert_eq!(ab.largest_tensor, 40);
        let t = ab.times(3);
        assert_eq!(
            (t.params, t.tensors, t.largest_tensor, t.input),
            (180, 6, 40, 4)
        );
    }

    #[test]
    fn repeated_records_checkpointing_units() {
        let block = Cost::parameter(&[8, 8]).widths(8, 8).saves(Activations {
            per_token: 5,
            ..Activations::ZERO
        });
        let stack = block.repeated(4);
        assert_eq!(stack.act.per_token, 20);
        assert_eq!(stack.checkpointed.per_token, 20);
        assert_eq!(stack.block.per_token, 5);
        assert_eq!(stack.checkpoint_per_token, 32);
        assert_eq!(stack.block_params, 64);
    }

    #[test]
    fn tied_and_frozen() {
        let w = Cost::parameter(&[50257, 768]).matmul().widths(768, 50257);
        let t = w.tied();
        assert_eq!((t.params, t.tied, t.output), (0, 50257 * 768, 50257));
        assert_eq!(t.tied_trainable, 50257 * 768);
        let f = w.frozen();
        assert_eq!(
            (f.params, f.trainable, f.frozen_matmul),
            (50257 * 768, 0, 50257 * 768)
        );
        // a head frozen, then tied (LoRA's GPT-2): no gradient to sum
        assert_eq!(f.tied().tied_trainable, 0);
        assert_eq!(t.frozen().tied_trainable, 0);
    }

    /// A weight's rows are its output features (PyTorch's `weight.shape[0]` for a `Linear`,
    /// `shape[0] * shape[1]` for stacked experts); vectors have none; a head marked unquantized
    /// keeps its rows out of the quantizable ones.
    #[test]
    fn rows_of_matmul_weights() {
        let w = Cost::parameter(&[4096, 11008]).matmul();
        assert_eq!((w.rows, w.matmul_rows), (4096, 4096));
        assert_eq!(Cost::parameter(&[4096]).rows, 0);
        assert_eq!(Cost::parameter(&[8, 64, 256]).rows, 8 * 64);
        assert_eq!(w.unquantized().matmul_rows, 0);
        assert_eq!(w.add(w).times(3).matmul_rows, 6 * 4096);
    }

    #[test]
    fn overflow_names_the_quantity() {
        let huge = Cost::parameter(&[u64::MAX]);
        assert_eq!(huge.checked_add(huge), Err(Overflow::Parameters));
        assert_eq!(huge.checked_times(2), Err(Overflow::Parameters));
        let kv = Cost::ZERO.caches(u64::MAX, 0);
        assert_eq!(kv.checked_add(kv), Err(Overflow::KvCache));
    }

    #[test]
    fn composing_forms_record_the_overflow() {
        let huge = Cost::parameter(&[u64::MAX, 2]);
        assert_eq!(huge.overflow, Some(Overflow::Parameters));
        // it stays recorded through every composition, and the checked forms report it
        let model = Cost::parameter(&[8]).add(huge).repeated(4).times(2);
        assert_eq!(model.valid(), Err(Overflow::Parameters));
        assert_eq!(
            Cost::parameter(&[8]).checked_add(huge),
            Err(Overflow::Parameters)
        );
        let stacked = Cost::parameter(&[1 << 40]).repeated(1 << 30);
        assert_eq!(stacked.overflow, Some(Overflow::Parameters));
    }
}
