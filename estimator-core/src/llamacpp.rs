//! [`LlamaCpp`]: what llama.cpp allocates when it loads a model — weights split between the
//! GPU and the host by `n_gpu_layers`, the KV cache of `n_ctx` cells, the compute buffers.
//!
//! Written from llama.cpp's source (commit 0c1e57098, ggml 0.25.3, as vendored by
//! llama-cpp-python 0.3.36; paths under `vendor/llama.cpp/`) and checked against its CPU
//! build's reported buffer sizes:
//! - `n_ctx` padded to a multiple of 256 (`src/llama-context.cpp`); the KV cache of every
//!   attention layer `n_ctx × (row(type_k, n_embd_k_gqa) + row(type_v, n_embd_v_gqa))` bytes,
//!   a row of `n` elements `n / block × bytes per block` of the ggml type
//!   (`src/llama-kv-cache.cpp`, `ggml/src/ggml.c`); sliding-window layers hold
//!   `pad(min(n_ctx, n_swa + n_ubatch), 256)` cells (`src/llama-kv-cache-iswa.cpp`, the
//!   command line's `swa_full = false`);
//! - offload (`src/llama-model.cpp`): the output layer (the final norm and the head) goes to
//!   the GPU first, then the repeating layers from the last; the token embeddings stay on the
//!   host; a tied head is a second copy on the output's device; each layer's KV cache lives
//!   with its layer;
//! - the compute buffer on the output's device (`src/llama-context.cpp`, graph reserve at
//!   `n_ubatch` tokens with every row through the head): `4 × n_ubatch × (n_vocab + 2 ×
//!   n_embd)` bytes with flash attention, else at least `4 × n_ubatch × n_ctx × (n_head + 1) +
//!   22 × n_ubatch × n_embd` (measured on the CPU build at n_ubatch 64–2048, n_ctx 1024–32768);
//!   the host's, `4 × n_ubatch × n_embd + n_ctx × n_ubatch × (2 or 4)` (graph inputs, read from
//!   the source, not measured); the logits buffer `4 × n_vocab` on the host.
//!
//! Weights are one ggml type for every matrix (the 2-D tensors: embeddings, projections, the
//! head) and f32 for the vectors, as `convert_hf_to_gguf.py` writes f32, f16, bf16 and q8_0
//! files; the K-quant mixtures (Q4_K_M …) vary by tensor and need the GGUF file's own list.
//! State-space states, cross-attention and layers of unequal size under partial offload are
//! refused ([`EstimateError::EngineNotModeled`]).

use crate::cost::Cost;
use crate::memory::EstimateError;
use crate::training::{add, mul, tri};
use crate::units::Bytes;

/// A ggml tensor type: elements per block and bytes per block (`ggml/src/ggml.c`'s type
/// table, `ggml/src/ggml-common.h`'s block structs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum GgmlType {
    /// 32-bit float.
    F32,
    /// IEEE half.
    F16,
    /// bfloat16.
    BF16,
    /// 32 8-bit values and an f16 scale: 34 bytes.
    Q8_0,
    /// 32 4-bit values and an f16 scale: 18 bytes.
    Q4_0,
    /// 32 4-bit values, an f16 scale and minimum: 20 bytes.
    Q4_1,
    /// 32 5-bit values and an f16 scale: 22 bytes.
    Q5_0,
    /// 32 5-bit values, an f16 scale and minimum: 24 bytes.
    Q5_1,
    /// 32 4-bit non-linear values and an f16 scale: 18 bytes.
    Iq4Nl,
}

impl GgmlType {
    /// Elements per block and bytes per block.
    #[must_use]
    pub const fn block(self) -> (u64, u64) {
        match self {
            GgmlType::F32 => (1, 4),
            GgmlType::F16 | GgmlType::BF16 => (1, 2),
            GgmlType::Q8_0 => (32, 34),
            GgmlType::Q4_0 | GgmlType::Iq4Nl => (32, 18),
            GgmlType::Q4_1 => (32, 20),
            GgmlType::Q5_0 => (32, 22),
            GgmlType::Q5_1 => (32, 24),
        }
    }

    /// Bytes of `n` elements (`ggml_row_size`, whole blocks).
    #[must_use]
    pub const fn bytes_for(self, n: u64) -> u128 {
        let (elems, bytes) = self.block();
        n.div_ceil(elems) as u128 * bytes as u128
    }

    /// llama.cpp's name (`--cache-type-k`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            GgmlType::F32 => "f32",
            GgmlType::F16 => "f16",
            GgmlType::BF16 => "bf16",
            GgmlType::Q8_0 => "q8_0",
            GgmlType::Q4_0 => "q4_0",
            GgmlType::Q4_1 => "q4_1",
            GgmlType::Q5_0 => "q5_0",
            GgmlType::Q5_1 => "q5_1",
            GgmlType::Iq4Nl => "iq4_nl",
        }
    }
}

