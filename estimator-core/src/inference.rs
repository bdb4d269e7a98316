//! [`Inference`]: the memory of generating with a KV cache, as a const builder.

use crate::cost::Cost;
use crate::dtype::DType;
use crate::memory::{EstimateError, Memory, Phase, Workload};
use crate::params::Params;
use crate::policy::AttentionKernel;
use crate::training::{add, bytes, check_plan, default_source, largest, mul, share, tri};
use crate::units::Bytes;

/// The memory of serving a model: weights, the KV cache of every sequence in the batch, and the
/// larger of two moments — the prompt's forward pass (prefill: the prompt's keys and values, and
/// the larger of the widest layer's working set and the logits of the whole prompt) and the last
/// generated token (decode: the full cache).
///
/// KV cache = 2 (K and V) × layers × kv_heads × head_dim × batch × (prompt + generated) × dtype
/// bytes; layers with a sliding window keep at most `window − 1` tokens (transformers'
/// `DynamicSlidingWindowLayer`).
///
/// ```
/// use estimator::prelude::*;
///
/// #[derive(Params)]
/// struct Decoder {
///     layers: [MultiHeadAttention<4096, 32, 32, false>; 32],
/// }
///
/// // Llama-2-7B's attention: 2 · 32 · 4096 elements per token, 512 KiB in 16 bits; after
/// // the last token the cache holds 4000 + 96 tokens
/// const M: Memory = Inference::of::<Decoder>()
///     .batch(1)
///     .prompt(4000)
///     .generate(96)
///     .at(Phase::Decode);
/// assert_eq!(M.kv_cache, Bytes::kib(512 * 4096));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inference {
    cost: Cost,
    model: &'static str,
    batch: u64,
    prompt: u64,
    generate: u64,
    source: u64,
    weights: DType,
    kv_cache: Option<DType>,
    attention: AttentionKernel,
    logits: Logits,
    tensor_parallel: u64,
    overhead: Bytes,
    stored: Option<Bytes>,
}

/// Which tokens' logits the prompt's pass (prefill) computes and keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Logits {
    /// Every prompt token's: a forward call on the whole prompt (`model(input_ids)`, as a
    /// hand-written loop or a scoring run does).
    Prompt,
    /// The last token's only: `generate()` (`logits_to_keep=1` in transformers), vLLM, SGLang,
    /// llama.cpp.
    Last,
}

/// 256 generated tokens, or a quarter of a learned position table of at most 2048 rows; an
/// encoder–decoder's decoder generates up to 256 tokens after its one start token.
const fn default_generate(cost: &Cost) -> u64 {
    let positions = cost.positions;
    if cost.fixed_length {
        // a vision transformer reads its image in one pass
        return 0;
    }
    if cost.source.output > 0 {
        return if positions > 0 && positions <= 256 {
            positions - 1
        } else {
            256
        };
    }
    if positions > 0 && positions <= 2048 && positions / 4 < 256 {
        positions / 4
    } else {
        256
    }
}

/// A 2048-token prompt, or what a learned position table leaves after the generated tokens; an
/// encoder–decoder's decoder starts from one token (`decoder_start_token_id`).
const fn default_prompt(cost: &Cost) -> u64 {
    if cost.source.output > 0 {
        return 1;
    }
    let positions = cost.positions;
    let room = positions.saturating_sub(default_generate(cost));
    if positions > 0 && room < 2048 {
        if room == 0 { 1 } else { room }
    } else {
        2048
    }
}

/// Bytes of an activation element for weights of `dtype`: fp32 for fp32 weights (and fp64 for
/// fp64), 16 bits otherwise (quantized weights are dequantized to 16 bits for the matmul).
pub(crate) const fn compute_bytes(dtype: DType) -> u128 {
    match dtype {
        DType::F64 => 8,
        DType::F32 | DType::TF32 => 4,
        _ => 2,
    }
}

