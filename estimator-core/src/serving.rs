//! [`Vllm`]: what vLLM's engine allocates for its paged KV cache at startup, and what that
//! holds — token capacity, concurrency, the longest `max_model_len` that starts.
//!
//! Written from vLLM's source (the 0.33 wheel, V1 engine; paths under `vllm/`):
//! - the budget: `requested = ⌈total × gpu_memory_utilization⌉` (`v1/worker/utils.py`), less
//!   what the startup profile measures — the weights and persistent buffers, the profiling
//!   forward's activation peak, non-torch memory, CUDA graphs (`v1/worker/gpu_worker.py`,
//!   `determine_available_memory`; `utils/mem_utils.py`);
//! - the profiling forward: `max_num_batched_tokens` tokens over
//!   `min(max_num_batched_tokens, max_num_seqs)` requests, one logits row per request for the
//!   dummy sampler (`v1/worker/gpu_model_runner.py`, `_dummy_run`, `_dummy_sampler_run`);
//! - the page: `block_size × kv_heads × (head_size + head_size_v) × dtype` bytes per layer,
//!   `kv_heads = max(1, total_kv_heads / tp)` per rank (`v1/kv_cache_interface.py`,
//!   `config/model.py`); a latent (MLA) page is `block_size × (kv_lora_rank + rope) × dtype`;
//! - `num_blocks = available // (num_layers × page)` (`v1/core/kv_cache_planning.py`), the
//!   first of them a reserved null block (`v1/core/block_pool.py`); "Maximum concurrency" =
//!   `num_blocks / ⌈max_model_len / block_size⌉`, "GPU KV cache size" its multiple of
//!   `max_model_len` (`v1/core/kv_cache_utils.py`); startup fails unless one request of
//!   `max_model_len` fits in `available − one block` (`kv_cache_planning.py`).
//!
//!
//! Sliding-window layers (Mistral, Gemma 2/3, gpt-oss) go through vLLM's hybrid allocator, on
//! by default on GPUs (`config/vllm.py`): the layers are bucketed by spec, each bucket split
//! into groups of `group_size` layers — the smallest bucket's count, or the largest's when it is
//! under 1.5 × the smallest (`kv_cache_planning.py`, `_get_kv_cache_groups_hybrid`) — one block
//! is `group_size` pages, every group draws from one pool, and a sliding-window group needs
//! `⌈min(window − 1 + in-flight tokens, max_model_len) / block_size⌉ + 1` blocks a request, the
//! in-flight tokens being two batches of `max_num_batched_tokens` under async scheduling
//! (`v1/kv_cache_interface.py`, `SlidingWindowSpec`; `config/vllm.py`,
//! `max_in_flight_tokens`). Concurrency is the pool over the sum of the groups' blocks a
//! request, the token capacity that times `max_model_len` (`kv_cache_utils.py`,
//! `get_max_concurrency_for_kv_cache_config`).
//!
//! State-space layers ([`Vllm::mamba`]: their per-request state, as the caller computes it from
//! `model_executor/layers/mamba/mamba_utils.py`) are one page a layer: an attention-free model
//! (Mamba, Mamba-2; prefix caching off) is one group of every layer, a block one state, one
//! block a request; a hybrid (Jamba) raises the attention block to the least multiple of
//! `max(16, block_size)` whose page holds a state, pads the state to that page
//! (`platforms/interface.py`, `_align_hybrid_block_size`), groups as above, and — prefix caching
//! on for hybrids, `mamba_cache_mode` "align" — a request takes `2 +` the mixer's prefill
//! checkpoint blocks in each Mamba group (`v1/kv_cache_interface.py`, `MambaSpec`).
//!
//! Refused ([`EstimateError::EngineNotModeled`]): state-space layers without their states,
//! state-space and sliding layers together, cross-attention, and sliding and full layers of
//! different page sizes (vLLM raises the smaller pages' block size).

/// Concurrent batches in flight: vLLM 0.33's async scheduling (its default) at pipeline size 1
/// (`config/vllm.py`, `max_concurrent_batches`).
const IN_FLIGHT_BATCHES: u64 = 2;

use crate::cost::Cost;
use crate::dtype::DType;
use crate::inference::{Inference, Logits, cache_bytes};
use crate::memory::{EstimateError, Phase};
use crate::policy::AttentionKernel;
use crate::training::{largest, mul, tri};
use crate::units::Bytes;