/// llama.cpp loading a model on one GPU and the host (see the module's sources).
///
/// ```
/// use estimator::prelude::*;
/// use estimator::{GgmlType, LlamaCpp};
///
/// #[derive(Params)]
/// struct Decoder {
///     embed_tokens: Embedding<128_256, 4096>,
///     layers: [MultiHeadAttention<4096, 32, 8, false>; 32],
///     lm_head: Linear<4096, 128_256, false>,
/// }
///
/// // Llama-3-8B's attention at 8192 cells, f16: 1024 MiB, as llama.cpp reports it
/// let plan = LlamaCpp::new(Decoder::COST, "decoder").n_ctx(8192).checked_plan().expect("plans");
/// assert_eq!(plan.gpu_kv_cache.get(), 1024 << 20);
/// let q8 = LlamaCpp::new(Decoder::COST, "decoder")
///     .n_ctx(8192)
///     .cache_types(GgmlType::Q8_0, GgmlType::Q8_0)
///     .checked_plan()
///     .expect("plans");
/// assert_eq!(q8.gpu_kv_cache.get(), 544 << 20);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LlamaCpp {
    cost: Cost,
    model: &'static str,
    n_ctx: u64,
    n_ubatch: u64,
    n_gpu_layers: Option<u64>,
    flash_attention: bool,
    type_k: GgmlType,
    type_v: GgmlType,
    weights: GgmlType,
    stored: Option<(Bytes, Bytes)>,
}

/// What llama.cpp allocates, on the GPU and on the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LlamaCppPlan {
    /// `n_ctx` after padding to 256 cells.
    pub n_ctx: u64,
    /// Layers on the GPU, the output layer counted (llama.cpp's "offloaded N/M layers").
    pub gpu_layers: u64,
    /// All layers, the output layer counted.
    pub layers: u64,
    /// The weights on the GPU: the output layer and the offloaded repeating layers.
    pub gpu_weights: Bytes,
    /// The KV cache of the offloaded layers.
    pub gpu_kv_cache: Bytes,
    /// The compute buffer on the GPU (its lower bound under partial offload, which also copies
    /// host layers' weights for batches of 32 tokens or more).
    pub gpu_compute: Bytes,
    /// The weights on the host: the token embeddings and the other layers.
    pub host_weights: Bytes,
    /// The KV cache of the layers on the host.
    pub host_kv_cache: Bytes,
    /// The host's compute buffer and the logits' output buffer.
    pub host_compute: Bytes,
}

impl LlamaCppPlan {
    /// What the GPU holds.
    #[must_use]
    pub const fn gpu_total(&self) -> Bytes {
        Bytes::new(
            self.gpu_weights
                .get()
                .saturating_add(self.gpu_kv_cache.get())
                .saturating_add(self.gpu_compute.get()),
        )
    }

    /// What the host holds.
    #[must_use]
    pub const fn host_total(&self) -> Bytes {
        Bytes::new(
            self.host_weights
                .get()
                .saturating_add(self.host_kv_cache.get())
                .saturating_add(self.host_compute.get()),
        )
    }
}

impl LlamaCpp {
    /// llama.cpp's command-line defaults: every layer on the GPU (`-ngl` auto, with a GPU that
    /// takes them: `--fit` would lower it otherwise), flash attention on (`auto` on a GPU that
    /// has it), an f16 KV cache, `n_ubatch` 512, f16 weights. `n_ctx` defaults to a learned
    /// position table's rows, else must be set (llama.cpp's 0 is the trained context).
    #[must_use]
    pub const fn new(cost: Cost, model: &'static str) -> LlamaCpp {
        LlamaCpp {
            cost,
            model,
            n_ctx: cost.positions,
            n_ubatch: 512,
            n_gpu_layers: None,
            flash_attention: true,
            type_k: GgmlType::F16,
            type_v: GgmlType::F16,
            weights: GgmlType::F16,
            stored: None,
        }
    }

    /// The weights on the GPU and on the host as a GGUF file's own tensors place them at this
    /// plan's `n_gpu_layers` (summed by the caller, who reads the file): priced instead of the
    /// count in [`LlamaCpp::weights`]' type.
    #[must_use]
    pub const fn stored_weights(self, gpu: Bytes, host: Bytes) -> LlamaCpp {
        LlamaCpp {
            stored: Some((gpu, host)),
            ..self
        }
    }