/// Cache bytes of `elems` elements of model `c` on one GPU of `tp`, whole heads per GPU: split
/// over at most the KV heads, replicated beyond (vLLM's `config/model.py`, SGLang's
/// `configs/model_config.py`: `max(1, kv_heads // tp)` heads a rank); a cache not split by head
/// (a latent, `kv_heads` 0) whole on every GPU. In the cache's dtype, or the weights' compute
/// dtype.
pub(crate) const fn cache_bytes(
    c: &Cost,
    elems: u128,
    tp: u64,
    (kv_cache, weights): (Option<DType>, DType),
) -> Result<u128, EstimateError> {
    let kv_split = if c.kv_heads == 0 {
        1
    } else if c.kv_heads < tp {
        c.kv_heads
    } else {
        tp
    };
    let elems = share(elems, kv_split);
    Ok(match kv_cache {
        Some(d) => {
            if elems > u64::MAX as u128 {
                return Err(EstimateError::Overflow);
            }
            match d.checked_bytes_for(elems as u64) {
                Some(v) => v.get() as u128,
                None => return Err(EstimateError::Overflow),
            }
        }
        None => tri!(mul(elems, compute_bytes(weights))),
    })
}

impl Cost {
    /// The parameters' bytes stored in `dtype`: a quantized format (8 bits or fewer) converts
    /// the matmul weights but an [unquantized](Cost::unquantized) head and leaves the rest —
    /// embeddings, norms, biases — in 16 bits, as bitsandbytes, GPTQ and AWQ do; a float format
    /// stores everything. `None` beyond `u64`.
    #[must_use]
    pub const fn weights_in(&self, dtype: DType) -> Option<Bytes> {
        let quantized = dtype.whole_bytes().is_none()
            || matches!(dtype, DType::I8 | DType::F8E4M3 | DType::F8E5M2);
        if !quantized {
            return dtype.checked_bytes_for(self.params);
        }
        let converted = self.matmul - self.unquantized_matmul;
        let Some(matmul) = dtype.checked_bytes_for_tensors(converted, self.matmul_tensors) else {
            return None;
        };
        match (self.params - converted).checked_mul(2) {
            Some(rest) => matmul.checked_add(Bytes::new(rest)),
            None => None,
        }
    }
}

impl Inference {
    /// Serving `M` with the defaults: batch 1, prompt 2048, 256 generated tokens (inside a
    /// learned position table of fewer rows: a quarter of it generated, the rest prompt), BF16 weights,
    /// KV cache in the compute dtype, `AttentionKernel::Flash`, one GPU, no overhead.
    #[must_use]
    pub const fn of<M: Params + ?Sized>() -> Inference {
        Inference::new(M::COST, M::KIND)
    }

    /// Serving a model known by its [`Cost`], with the defaults of [`Inference::of`].
    #[must_use]
    pub const fn new(cost: Cost, model: &'static str) -> Inference {
        Inference {
            cost,
            model,
            batch: 1,
            prompt: default_prompt(&cost),
            generate: default_generate(&cost),
            source: default_source(&cost),
            weights: DType::BF16,
            kv_cache: None,
            attention: AttentionKernel::Flash,
            logits: Logits::Last,
            tensor_parallel: 1,
            overhead: Bytes::ZERO,
            stored: None,
        }
    }

    /// Sequences generated at once (default 1; at least 1).
    #[must_use]
    pub const fn batch(self, batch: u64) -> Inference {
        Inference { batch, ..self }
    }

    /// Prompt length in tokens (default 2048; at least 1).
    #[must_use]
    pub const fn prompt(self, prompt: u64) -> Inference {
        Inference { prompt, ..self }
    }

    /// Tokens generated after the prompt (default 256); the cache holds prompt + generated.
    #[must_use]
    pub const fn generate(self, generate: u64) -> Inference {
        Inference { generate, ..self }
    }

    /// The tokens generated after the prompt.
    #[must_use]
    pub const fn generated(&self) -> u64 {
        self.generate
    }