/// vLLM's KV-cache groups: `full` groups of full attention, `sliding` of sliding-window and
/// `mamba` of state-space layers, `size` layers each, a layer's page `page` bytes (one block of
/// `block` tokens; a Mamba layer's page is one whole state), `window` tokens for the sliding
/// ones, `mamba_blocks` blocks a request in a Mamba group.
struct Groups {
    full: u64,
    sliding: u64,
    mamba: u64,
    size: u64,
    page: u64,
    block: u64,
    window: u64,
    mamba_blocks: u64,
}

/// The state-space layers of a model vLLM serves (see [`Vllm::mamba`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Mamba {
    layers: u64,
    state: u64,
    checkpoint_blocks: u64,
}

/// `_get_kv_cache_groups_uniform_page_size`'s group size for buckets of `a` and `b` layers:
/// the smaller count, or the larger when it is under 1.5 × the smaller.
const fn group_size(a: u64, b: u64) -> u64 {
    let (small, large) = if a < b { (a, b) } else { (b, a) };
    // `max_num_layers < min_num_layers * 1.5`
    if 2 * large < 3 * small { large } else { small }
}

/// The groups of vLLM 0.33's planner (`v1/core/kv_cache_planning.py`) for a model whose
/// full-attention layers take `full` bytes per token in all, its sliding-window layers
/// `sliding`, and its state-space layers `mamba`, at `block_size` tokens a block:
/// - attention alone: one group when all layers are of one kind (`_get_kv_cache_groups_uniform_spec`);
///   otherwise groups of [`group_size`] layers, the last of each kind padded
///   (`_get_kv_cache_groups_hybrid`);
/// - state-space layers alone (Mamba, Mamba-2, attention-free: prefix caching off, so
///   `mamba_cache_mode` "none"): one group of every layer, a block one state, one a request;
/// - both (Jamba): the attention block raised to the least multiple of `max(16, block_size)`
///   whose page holds a state, the state padded to that page (`platforms/interface.py`,
///   `_align_hybrid_block_size`), groups of [`group_size`] layers; prefix caching is on for
///   hybrids (`config/model.py`, `is_prefix_caching_supported`), so "align": a request takes
///   `2 + prefill checkpoint blocks` in a Mamba group (`v1/kv_cache_interface.py`, `MambaSpec`).
const fn groups(
    c: &Cost,
    full: u64,
    sliding: u64,
    mamba: Option<Mamba>,
    block_size: u64,
) -> Result<Groups, EstimateError> {
    let (lf, ls) = (c.kv_layers, c.kv_window_layers);
    if let Some(m) = mamba {
        if ls > 0 || m.layers == 0 || m.state == 0 {
            return Err(EstimateError::EngineNotModeled);
        }
        if lf == 0 {
            return Ok(Groups {
                full: 0,
                sliding: 0,
                mamba: 1,
                size: m.layers,
                page: m.state,
                block: block_size,
                window: 0,
                mamba_blocks: 1,
            });
        }
        let per_layer = full / lf;
        if per_layer * lf != full || per_layer == 0 {
            return Err(EstimateError::EngineNotModeled);
        }
        // FlashAttention's kernels take multiples of 16 tokens
        let a = if block_size > 16 { block_size } else { 16 };
        let Some(unit) = a.checked_mul(per_layer) else {
            return Err(EstimateError::Overflow);
        };
        let raised = a * m.state.div_ceil(unit);
        let raised = 16 * raised.div_ceil(16);
        let block = if block_size < raised {
            raised
        } else {
            block_size
        };
        let Some(page) = block.checked_mul(per_layer) else {
            return Err(EstimateError::Overflow);
        };
        let size = group_size(lf, m.layers);
        return Ok(Groups {
            full: lf.div_ceil(size),
            sliding: 0,
            mamba: m.layers.div_ceil(size),
            size,
            page,
            block,
            window: 0,
            mamba_blocks: 2 + m.checkpoint_blocks,
        });
    }
    if lf == 0 && ls == 0 {
        return Err(EstimateError::EngineNotModeled);
    }
    // one kind of layer: one group whose block is every layer's page
    // (`_get_kv_cache_groups_uniform_spec`, which also takes layers of different widths)
    if lf == 0 || ls == 0 {
        let Some(page) = (if lf > 0 { full } else { sliding }).checked_mul(block_size) else {
            return Err(EstimateError::Overflow);
        };
        return Ok(Groups {
            full: if lf > 0 { 1 } else { 0 },
            sliding: if ls > 0 { 1 } else { 0 },
            mamba: 0,
            size: 1,
            page,
            block: block_size,
            window: c.window,
            mamba_blocks: 0,
        });
    }
    // both kinds: every layer alike, one page size (vLLM would raise the smaller pages' block
    // size)
    let layer_bytes = full / lf;
    if layer_bytes * lf != full || layer_bytes * ls != sliding {
        return Err(EstimateError::EngineNotModeled);
    }
    let size = group_size(lf, ls);
    let Some(page) = layer_bytes.checked_mul(block_size) else {
        return Err(EstimateError::Overflow);
    };
    Ok(Groups {
        full: lf.div_ceil(size),
        sliding: ls.div_ceil(size),
        mamba: 0,
        size,
        page,
        block: block_size,
        window: c.window,
        mamba_blocks: 0,
    })
}

