//! [`Sglang`]: what SGLang's server allocates for its KV pool at startup, and what that holds.
//!
//! Written from SGLang's source (0.5.23, paths under `sglang/srt/`):
//! - `mem_fraction_static` when not set (`arg_groups/memory_hook.py`): a reserve in MiB of
//!   `512 + 1.5 × max(chunked_prefill_size, 2048) + (tp / 8) × 1024 + graph reserve`, at least
//!   10 GiB on GPUs over 60 GiB, the graph reserve `2 × decode max_bs + 8 × prefill graph
//!   sizes` (MLA: `+ 1536` for the prefill graphs), and `round((total − reserve) / total, 3)`
//!   of the GPU's `nvidia-smi` total; `chunked_prefill_size` and the decode graphs' `max_bs`
//!   by GPU tier;
//! - the pool (`mem_cache/kv_cache_configurator.py`, `_profile_available_bytes`;
//!   `model_executor/pool_configurator.py`): of the free memory before the weights load, `P`,
//!   `mem_fraction_static × P` is "static" — the weights and the KV pool; the pool gets
//!   `f × P − weights`, in cells of `max(1, kv_heads / tp) × (head_dim + v_head_dim) × layers
//!   × dtype` bytes a token (a latent cache's `kv_lora_rank + rope` per layer, whole on every
//!   rank), whole pages of `page_size` tokens, capped by `max_total_tokens`; one more page is
//!   allocated as padding; `max_running_requests = min(clamp(tokens / context_len × 512,
//!   2048, 4096), tokens / 2)`.
//!
//! Sliding-window layers share the one pool as full layers (SGLang's normal pool, which
//! Gemma 2 and 3 use), except for the architectures on SGLang's hybrid-SWA list (gpt-oss,
//! Llama 4, …: `configs/model_config.py`, `is_hybrid_swa_model`), which split it
//! ([`Sglang::split_sliding_window`], `model_executor/pool_configurator.py`,
//! `HybridSWAPoolConfigurator`): a token of the full pool costs the full layers' bytes and
//! `swa_full_tokens_ratio` (0.8) of the sliding layers', `max_total_num_tokens =
//! budget // cell` page-aligned is the full pool, the sliding pool `ratio ×` it page-aligned,
//! each allocated with a padding page, and startup fails when the sliding pool does not exceed
//! `sliding_window + page_size` (`validate_swa_pool_size`). Attention-free state-space
//! models get SGLang's state pool ([`Sglang::mamba`]); hybrids with attention layers,
//! state-space layers without their states, and cross-attention are refused
//! ([`EstimateError::EngineNotModeled`]).

use crate::cost::Cost;
use crate::dtype::DType;
use crate::inference::Inference;
use crate::memory::{EstimateError, Phase};
use crate::serving::kv_bytes_per_token;
use crate::training::{mul, tri};
use crate::units::Bytes;

/// SGLang's server at startup on one GPU of a tensor-parallel group (see the module's sources).
///
/// ```
/// use estimator::prelude::*;
/// use estimator::{Sglang, gpu};
///
/// #[derive(Params)]
/// struct Decoder {
///     layers: [MultiHeadAttention<4096, 32, 8, false>; 32],
/// }
///
/// // an H100's default `mem_fraction_static` (SGLang's own resolution code gives 0.83)
/// let plan = Sglang::new(Decoder::COST, "decoder", gpu::H100_80GB)
///     .context_length(8192)
///     .checked_plan()
///     .expect("fits");
/// assert_eq!(plan.mem_fraction_static_permille, 830);
/// // K and V of 8 heads of 128 in 32 layers, bf16
/// assert_eq!(plan.bytes_per_token, 131_072);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sglang {
    cost: Cost,
    model: &'static str,
    total: Bytes,
    free: Bytes,
    fraction_permille: Option<u64>,
    chunked_prefill: Option<u64>,
    context_length: u64,
    page_size: u64,
    max_total_tokens: Option<u64>,
    weights: DType,
    kv_cache: Option<DType>,
    tensor_parallel: u64,
    stored: Option<Bytes>,
    swa_ratio_permille: Option<u64>,
    mamba: Option<(u64, u64)>,
}