    /// The prompt's length in tokens.
    #[must_use]
    pub const fn prompt_len(&self) -> u64 {
        self.prompt
    }

    /// The weights' dtype priced.
    #[must_use]
    pub const fn weight_dtype(&self) -> DType {
        self.weights
    }

    /// An encoder–decoder's source length (see [`Training::source`](crate::Training::source)):
    /// the encoder runs once over it, and every decoder layer caches its keys and values for
    /// every source position. The prompt is then the decoder's (default 1 token).
    #[must_use]
    pub const fn source(self, source: u64) -> Inference {
        Inference { source, ..self }
    }

    /// The source length (0 for a model without an encoder).
    #[must_use]
    pub const fn source_len(&self) -> u64 {
        self.source
    }

    /// Weight dtype (default `BF16`). Quantized types (int8, int4, NF4, fp8, ternary) apply to
    /// the matmul weights; embeddings, norms and biases stay in 16 bits, as bitsandbytes, GPTQ
    /// and AWQ keep them.
    #[must_use]
    pub const fn weights(self, weights: DType) -> Inference {
        Inference { weights, ..self }
    }

    /// KV-cache dtype (default: the compute dtype, fp32 for fp32 weights and 16 bits
    /// otherwise).
    #[must_use]
    pub const fn kv_cache(self, dtype: DType) -> Inference {
        Inference {
            kv_cache: Some(dtype),
            ..self
        }
    }

    /// The attention kernel (default `AttentionKernel::Flash`; eager materializes the prompt's
    /// `s × s` scores during prefill).
    #[must_use]
    pub const fn attention(self, attention: AttentionKernel) -> Inference {
        Inference { attention, ..self }
    }

    /// Tensor-parallel degree (default 1): weights and activations divided by `t`; the KV cache
    /// by `t` up to the key/value heads and replicated beyond (vLLM keeps at least one KV head
    /// per GPU; a latent cache is whole on every GPU). `t` must divide the attention heads, and
    /// divide the key/value heads or be a multiple of them, as vLLM requires
    /// ([`EstimateError::TensorParallelHeads`], [`EstimateError::TensorParallelKvHeads`]).
    /// The K and V projections replicated with their heads are counted divided by `t`.
    #[must_use]
    pub const fn tensor_parallel(self, t: u64) -> Inference {
        Inference {
            tensor_parallel: t,
            ..self
        }
    }

    /// Which tokens of the prompt's pass keep their logits (default `Logits::Last`, what
    /// `generate()` does with `logits_to_keep=1`, and what serving engines do).
    #[must_use]
    pub const fn logits(self, logits: Logits) -> Inference {
        Inference { logits, ..self }
    }

    /// Adds a fixed amount (allocator reserve, workspaces; default zero).
    #[must_use]
    pub const fn overhead(self, overhead: Bytes) -> Inference {
        Inference { overhead, ..self }
    }

    /// The weights as a checkpoint stores them (the sum of its safetensors headers' tensors:
    /// packed quantized weights, scales and zero points as they are): priced instead of the
    /// parameter count in [`Inference::weights`]' dtype, which still sets the activations'.
    /// Tensor parallelism divides them; buffers come on top, as without.
    #[must_use]
    pub const fn stored_weights(self, bytes: Bytes) -> Inference {
        Inference {
            stored: Some(bytes),
            ..self
        }
    }

    /// The weights as stored, when set ([`Inference::stored_weights`]).
    #[must_use]
    pub const fn stored(&self) -> Option<Bytes> {
        self.stored
    }

    /// The parameters' bytes: quantized formats apply to matmul weights only.
    const fn weight_bytes(&self) -> Result<u128, EstimateError> {
        if let Some(b) = self.stored {
            return Ok(b.get() as u128);
        }
        match self.cost.weights_in(self.weights) {
            Some(b) => Ok(b.get() as u128),
            None => Err(EstimateError::Overflow),
        }
    }