/// vLLM's startup on one GPU of a tensor-parallel group (see the module's sources).
///
/// ```
/// use estimator::prelude::*;
/// use estimator::{Vllm, gpu};
///
/// #[derive(Params)]
/// struct Decoder {
///     layers: [MultiHeadAttention<5120, 40>; 40],
/// }
///
/// // OPT-13B's attention (vLLM's paper: 800 KiB of KV cache per token), on 40 GiB
/// let plan = Vllm::new(Decoder::COST, "decoder", gpu::A100_40GB.capacity)
///     .max_model_len(2048)
///     .checked_plan()
///     .expect("fits");
/// assert_eq!(plan.bytes_per_token, 819_200);
/// assert_eq!(plan.tokens, plan.blocks * 16);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vllm {
    cost: Cost,
    model: &'static str,
    gpu: Bytes,
    utilization_permille: u64,
    block_size: u64,
    max_model_len: u64,
    max_num_batched_tokens: u64,
    max_num_seqs: u64,
    weights: DType,
    kv_cache: Option<DType>,
    tensor_parallel: u64,
    other: Bytes,
    stored: Option<Bytes>,
    mamba: Option<Mamba>,
}

/// What vLLM's startup arrives at, per GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct KvPlan {
    /// `⌈total × gpu_memory_utilization⌉`.
    pub requested: Bytes,
    /// The weights and buffers on this GPU.
    pub weights: Bytes,
    /// The profiling forward's activation peak (its logits included).
    pub activations: Bytes,
    /// Non-torch memory and CUDA graphs, as given ([`Vllm::other`]).
    pub other: Bytes,
    /// What is left for the KV cache (0 when nothing is).
    pub kv_cache: Bytes,
    /// KV-cache bytes of one token over every layer on this GPU.
    pub bytes_per_token: u64,
    /// `block_size` tokens of it.
    pub bytes_per_block: u64,
    /// `kv_cache // bytes_per_block` (the first one is vLLM's reserved null block).
    pub blocks: u64,
    /// Token slots, "GPU KV cache size": the concurrency times `max_model_len` — `blocks ×
    /// block_size` when every layer caches every token and `block_size` divides it.
    pub tokens: u64,
    /// KV-cache groups (1 when every layer caches every token; with sliding windows or
    /// state-space layers, the groups of each kind).
    pub groups: u64,
    /// Tokens an attention block holds: `block_size`, or what a hybrid's alignment raised it to.
    pub block_size: u64,
    /// A state-space layer's page, one request's state padded to the attention page (0 without
    /// state-space layers).
    pub state_bytes: u64,
    /// Blocks one request of `max_model_len` tokens needs, over every group.
    pub blocks_per_request: u64,
    /// Requests of `max_model_len` tokens at once, in thousandths ("Maximum concurrency …:
    /// X.XXx" is this / 1000).
    pub concurrency_milli: u64,
    /// The longest `max_model_len` that starts (vLLM's "estimated maximum model length"), at
    /// most the one set.
    pub max_model_len: u64,
    /// Whether `max_model_len` starts: one such request fits beside the null block.
    pub starts: bool,
}