/// What SGLang's startup arrives at, per GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SglangPlan {
    /// `mem_fraction_static`, in thousandths (the one set, or SGLang's default).
    pub mem_fraction_static_permille: u64,
    /// The reserve the default fraction leaves (0 when the fraction is set).
    pub reserve: Bytes,
    /// The free memory before the weights load, `P`.
    pub free: Bytes,
    /// The weights and buffers on this GPU.
    pub weights: Bytes,
    /// The pool's budget: `mem_fraction_static × P − weights` (0 when nothing is left).
    pub budget: Bytes,
    /// KV-cache bytes of one token over every layer on this GPU (SGLang's cell).
    pub bytes_per_token: u64,
    /// The pool's tokens, "max_total_num_tokens" (0: SGLang stops with "Not enough memory");
    /// with a split sliding-window pool, the full layers' ("full_layer_tokens").
    pub tokens: u64,
    /// The split sliding-window pool's tokens ("swa_layer_tokens"; 0 without one).
    pub swa_tokens: u64,
    /// Whether SGLang starts: a pool at all, and a sliding pool larger than `sliding_window +
    /// page_size`.
    pub starts: bool,
    /// K and V as allocated, with the padding page: "K size" + "V size".
    pub kv_cache: Bytes,
    /// "max_running_requests".
    pub max_running_requests: u64,
    /// Requests of `context_length` tokens the pool holds at once, in thousandths.
    pub concurrency_milli: u64,
    /// `context_length`.
    pub context_length: u64,
    /// An attention-free model's state slots, "max_mamba_cache_size" (0 otherwise).
    pub state_slots: u64,
    /// One request's state over every layer (0 without state-space layers).
    pub state_bytes: u64,
}

/// `chunked_prefill_size` and the decode CUDA graphs' `max_bs` for a GPU of `mib` MiB
/// (`memory_hook.py`, by tier).
const fn tier(mib: u64, tp: u64) -> (u64, u64) {
    let wide = tp >= 4;
    if mib < 20 * 1024 {
        (2048, 8)
    } else if mib < 35 * 1024 {
        (4096, if wide { 160 } else { 48 })
    } else if mib < 60 * 1024 {
        (4096, if wide { 160 } else { 32 })
    } else if mib < 160 * 1024 {
        (8192, if wide { 512 } else { 256 })
    } else {
        (16384, 512)
    }
}

/// SGLang's prefill CUDA-graph sizes up to `max_bs` (`cuda_graph_hook.py`):
/// `4..=32 step 4`, `48..=256 step 16`, `288..=512 step 32`, `576..=1024 step 64`,
/// `1280..=4096 step 256`, `4608..=max_bs step 512`.
const fn prefill_graphs(max_bs: u64) -> u64 {
    let ranges = [
        (4, 32, 4),
        (48, 256, 16),
        (288, 512, 32),
        (576, 1024, 64),
        (1280, 4096, 256),
        (4608, u64::MAX, 512),
    ];
    let mut n = 0;
    let mut i = 0;
    while i < ranges.len() {
        let (start, end, step) = ranges[i];
        let last = if end < max_bs { end } else { max_bs };
        if last >= start {
            n += (last - start) / step + 1;
        }
        i += 1;
    }
    n
}

impl Sglang {
    /// SGLang's defaults on `gpu`: `mem_fraction_static` from its reserve formula, the free
    /// memory before the weights the GPU's [usable](crate::gpu::Gpu::usable) memory (its
    /// capacity less the CUDA context; SGLang measures it), `page_size` 1, the KV cache in the
    /// model's dtype (bf16 weights), one GPU. `context_length` defaults to a learned position
    /// table's rows, else must be set ([`Sglang::context_length`]).
    #[must_use]
    pub const fn new(cost: Cost, model: &'static str, gpu: crate::gpu::Gpu) -> Sglang {
        Sglang {
            cost,
            model,
            total: gpu.capacity,
            free: gpu.usable(),
            fraction_permille: None,
            chunked_prefill: None,
            context_length: cost.positions,
            page_size: 1,
            max_total_tokens: None,
            weights: DType::BF16,
            kv_cache: None,
            tensor_parallel: 1,
            stored: None,
            swa_ratio_permille: None,
            mamba: None,
        }
    }

    /// An attention-free state-space model's `layers` mixers, each keeping `state_bytes` per
    /// request on one GPU (SGLang 0.5.23, `configs/mamba_utils.py`: conv `(I/tp, k − 1)` in
    /// bf16, the SSM state `(I/tp, 1, N)` — Mamba-2's `(H/tp, P, N)`, conv `(I + 2·G'·N)/tp` —
    /// in fp32, `mamba2_state_dtype`'s defaults). Its state pool is sized first
    /// (`mem_cache/kv_cache_configurator.py`, `_handle_max_mamba_cache`): `K = (budget ·
    /// 0.9 / 1.9 − per_req) // per_req` slots (`mamba_full_memory_ratio` 0.9), `K + 1`
    /// allocated; with no attention layer the KV pool is empty and `max_total_num_tokens` is
    /// `context_length` (`pool_configurator.py`, `_zero_kv_max_tokens`); `max_running_requests`
    /// is at most `K // 3`, three state slots a request with the radix cache on
    /// (`MAMBA_CACHE_SIZE_MAX_RUNNING_REQUESTS_RATIO`).
    #[must_use]
    pub const fn mamba(self, layers: u64, state_bytes: u64) -> Sglang {
        Sglang {
            mamba: Some((layers, state_bytes)),
            ..self
        }
    }