    /// Bytes of an activation element (see [`compute_bytes`]).
    const fn compute_bytes(&self) -> u128 {
        compute_bytes(self.weights)
    }

    /// The memory at the peak of generation; stops const evaluation with
    /// [`EstimateError::message`] on invalid settings or overflow.
    #[must_use]
    pub const fn estimate(self) -> Memory {
        match self.checked_estimate() {
            Ok(m) => m,
            Err(e) => panic!("{}", e.message()),
        }
    }

    /// The larger of prefill and decode.
    ///
    /// # Errors
    /// [`EstimateError`] when the batch, prompt or parallel degree is zero, or a total exceeds
    /// `u64` bytes.
    pub const fn checked_estimate(self) -> Result<Memory, EstimateError> {
        let prefill = tri!(self.checked_at(Phase::Prefill));
        let decode = tri!(self.checked_at(Phase::Decode));
        Ok(if prefill.total().get() >= decode.total().get() {
            prefill
        } else {
            decode
        })
    }

    /// The memory at `phase` (`Phase::Prefill` or `Phase::Decode`; the training phases give
    /// decode's).
    #[must_use]
    pub const fn at(self, phase: Phase) -> Memory {
        match self.checked_at(phase) {
            Ok(m) => m,
            Err(e) => panic!("{}", e.message()),
        }
    }

    /// The memory at `Phase::Prefill` or `Phase::Decode` (other phases give decode's).
    ///
    /// # Errors
    /// As [`Inference::checked_estimate`].
    pub const fn checked_at(self, phase: Phase) -> Result<Memory, EstimateError> {
        if self.batch == 0 {
            return Err(EstimateError::ZeroBatch);
        }
        if self.prompt == 0 {
            return Err(EstimateError::ZeroSeq);
        }
        if self.tensor_parallel == 0 {
            return Err(EstimateError::ZeroParallel);
        }
        let Some(tokens) = self.prompt.checked_add(self.generate) else {
            return Err(EstimateError::Overflow);
        };
        tri!(check_plan(
            &self.cost,
            tokens,
            self.source,
            self.tensor_parallel,
            true
        ));
        if self.cost.eager_attention {
            return Err(EstimateError::InferenceNotModeled);
        }
        let c = &self.cost;
        let t = self.tensor_parallel;
        let weights = tri!(add(
            share(tri!(self.weight_bytes()), t),
            c.buffer_bytes as u128
        ));
        let phase = if matches!(phase, Phase::Prefill) {
            Phase::Prefill
        } else {
            Phase::Decode
        };
        let mut m = Memory::empty(Workload::Inference, phase, self.model, self.overhead);
        m.weights = tri!(bytes(weights));
        let (activations, kv_cache, logits) = tri!(self.decoder_moment(phase));
        m.activations = tri!(bytes(activations));
        m.kv_cache = tri!(bytes(kv_cache));
        m.logits = tri!(bytes(logits));
        // an encoder–decoder's prefill starts with the encoder's pass, before any cache
        if let Phase::Prefill = phase {
            let encoder = tri!(self.encoder_working_set());
            if encoder > tri!(add(tri!(add(activations, kv_cache)), logits)) {
                m.activations = tri!(bytes(encoder));
                m.kv_cache = Bytes::ZERO;
                m.logits = Bytes::ZERO;
            }
        }
        m.validated()
    }