/// KV-cache bytes of `per_token` cached elements a token on one GPU of `tp`
/// ([`cache_bytes`]: whole heads a rank, replicated past the KV heads).
pub(crate) const fn kv_bytes_per_token(
    c: &Cost,
    per_token: u64,
    tp: u64,
    dtypes: (Option<DType>, DType),
) -> Result<u64, EstimateError> {
    let bytes = tri!(cache_bytes(c, per_token as u128, tp, dtypes));
    if bytes > u64::MAX as u128 {
        return Err(EstimateError::Overflow);
    }
    Ok(bytes as u64)
}

impl Vllm {
    /// vLLM's defaults on a GPU of `gpu` total memory: `gpu_memory_utilization` 0.92,
    /// `block_size` 16, the KV cache in the model's dtype (bf16 weights), one GPU, and
    /// `max_num_batched_tokens` / `max_num_seqs` of the OpenAI server (8192 / 1024 on a GPU of
    /// 70 GiB or more, 2048 / 256 below: `engine/arg_utils.py`). `max_model_len` defaults to a
    /// learned position table's rows, else must be set ([`Vllm::max_model_len`]).
    #[must_use]
    pub const fn new(cost: Cost, model: &'static str, gpu: Bytes) -> Vllm {
        let large = gpu.get() >= 70 << 30;
        Vllm {
            cost,
            model,
            gpu,
            utilization_permille: 920,
            block_size: 16,
            max_model_len: cost.positions,
            max_num_batched_tokens: if large { 8192 } else { 2048 },
            max_num_seqs: if large { 1024 } else { 256 },
            weights: DType::BF16,
            kv_cache: None,
            tensor_parallel: 1,
            other: Bytes::ZERO,
            stored: None,
            mamba: None,
        }
    }

    /// `gpu_memory_utilization` in thousandths (default 920).
    #[must_use]
    pub const fn gpu_memory_utilization_permille(self, permille: u64) -> Vllm {
        Vllm {
            utilization_permille: permille,
            ..self
        }
    }

    /// `block_size` in tokens (default 16; FlashMLA takes 64).
    #[must_use]
    pub const fn block_size(self, tokens: u64) -> Vllm {
        Vllm {
            block_size: tokens,
            ..self
        }
    }

    /// `max_model_len`: the longest request (prompt + output) the engine admits.
    #[must_use]
    pub const fn max_model_len(self, tokens: u64) -> Vllm {
        Vllm {
            max_model_len: tokens,
            ..self
        }
    }

    /// `max_num_batched_tokens`: the tokens of the profiling forward (and of one step).
    #[must_use]
    pub const fn max_num_batched_tokens(self, tokens: u64) -> Vllm {
        Vllm {
            max_num_batched_tokens: tokens,
            ..self
        }
    }

    /// `max_num_seqs`: the requests of one step (the profiling forward's logits rows).
    #[must_use]
    pub const fn max_num_seqs(self, n: u64) -> Vllm {
        Vllm {
            max_num_seqs: n,
            ..self
        }
    }

    /// The weights' dtype (default `BF16`; quantized types apply to the matmul weights).
    #[must_use]
    pub const fn weights(self, dtype: DType) -> Vllm {
        Vllm {
            weights: dtype,
            ..self
        }
    }

    /// `kv_cache_dtype` (default "auto": the model's activation dtype).
    #[must_use]
    pub const fn kv_cache(self, dtype: DType) -> Vllm {
        Vllm {
            kv_cache: Some(dtype),
            ..self
        }
    }

    /// `tensor_parallel_size` (default 1): the weights and activations split, the KV heads
    /// `max(1, kv_heads / tp)` per GPU.
    #[must_use]
    pub const fn tensor_parallel(self, t: u64) -> Vllm {
        Vllm {
            tensor_parallel: t,
            ..self
        }
    }

    /// What vLLM's profile measures beyond the tensors: non-torch memory allocated after its
    /// snapshot (NCCL buffers) and the CUDA graphs it captures (extrapolated from two captures;
    /// default zero — vLLM prints both at startup).
    #[must_use]
    pub const fn other(self, bytes: Bytes) -> Vllm {
        Vllm {
            other: bytes,
            ..self
        }
    }