    /// `-c`: the KV cache's cells (padded to 256).
    #[must_use]
    pub const fn n_ctx(self, cells: u64) -> LlamaCpp {
        LlamaCpp {
            n_ctx: cells,
            ..self
        }
    }

    /// `-ub`: the tokens of one graph (default 512).
    #[must_use]
    pub const fn n_ubatch(self, tokens: u64) -> LlamaCpp {
        LlamaCpp {
            n_ubatch: tokens,
            ..self
        }
    }

    /// `-ngl`: layers on the GPU, the output layer first (default: all).
    #[must_use]
    pub const fn n_gpu_layers(self, layers: u64) -> LlamaCpp {
        LlamaCpp {
            n_gpu_layers: Some(layers),
            ..self
        }
    }

    /// `-fa on|off` (default on).
    #[must_use]
    pub const fn flash_attention(self, on: bool) -> LlamaCpp {
        LlamaCpp {
            flash_attention: on,
            ..self
        }
    }

    /// `-ctk`, `-ctv` (default f16, f16).
    #[must_use]
    pub const fn cache_types(self, k: GgmlType, v: GgmlType) -> LlamaCpp {
        LlamaCpp {
            type_k: k,
            type_v: v,
            ..self
        }
    }

    /// The weights' type for every matrix (default f16; vectors are f32).
    #[must_use]
    pub const fn weights(self, t: GgmlType) -> LlamaCpp {
        LlamaCpp { weights: t, ..self }
    }