    /// The encoder's pass over the source, per GPU (0 without an encoder): the widest point of
    /// any encoder layer, and with eager attention a layer's scores and their softmax.
    const fn encoder_working_set(&self) -> Result<u128, EstimateError> {
        let src = &self.cost.source;
        let cb = self.compute_bytes();
        let tokens = tri!(mul(self.batch as u128, self.source as u128));
        let mut working = tri!(mul(tri!(mul(tokens, src.live_per_token as u128)), cb));
        if !matches!(self.attention, AttentionKernel::Flash) {
            let heads = 2 * src.encoder_block.score_heads as u128
                + src.encoder_block.masked_score_heads as u128;
            let scores = tri!(mul(
                tri!(mul(tokens, self.source as u128)),
                tri!(mul(heads, cb))
            ));
            working = tri!(add(working, scores));
        }
        // a position bias built once for every layer (T5's), whatever the kernel
        let square = tri!(mul(self.source as u128, self.source as u128));
        let bias = tri!(mul(
            square,
            tri!(mul(src.encoder_block.bias_heads as u128, cb))
        ));
        working = tri!(add(working, bias));
        Ok(share(working, self.tensor_parallel))
    }

    /// Cache bytes of `elems` elements on one GPU (see [`cache_bytes`]).
    const fn cache_bytes(&self, elems: u128) -> Result<u128, EstimateError> {
        cache_bytes(
            &self.cost,
            elems,
            self.tensor_parallel,
            (self.kv_cache, self.weights),
        )
    }

    /// The head's moment of a pass over `tokens` (bytes: every token's hidden states and the
    /// logits kept) and the logits' elements: a generation head keeps the last token's or the
    /// prompt's ([`Inference::logits`]); an encoder's head is part of the working set.
    const fn head_moment(
        &self,
        tokens: u128,
        decoding: bool,
    ) -> Result<(u128, u128), EstimateError> {
        let c = &self.cost;
        let kept = if c.logits_input > 0 && !decoding {
            match self.logits {
                Logits::Prompt => tokens,
                Logits::Last => self.batch as u128,
            }
        } else {
            tokens
        };
        let logit_elems = tri!(mul(kept, c.output as u128));
        let at_head = tri!(mul(
            tri!(add(tri!(mul(tokens, c.logits_input as u128)), logit_elems)),
            self.compute_bytes()
        ));
        Ok((at_head, logit_elems))
    }