    /// The model's state-space layers as vLLM caches them: `layers` mixers whose state (conv
    /// and SSM, per request on one GPU) is `state_bytes` — `(k − 1) · I/tp · b + I/tp · N · b`
    /// for Mamba-1, `(k − 1) · (I + 2·G'·N)/tp · b + H/tp · P · N · b` for Mamba-2
    /// (`model_executor/layers/mamba/mamba_utils.py`; `b` the model dtype's bytes, the
    /// default "auto" cache dtypes) — and `prefill_checkpoint_blocks` (Mamba-2's mixer: 1;
    /// Mamba-1's: 0). Without it a model with state-space layers is refused.
    #[must_use]
    pub const fn mamba(
        self,
        layers: u64,
        state_bytes: u64,
        prefill_checkpoint_blocks: u64,
    ) -> Vllm {
        Vllm {
            mamba: Some(Mamba {
                layers,
                state: state_bytes,
                checkpoint_blocks: prefill_checkpoint_blocks,
            }),
            ..self
        }
    }

    /// The weights as the checkpoint stores them (see [`Inference::stored_weights`]).
    #[must_use]
    pub const fn stored_weights(self, bytes: Bytes) -> Vllm {
        Vllm {
            stored: Some(bytes),
            ..self
        }
    }

    /// KV-cache bytes of `per_token` cached elements a token on one GPU: heads split by the
    /// tensor-parallel degree down to one per GPU (a latent cache is whole on each).
    const fn bytes_per_token(&self, per_token: u64) -> Result<u64, EstimateError> {
        kv_bytes_per_token(
            &self.cost,
            per_token,
            self.tensor_parallel,
            (self.kv_cache, self.weights),
        )
    }

    /// The profiling forward: `max_num_batched_tokens` tokens over `min(tokens,
    /// max_num_seqs)` requests, the fused kernel, one logits row per request (per GPU).
    const fn profile(&self) -> Result<(Bytes, Bytes), EstimateError> {
        let tokens = self.max_num_batched_tokens;
        let requests = if self.max_num_seqs < tokens {
            self.max_num_seqs
        } else {
            tokens
        };
        let per_request = tokens.div_ceil(requests);
        let mut run = Inference::new(self.cost, self.model)
            .batch(requests)
            .prompt(per_request)
            .generate(0)
            .weights(self.weights)
            .attention(AttentionKernel::Flash)
            .logits(Logits::Last)
            .tensor_parallel(self.tensor_parallel);
        if let Some(b) = self.stored {
            run = run.stored_weights(b);
        }
        let m = tri!(run.checked_at(Phase::Prefill));
        let Some(activations) = m.activations.checked_add(m.logits) else {
            return Err(EstimateError::Overflow);
        };
        Ok((m.weights, activations))
    }