    /// The model's name.
    #[must_use]
    pub const fn model(&self) -> &'static str {
        self.model
    }

    /// Bytes of `matrices` matrix elements and `vectors` vector elements.
    const fn stored(&self, matrices: u64, vectors: u64) -> Result<u128, EstimateError> {
        add(
            self.weights.bytes_for(matrices),
            tri!(mul(vectors as u128, 4)),
        )
    }

    /// The weights of one repeating layer, of the input layer (the token embeddings and a
    /// learned position table) and of the output layer (the final norm and the head; a tied
    /// head is a second copy of the embeddings), and whether every layer is alike.
    const fn layer_weights(&self, n_embd: u64) -> Result<(u128, u128, u128, bool), EstimateError> {
        let c = &self.cost;
        let layers = c.blocks;
        // the matrices outside the layers: the head (embeddings are not matmul weights)
        let head = c.matmul - c.repeated_matmul;
        let matrices = c.repeated_matmul / layers;
        let params = c.repeated_params / layers;
        let uniform =
            params * layers == c.repeated_params && matrices * layers == c.repeated_matmul;
        let layer = tri!(self.stored(matrices, params.saturating_sub(matrices)));
        let embeddings = c.output.saturating_mul(n_embd);
        let inputs = embeddings.saturating_add(c.positions.saturating_mul(n_embd));
        let input = tri!(self.stored(inputs, 0));
        let outside = (c.params - c.repeated_params).saturating_sub(head);
        let output_matrix = if head > 0 { head } else { embeddings };
        let output = tri!(self.stored(output_matrix, outside.saturating_sub(inputs)));
        Ok((layer, input, output, uniform))
    }

    /// The KV cache of one full-attention layer over `n_ctx` cells and of one sliding-window
    /// layer over its cells (`n_swa + n_ubatch`, padded, at most `n_ctx`).
    const fn layer_caches(&self, n_ctx: u64, ub: u64) -> Result<(u128, u128), EstimateError> {
        let c = &self.cost;
        let (full, swa) = (c.kv_layers, c.kv_window_layers);
        let per_layer = match (
            c.kv_per_token.checked_div(full),
            c.kv_window_per_token.checked_div(swa),
        ) {
            (Some(n), _) | (None, Some(n)) => n,
            (None, None) => 0,
        };
        // one layer size for both kinds (Gemma 2 and 3, gpt-oss, Mistral's are)
        if (full > 0 && per_layer * full != c.kv_per_token)
            || (swa > 0 && per_layer * swa != c.kv_window_per_token)
        {
            return Err(EstimateError::EngineNotModeled);
        }
        // K and V alike, or a latent in K alone (no V for MLA)
        let (k, v) = if c.kv_heads == 0 {
            (per_layer, 0)
        } else {
            (per_layer / 2, per_layer / 2)
        };
        let row = tri!(add(self.type_k.bytes_for(k), self.type_v.bytes_for(v)));
        let kept = c.window.saturating_add(ub);
        let swa_cells = (if kept < n_ctx { kept } else { n_ctx }).div_ceil(256) * 256;
        Ok((
            tri!(mul(row, n_ctx as u128)),
            tri!(mul(row, swa_cells as u128)),
        ))
    }

    /// The compute buffers: the GPU's (the head's logits over `n_ubatch` rows, or the
    /// attention scores without flash attention) and the host's (graph inputs and the logits'
    /// output buffer).
    const fn compute(
        &self,
        n_ctx: u64,
        ub: u64,
        n_embd: u64,
    ) -> Result<(u128, u128), EstimateError> {
        let c = &self.cost;
        let ub = ub as u128;
        let logits = tri!(mul(4 * ub, c.output as u128 + 2 * n_embd as u128));
        let gpu = if self.flash_attention {
            logits
        } else {
            let scores = tri!(mul(tri!(mul(4 * ub, n_ctx as u128)), c.heads as u128 + 1));
            let attention = tri!(add(scores, tri!(mul(22 * ub, n_embd as u128))));
            if attention > logits {
                attention
            } else {
                logits
            }
        };
        let mask = if self.flash_attention { 2 } else { 4 };
        let host = tri!(add(
            tri!(add(
                tri!(mul(4 * ub, n_embd as u128)),
                tri!(mul(tri!(mul(n_ctx as u128, ub)), mask))
            )),
            4 * c.output as u128
        ));
        Ok((gpu, host))
    }

    /// What llama.cpp arrives at.
    ///
    /// # Errors
    /// [`EstimateError::EngineNotModeled`] for state-space states, cross-attention, a model
    /// without repeated layers, and layers of unequal size under partial offload;
    /// [`EstimateError::ZeroSeq`] without an `n_ctx` or `n_ubatch`.
    pub const fn checked_plan(&self) -> Result<LlamaCppPlan, EstimateError> {
        let c = &self.cost;
        if c.conv_state > 0 || c.ssm_state > 0 || c.source.output > 0 || c.blocks == 0 {
            return Err(EstimateError::EngineNotModeled);
        }
        if self.n_ctx == 0 || self.n_ubatch == 0 {
            return Err(EstimateError::ZeroSeq);
        }
        let n_ctx = self.n_ctx.div_ceil(256) * 256;
        let ub = if self.n_ubatch < n_ctx {
            self.n_ubatch
        } else {
            n_ctx
        };
        let layers = c.blocks;
        let n_embd = c.checkpoint_per_token / layers;
        let (layer, input, output, uniform) = tri!(self.layer_weights(n_embd));
        let (full_kv, swa_kv) = tri!(self.layer_caches(n_ctx, ub));
        // offload: the output layer first, then the repeating layers from the last
        let all = layers + 1;
        let on_gpu = match self.n_gpu_layers {
            Some(n) if n < all => n,
            _ => all,
        };
        if on_gpu < all && !uniform {
            return Err(EstimateError::EngineNotModeled);
        }
        let gpu_blocks = on_gpu.saturating_sub(1);
        // attention layers spread evenly over the blocks
        let (full, swa) = (c.kv_layers, c.kv_window_layers);
        let gpu_kv = tri!(add(
            tri!(mul(full_kv, (full * gpu_blocks / layers) as u128)),
            tri!(mul(swa_kv, (swa * gpu_blocks / layers) as u128))
        ));
        let all_kv = tri!(add(
            tri!(mul(full_kv, full as u128)),
            tri!(mul(swa_kv, swa as u128))
        ));
        let mut gpu_weights = tri!(mul(layer, gpu_blocks as u128));
        let mut host_weights = tri!(add(tri!(mul(layer, (layers - gpu_blocks) as u128)), input));
        let (compute, host) = tri!(self.compute(n_ctx, ub, n_embd));
        let (gpu_compute, host_compute) = if on_gpu > 0 {
            gpu_weights = tri!(add(gpu_weights, output));
            (compute, host)
        } else {
            host_weights = tri!(add(host_weights, output));
            (0, tri!(add(host, compute)))
        };
        if let Some((gpu, host)) = self.stored {
            gpu_weights = gpu.get() as u128;
            host_weights = host.get() as u128;
        }
        let values = [
            gpu_weights,
            gpu_kv,
            gpu_compute,
            host_weights,
            all_kv,
            host_compute,
        ];
        let mut i = 0;
        while i < values.len() {
            if values[i] > u64::MAX as u128 {
                return Err(EstimateError::Overflow);
            }
            i += 1;
        }
        Ok(LlamaCppPlan {
            n_ctx,
            gpu_layers: on_gpu,
            layers: all,
            gpu_weights: Bytes::new(gpu_weights as u64),
            gpu_kv_cache: Bytes::new(gpu_kv as u64),
            gpu_compute: Bytes::new(gpu_compute as u64),
            host_weights: Bytes::new(host_weights as u64),
            host_kv_cache: Bytes::new((all_kv - gpu_kv) as u64),
            host_compute: Bytes::new(host_compute as u64),
        })
    }
}