    /// The decoder's pass at `phase` (the prompt's, or the last generated token's), per GPU:
    /// (activations, KV cache, logits). An encoder–decoder's decoder also holds the encoder's
    /// output (activations) and the cross-attention cache of every source position.
    const fn decoder_moment(&self, phase: Phase) -> Result<(u128, u128, u128), EstimateError> {
        let c = &self.cost;
        let src = &c.source;
        let t = self.tensor_parallel;
        let b = self.batch as u128;
        let cb = self.compute_bytes();
        let decoding = !matches!(phase, Phase::Prefill);
        let cached_tokens = if decoding {
            match self.prompt.checked_add(self.generate) {
                Some(n) => n as u128,
                None => return Err(EstimateError::Overflow),
            }
        } else {
            self.prompt as u128
        };
        // KV cache: a sliding layer keeps the last `window - 1` tokens (transformers'
        // `DynamicSlidingWindowLayer`; the token being processed makes the window)
        let windowed = if c.window > 0 && cached_tokens >= c.window as u128 {
            c.window as u128 - 1
        } else {
            cached_tokens
        };
        let source_tokens = tri!(mul(b, self.source as u128));
        let kv_elems = tri!(add(
            tri!(add(
                tri!(mul(tri!(mul(b, cached_tokens)), c.kv_per_token as u128)),
                tri!(mul(tri!(mul(b, windowed)), c.kv_window_per_token as u128))
            )),
            tri!(mul(source_tokens, src.kv_per_token as u128))
        ));
        // a state-space mixer's states: the same size whatever the length (convolution state
        // in the activation dtype, recurrent state in fp32), split with the mixers' heads
        let states = share(
            tri!(add(
                tri!(mul(b, tri!(mul(c.conv_state as u128, cb)))),
                tri!(mul(b, tri!(mul(c.ssm_state as u128, 4))))
            )),
            t,
        );
        let kv_cache = tri!(add(tri!(self.cache_bytes(kv_elems)), states));
        // The working set (no autograd): the widest point of any layer — the head's is its
        // input and the logits of every token of the pass (prefill computes them for the whole
        // prompt) — and with eager attention a layer's scores and their softmax, over the
        // cached tokens and (cross-attention) the source.
        let pass_tokens = if decoding { 1u128 } else { self.prompt as u128 };
        let tokens = tri!(mul(b, pass_tokens));
        let mut working = tri!(mul(tri!(mul(tokens, c.live_per_token as u128)), cb));
        if !matches!(self.attention, AttentionKernel::Flash) {
            let scores = tri!(mul(
                tri!(mul(tokens, cached_tokens)),
                tri!(mul(
                    2 * c.block.score_heads as u128 + c.block.masked_score_heads as u128,
                    cb
                ))
            ));
            let cross = tri!(mul(
                tri!(mul(tokens, self.source as u128)),
                tri!(mul(2 * src.cross_block.score_heads as u128, cb))
            ));
            // the scores exist at attention's moment, beside what is alive then; a wider
            // moment elsewhere (the MLP) peaks without them
            let beside = if c.score_live_per_token > 0 {
                c.score_live_per_token
            } else {
                c.live_per_token
            };
            // and the causal masks eager attention builds for the whole forward
            let masks = tri!(mul(
                tri!(mul(tokens, cached_tokens)),
                tri!(mul(c.eager_masks as u128, cb))
            ));
            let at_scores = tri!(add(
                tri!(add(tri!(mul(tri!(mul(tokens, beside as u128)), cb)), masks)),
                tri!(add(scores, cross))
            ));
            // a decoder layer holds its attention's probabilities (one of the two) until it
            // returns, through its MLP (measured: the tiny Llama at 4 × 256)
            let held = if c.score_live_per_token > 0 {
                tri!(add(scores / 2, masks))
            } else {
                0
            };
            working = tri!(add(working, held));
            if at_scores > working {
                working = at_scores;
            }
        }
        // masks built once per forward for every layer that takes one (ModernBERT's local
        // window), and a position bias for every layer (T5's), whatever the kernel
        let masks = tri!(add(
            tri!(mul(
                tri!(mul(tokens, cached_tokens)),
                tri!(mul(c.act.mask_maps as u128, cb))
            )),
            tri!(mul(
                tri!(mul(pass_tokens, cached_tokens)),
                tri!(mul(c.block.bias_heads as u128, cb))
            ))
        ));
        working = tri!(add(working, masks));
        let (at_head, logit_elems) = tri!(self.head_moment(tokens, decoding));
        if at_head > working {
            working = at_head;
        }
        let working = share(working, t);
        let logits = share(tri!(mul(logit_elems, cb)), t);
        // Report the logits as such and the rest of the widest moment as activations (at the
        // head: its input); when a layer is wider than the head, the split is nominal and the
        // total is that layer's.
        let (activations, logits) = if working > logits {
            (working - logits, logits)
        } else {
            (0, logits)
        };
        // the encoder's output, kept while the decoder generates
        let held = share(
            tri!(mul(tri!(mul(source_tokens, src.output as u128)), cb)),
            t,
        );
        Ok((tri!(add(activations, held)), kv_cache, logits))
    }

    /// Whether generation fits in `budget` (false when the estimate is invalid).
    #[must_use]
    pub const fn fits(self, budget: Bytes) -> bool {
        Memory::result_fits(self.checked_estimate(), budget)
    }

    /// The largest batch that fits in `budget` (0 when one sequence does not).
    #[must_use]
    pub const fn max_batch(self, budget: Bytes) -> u64 {
        largest!(|n| self.batch(n).fits(budget))
    }

    /// The longest prompt that fits in `budget` with the set number of generated tokens (0
    /// when a one-token prompt does not); prompt and generated tokens never run past a learned
    /// position table ([`Cost::positions`]).
    #[must_use]
    pub const fn max_seq(self, budget: Bytes) -> u64 {
        largest!(|n| self.prompt(n).fits(budget))
    }
}