    /// SGLang's split sliding-window pool, for the architectures on its hybrid-SWA list
    /// (gpt-oss, Llama 4, …), with `swa_full_tokens_ratio` in thousandths (SGLang's fallback:
    /// 800, `fields/schedule.py`).
    #[must_use]
    pub const fn split_sliding_window(self, ratio_permille: u64) -> Sglang {
        Sglang {
            swa_ratio_permille: Some(ratio_permille),
            ..self
        }
    }

    /// The weights as the checkpoint stores them (see [`Inference::stored_weights`]).
    #[must_use]
    pub const fn stored_weights(self, bytes: Bytes) -> Sglang {
        Sglang {
            stored: Some(bytes),
            ..self
        }
    }

    /// `--mem-fraction-static`, in thousandths (default: SGLang's reserve formula).
    #[must_use]
    pub const fn mem_fraction_static_permille(self, permille: u64) -> Sglang {
        Sglang {
            fraction_permille: Some(permille),
            ..self
        }
    }

    /// `--chunked-prefill-size` (default: by GPU tier, 8192 on 60–160 GiB GPUs); it enters
    /// the default fraction's reserve.
    #[must_use]
    pub const fn chunked_prefill_size(self, tokens: u64) -> Sglang {
        Sglang {
            chunked_prefill: Some(tokens),
            ..self
        }
    }

    /// `--context-length`.
    #[must_use]
    pub const fn context_length(self, tokens: u64) -> Sglang {
        Sglang {
            context_length: tokens,
            ..self
        }
    }

    /// `--page-size` (default 1).
    #[must_use]
    pub const fn page_size(self, tokens: u64) -> Sglang {
        Sglang {
            page_size: tokens,
            ..self
        }
    }

    /// `--max-total-tokens`: a cap on the pool.
    #[must_use]
    pub const fn max_total_tokens(self, tokens: u64) -> Sglang {
        Sglang {
            max_total_tokens: Some(tokens),
            ..self
        }
    }

    /// The free memory before the weights load (default: the GPU's usable memory); SGLang
    /// logs it as "Load weight begin. avail mem=… GB".
    #[must_use]
    pub const fn free_memory(self, bytes: Bytes) -> Sglang {
        Sglang {
            free: bytes,
            ..self
        }
    }

    /// The weights' dtype (default bf16).
    #[must_use]
    pub const fn weights(self, dtype: DType) -> Sglang {
        Sglang {
            weights: dtype,
            ..self
        }
    }

    /// `--kv-cache-dtype` (default: the model's).
    #[must_use]
    pub const fn kv_cache(self, dtype: DType) -> Sglang {
        Sglang {
            kv_cache: Some(dtype),
            ..self
        }
    }

    /// `--tp-size`.
    #[must_use]
    pub const fn tensor_parallel(self, t: u64) -> Sglang {
        Sglang {
            tensor_parallel: t,
            ..self
        }
    }

    /// The default `mem_fraction_static` in thousandths and its reserve in bytes.
    const fn default_fraction(&self) -> (u64, u64) {
        let mib = self.total.get() >> 20;
        let tp = self.tensor_parallel;
        let (tier_chunk, decode_bs) = tier(mib, tp);
        let chunk = match self.chunked_prefill {
            Some(c) => c,
            None => tier_chunk,
        };
        // the prefill graphs' largest size: the chunk, at most `max_total_tokens`
        let graph_bs = match self.max_total_tokens {
            Some(t) if t < chunk => t,
            _ => chunk,
        };
        let latent = self.cost.kv_heads == 0 && self.cost.kv_per_token > 0;
        let prefill = if latent {
            1536
        } else {
            8 * prefill_graphs(graph_bs)
        };
        let graphs = 2 * decode_bs + prefill;
        let tokens = if chunk > 2048 { chunk } else { 2048 };
        // in half MiB: 2 × (512 + 1.5 × tokens + 128 × tp + graphs)
        let mut half = 1024 + 3 * tokens + 256 * tp + 2 * graphs;
        if mib > 60 * 1024 && half < 2 * 10 * 1024 {
            half = 2 * 10 * 1024;
        }
        let whole = 2 * mib;
        let left = whole.saturating_sub(half);
        // round((whole − half) / whole, 3)
        let permille = (2000 * left + whole) / (2 * whole);
        (permille, half << 19)
    }