    /// What vLLM arrives at on one GPU.
    ///
    /// # Errors
    /// [`EstimateError::EngineNotModeled`] for what the module refuses (state-space layers
    /// without [`Vllm::mamba`], cross-attention, unequal pages); [`EstimateError::ZeroSeq`] without a
    /// `max_model_len`; zero parallel degrees, block sizes or batch limits; a plan the model
    /// refuses ([`Inference::checked_estimate`]'s).
    pub const fn checked_plan(&self) -> Result<KvPlan, EstimateError> {
        let c = &self.cost;
        let stateful = c.conv_state > 0 || c.ssm_state > 0;
        if (stateful && self.mamba.is_none()) || c.source.output > 0 {
            return Err(EstimateError::EngineNotModeled);
        }
        if self.max_model_len == 0 || self.max_num_batched_tokens == 0 || self.max_num_seqs == 0 {
            return Err(EstimateError::ZeroSeq);
        }
        if self.block_size == 0 || self.tensor_parallel == 0 {
            return Err(EstimateError::ZeroParallel);
        }
        let requested = (self.gpu.get() as u128 * self.utilization_permille as u128).div_ceil(1000);
        let (weights, activations) = tri!(self.profile());
        let used = weights.get() as u128 + activations.get() as u128 + self.other.get() as u128;
        let kv = requested.saturating_sub(used);
        let full = tri!(self.bytes_per_token(c.kv_per_token));
        let sliding = tri!(self.bytes_per_token(c.kv_window_per_token));
        let g = tri!(groups(c, full, sliding, self.mamba, self.block_size));
        let bytes_per_block = tri!(mul(g.page as u128, g.size as u128));
        let blocks = match kv.checked_div(bytes_per_block) {
            Some(n) => n,
            None => 0,
        };
        // the pool less vLLM's null block
        let room = if blocks > 0 { blocks - 1 } else { 0 };
        let blocks_per_request = self.blocks_per_request(&g, self.max_model_len);
        // the longest request that fits beside the null block
        let longest =
            largest!(|n| n <= self.max_model_len && self.blocks_per_request(&g, n) as u128 <= room);
        let tokens = tri!(mul(blocks, self.max_model_len as u128)) / blocks_per_request as u128;
        if requested > u64::MAX as u128
            || tokens > u64::MAX as u128
            || bytes_per_block > u64::MAX as u128
        {
            return Err(EstimateError::Overflow);
        }
        Ok(KvPlan {
            requested: Bytes::new(requested as u64),
            weights,
            activations,
            other: self.other,
            kv_cache: Bytes::new(kv as u64),
            bytes_per_token: full.saturating_add(sliding),
            bytes_per_block: bytes_per_block as u64,
            blocks: blocks as u64,
            tokens: tokens as u64,
            groups: g.full + g.sliding + g.mamba,
            // an attention-free model's block is a whole request (`v1/engine/core.py` sets
            // `block_size` to the smallest group's, `max_model_len`)
            block_size: if g.full + g.sliding == 0 {
                self.max_model_len
            } else {
                g.block
            },
            state_bytes: match self.mamba {
                Some(_) => g.page,
                None => 0,
            },
            blocks_per_request,
            concurrency_milli: (blocks * 1000 / blocks_per_request as u128) as u64,
            max_model_len: longest,
            starts: room >= blocks_per_request as u128,
        })
    }

    /// Whether vLLM starts with at least `concurrency_milli` thousandths of a request of
    /// `max_model_len` at once.
    const fn reaches(&self, concurrency_milli: u64) -> bool {
        match self.checked_plan() {
            Ok(p) => p.starts && p.concurrency_milli >= concurrency_milli,
            Err(_) => false,
        }
    }

    /// The least `gpu_memory_utilization`, in thousandths, at which vLLM starts with
    /// `concurrency_milli` thousandths of requests of `max_model_len` at once ("Maximum
    /// concurrency … 4.00x" is 4000); `None` when even all of the GPU does not.
    #[must_use]
    pub const fn utilization_for(&self, concurrency_milli: u64) -> Option<u64> {
        if !self
            .gpu_memory_utilization_permille(1000)
            .reaches(concurrency_milli)
        {
            return None;
        }
        // the concurrency grows with the utilization: bisect over (lo, hi]
        let (mut lo, mut hi) = (0u64, 1000u64);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self
                .gpu_memory_utilization_permille(mid)
                .reaches(concurrency_milli)
            {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(hi)
    }

    /// The least tensor-parallel degree, a power of two up to 64 that the model's heads allow,
    /// at which vLLM starts with `concurrency_milli` thousandths of requests of
    /// `max_model_len` at once on GPUs like this one; `None` when 64 do not.
    #[must_use]
    pub const fn tensor_parallel_for(&self, concurrency_milli: u64) -> Option<u64> {
        let mut t = 1;
        while t <= 64 {
            if self.tensor_parallel(t).reaches(concurrency_milli) {
                return Some(t);
            }
            t *= 2;
        }
        None
    }

    /// Blocks one request of `len` tokens takes from the pool: every full-attention group's
    /// `⌈len / block_size⌉`, every sliding-window group's admission cap, every Mamba group's
    /// state blocks.
    const fn blocks_per_request(&self, g: &Groups, len: u64) -> u64 {
        let bs = g.block;
        let full = len.div_ceil(bs);
        let in_flight = IN_FLIGHT_BATCHES.saturating_mul(self.max_num_batched_tokens);
        let held = g.window.saturating_sub(1).saturating_add(in_flight);
        let window = (if held < len { held } else { len }).div_ceil(bs) + 1;
        full.saturating_mul(g.full)
            .saturating_add(window.saturating_mul(g.sliding))
            .saturating_add(g.mamba_blocks.saturating_mul(g.mamba))
    }
}