    /// One pool of `budget` bytes in cells of `cell` bytes: whole pages of tokens, at most
    /// `cap`, and the bytes allocated with the padding page (`(tokens, bytes)`).
    const fn one_pool(
        &self,
        budget: u128,
        cell: u64,
        cap: u128,
    ) -> Result<(u128, u128), EstimateError> {
        let page = self.page_size as u128;
        let mut tokens = budget / cell as u128 / page * page;
        if cap < tokens {
            tokens = cap;
        }
        let kv = if tokens > 0 {
            tri!(mul(tokens + page, cell as u128))
        } else {
            0
        };
        Ok((tokens, kv))
    }

    /// The split sliding-window pool of `budget` bytes at `swa_full_tokens_ratio` `r`
    /// thousandths, the full pool capped at `cap` tokens: `(bytes a token over every layer,
    /// full tokens, sliding tokens, bytes allocated, whether both pools exist)`
    /// (`HybridSWAPoolConfigurator`: the cell
    /// `full + r × sliding`, `budget // cell` page-aligned, the sliding pool `int(full × r)`
    /// page-aligned; all-sliding models have one pool of the sliding cell).
    const fn split_pool(
        &self,
        budget: u128,
        r: u64,
        cap: u128,
    ) -> Result<(u64, u128, u128, u128, bool), EstimateError> {
        let c = &self.cost;
        let dtypes = (self.kv_cache, self.weights);
        let full = tri!(kv_bytes_per_token(
            c,
            c.kv_per_token,
            self.tensor_parallel,
            dtypes
        ));
        let swa = tri!(kv_bytes_per_token(
            c,
            c.kv_window_per_token,
            self.tensor_parallel,
            dtypes
        ));
        let page = self.page_size as u128;
        let (full_u, swa_u) = (full as u128, swa as u128);
        if full == 0 {
            if swa == 0 {
                return Err(EstimateError::EngineNotModeled);
            }
            let (tokens, kv) = tri!(self.one_pool(budget, swa, cap));
            return Ok((swa, tokens, tokens, kv, false));
        }
        // `int(budget // (full + ratio × swa))`, in thousandths
        let cell_milli = tri!(mul(full_u, 1000)) + tri!(mul(swa_u, r as u128));
        let mut tokens = tri!(mul(budget, 1000)) / cell_milli / page * page;
        if cap < tokens {
            tokens = cap;
        }
        let swa_tokens = tokens * r as u128 / 1000 / page * page;
        let kv = if tokens > 0 {
            tri!(mul(tokens + page, full_u)) + tri!(mul(swa_tokens + page, swa_u))
        } else {
            0
        };
        Ok((full.saturating_add(swa), tokens, swa_tokens, kv, true))
    }

    /// What SGLang arrives at on one GPU.
    ///
    /// # Errors
    /// [`EstimateError::EngineNotModeled`] for what the module refuses (hybrid or undescribed
    /// state-space layers, cross-attention);
    /// [`EstimateError::ZeroSeq`] without a `context_length`; zero parallel degrees or page
    /// sizes; a plan the model refuses ([`Inference::checked_estimate`]'s).
    pub const fn checked_plan(&self) -> Result<SglangPlan, EstimateError> {
        let c = &self.cost;
        let stateful = c.conv_state > 0 || c.ssm_state > 0;
        let attention = c.kv_layers > 0 || c.kv_window_layers > 0;
        // state-space layers: attention-free models with their states given
        if (stateful && (self.mamba.is_none() || attention)) || c.source.output > 0 {
            return Err(EstimateError::EngineNotModeled);
        }
        if self.context_length == 0 {
            return Err(EstimateError::ZeroSeq);
        }
        if self.page_size == 0 || self.tensor_parallel == 0 {
            return Err(EstimateError::ZeroParallel);
        }
        let (permille, reserve) = match self.fraction_permille {
            Some(p) => (p, 0),
            None => self.default_fraction(),
        };
        let mut load = Inference::new(self.cost, self.model)
            .weights(self.weights)
            .tensor_parallel(self.tensor_parallel)
            .batch(1)
            .prompt(1)
            .generate(0);
        if let Some(b) = self.stored {
            load = load.stored_weights(b);
        }
        let weights = tri!(load.checked_at(Phase::Prefill)).weights;
        let stat = tri!(mul(self.free.get() as u128, permille as u128)) / 1000;
        let budget = stat.saturating_sub(weights.get() as u128);
        let page = self.page_size as u128;
        let cap = match self.max_total_tokens {
            Some(t) => t as u128 / page * page,
            None => u128::MAX,
        };
        if let Some((layers, state)) = self.mamba {
            return self.state_pool(budget, layers, state, (permille, reserve, weights));
        }
        let (cell, tokens, swa_tokens, kv, hybrid) = match self.swa_ratio_permille {
            Some(r) if c.kv_window_layers > 0 => tri!(self.split_pool(budget, r, cap)),
            _ => {
                // sliding-window layers in the one pool, as full layers
                let per_token = c.kv_per_token.saturating_add(c.kv_window_per_token);
                let cell = tri!(kv_bytes_per_token(
                    c,
                    per_token,
                    self.tensor_parallel,
                    (self.kv_cache, self.weights)
                ));
                if cell == 0 {
                    return Err(EstimateError::EngineNotModeled);
                }
                let (tokens, kv) = tri!(self.one_pool(budget, cell, cap));
                (cell, tokens, 0, kv, false)
            }
        };
        // `validate_swa_pool_size`, for hybrid (full and sliding) pools
        let swa_room = !hybrid || swa_tokens > c.window as u128 + page;
        let ctx = self.context_length as u128;
        let running = self.max_running_requests(tokens);
        if kv > u64::MAX as u128 || tokens > u64::MAX as u128 || swa_tokens > u64::MAX as u128 {
            return Err(EstimateError::Overflow);
        }
        Ok(SglangPlan {
            mem_fraction_static_permille: permille,
            reserve: Bytes::new(reserve),
            free: self.free,
            weights,
            budget: Bytes::new(budget as u64),
            bytes_per_token: cell,
            tokens: tokens as u64,
            swa_tokens: swa_tokens as u64,
            starts: tokens > 0 && swa_room,
            kv_cache: Bytes::new(kv as u64),
            max_running_requests: running as u64,
            concurrency_milli: (tokens * 1000 / ctx) as u64,
            context_length: self.context_length,
            state_slots: 0,
            state_bytes: 0,
        })
    }

    /// `resolve_max_num_reqs`: `clamp(tokens / context_length · 512, 2048, 4096)`, at most half
    /// the pool's tokens.
    const fn max_running_requests(&self, tokens: u128) -> u128 {
        let estimate = tokens * 512 / self.context_length as u128;
        let clamped = if estimate < 2048 {
            2048
        } else if estimate > 4096 {
            4096
        } else {
            estimate
        };
        if clamped < tokens / 2 {
            clamped
        } else {
            tokens / 2
        }
    }

    /// An attention-free model's startup: the state pool of [`Sglang::mamba`], no KV pool.
    const fn state_pool(
        &self,
        budget: u128,
        layers: u64,
        state: u64,
        (permille, reserve, weights): (u64, u64, Bytes),
    ) -> Result<SglangPlan, EstimateError> {
        let per_req = tri!(mul(layers as u128, state as u128));
        if per_req == 0 {
            return Err(EstimateError::EngineNotModeled);
        }
        // `rest · r / (1 + r)` with r = 0.9
        let mamba_budget = tri!(mul(budget, 9)) / 19;
        let slots = mamba_budget.saturating_sub(per_req) / per_req;
        let pool = tri!(mul(slots + 1, per_req));
        let page = self.page_size as u128;
        let mut tokens = self.context_length as u128;
        if let Some(t) = self.max_total_tokens {
            tokens = t as u128;
        }
        tokens = tokens / page * page;
        // at most the slots over three
        let mut running = self.max_running_requests(tokens);
        if slots / 3 < running {
            running = slots / 3;
        }
        if pool > u64::MAX as u128 || slots > u64::MAX as u128 {
            return Err(EstimateError::Overflow);
        }
        Ok(SglangPlan {
            mem_fraction_static_permille: permille,
            reserve: Bytes::new(reserve),
            free: self.free,
            weights,
            budget: Bytes::new(budget as u64),
            bytes_per_token: 0,
            tokens: tokens as u64,
            swa_tokens: 0,
            starts: running > 0,
            kv_cache: Bytes::new(pool as u64),
            max_running_requests: running as u64,
            concurrency_milli: (running * 1000) as u64,
            context_length: self.context_length,
            state_slots: slots as u64,
            state_bytes: per_req as u64,
        })
    }
}
