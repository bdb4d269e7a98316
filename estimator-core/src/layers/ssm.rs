//! State-space mixers: [`MambaMixer`] (Mamba's selective scan) and [`Mamba2Mixer`] (Mamba-2's
//! chunked scan), each with the per-sequence state it keeps while generating.
//!
//! What their training keeps depends on the path transformers takes ([`ScanPath`]): its PyTorch
//! reference (without the `mamba_ssm` and `causal_conv1d` CUDA kernels, and on every CPU),
//! measured tensor by tensor (`tests/fixtures/memory-families.json`: mamba, mamba2, jamba,
//! bamba); or the kernels, whose saved tensors are read from their source (`mamba_ssm` 2.3:
//! `MambaInnerFn`, `MambaSplitConv1dScanCombinedFn`, `SelectiveScanFn`,
//! `MambaChunkScanCombinedFn`; `causal_conv1d` 1.7).

use crate::cost::{Activations, Cost};

/// Which code runs a state-space mixer in training.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ScanPath {
    /// transformers' PyTorch reference: Mamba's sequential scan, Mamba-2's chunked SSD in
    /// torch (what runs without `mamba_ssm`, and on CPU).
    Reference,
    /// `mamba_ssm`'s fused functions: `mamba_inner_fn` (Mamba, the projections inside, the
    /// convolution and Δ recomputed in backward) and `mamba_split_conv1d_scan_combined`
    /// (Mamba-2, the gated norm and `out_proj` inside).
    Fused,
    /// `causal_conv1d_fn`, then the scan kernel (`selective_scan_fn`, Mamba-2's
    /// `mamba_chunk_scan_combined`) with torch between: what Jamba always runs, and Bamba while
    /// its forward builds a cache (its default outside gradient checkpointing).
    Split,
}
use crate::cost_helpers::{dim_add, dim_mul};
use crate::layers::linear::linear;
use crate::layers::norm::rms_norm;
use crate::params::Params;

/// A depthwise `Conv1d(c, c, K, groups = c)` over the sequence: `[c, 1, K]` and a bias when
/// `bias`; not a matmul weight.
const fn depthwise(c: u64, k: u64, bias: bool) -> Cost {
    let w = Cost::parameter(&[c, 1, k]);
    if bias {
        w.add(Cost::parameter(&[c]))
    } else {
        w
    }
}

/// The cost of [`MambaMixer`] as a value: `in_proj` (`d → 2e`: x and the gate), the depthwise
/// convolution over `e` channels (kernel `k`), `x_proj` (`e → r + 2n`: the time step, `B`,
/// `C`), `dt_proj` (`r → e`, biased), `A_log` `[e, n]`, `D` `[e]`, `out_proj` (`e → d`);
/// biases on the projections when `proj_bias`, on the convolution when `conv_bias`; Jamba's
/// RMS norms of the time step, `B` and `C` when `dt_norms`.
///
/// Saved for backward, per token (transformers' reference scan, `slow_forward`): the
/// projections' inputs, `in_proj`'s output, the convolution's output, the time step before and
/// after its softplus, the SiLU outputs, `y + u·D`, and — what dominates — three fp32
/// `[e, n]` tensors per token: `exp(A·Δ)`, `Δ·B` and the state after every step (12·e·n bytes
/// per token per layer in fp32; under autocast each state also gets a 16-bit copy, and `u`
/// and `B` fp32 copies). Per sample, the convolution's `k − 1` padded positions and the zero
/// initial state. Cached while generating: `[e, k]` of convolution state in the activation
/// dtype and `[e, n]` of recurrent state in fp32, per sequence.
#[must_use]
#[allow(
    clippy::too_many_arguments,
    reason = "the mixer's own hyper-parameters, as the config names them"
)]
pub const fn mamba_mixer(
    d: u64,
    e: u64,
    n: u64,
    k: u64,
    r: u64,
    (proj_bias, conv_bias, dt_norms): (bool, bool, bool),
    path: ScanPath,
) -> Cost {
    let states = dim_mul(e, n);
    let x_dbl = dim_add(r, dim_mul(2, n));
    if !matches!(path, ScanPath::Reference) {
        return mamba_kernels(d, e, (n, k, r), (proj_bias, conv_bias, dt_norms), path);
    }
    let in_proj = linear(d, dim_mul(2, e), proj_bias);
    let x_proj = linear(e, x_dbl, false);
    // dt_proj reads a view of x_proj's output: the whole storage is what it keeps
    let dt_proj = Cost {
        act: Activations {
            weight_input_per_token: x_dbl,
            ..Activations::ZERO
        },
        ..linear(r, e, true)
    };
    let mut mixer = in_proj
        .add(depthwise(e, k, conv_bias))
        .add(x_proj)
        .add(dt_proj)
        .add(Cost::parameter(&[e, n]))
        .add(Cost::parameter(&[e]))
        .add(linear(e, d, proj_bias))
        .saves(Activations {
            // in_proj's output (x for the conv, the gate), the conv's output, Δ before and
            // after softplus, u = silu(conv), silu(gate)
            per_token: dim_mul(7, e),
            // y + u·D; exp(A·Δ), Δ·B and every step's state
            f32_per_token: dim_add(e, dim_mul(3, states)),
            // under autocast: the conv input's 16-bit copies and each state's 16-bit copy
            shared_input_per_token: dim_add(dim_mul(2, e), states),
            // under autocast: u.float() and B.float()
            upcast_per_token: dim_add(e, n),
            // the convolution's padding, the zero initial state
            per_sample: dim_add(dim_mul(e, k - 1), states),
            // A = -exp(A_log), kept twice
            per_step_f32: dim_mul(2, states),
            // backward: the gradients of exp(A·Δ) and Δ·B·u as whole [e, n]-per-token buffers,
            // a select's zero-filled gradient and its sum (measured: the training peak sits in
            // the last layer's scan backward, 3.2 to 3.9 such tensors above the saved ones)
            backward_f32_per_token: dim_mul(4, states),
            ..Activations::ZERO
        });
    if dt_norms {
        // rsqrt and x·rsqrt in fp32, the normalized outputs
        let norms = rms_norm(r).add(rms_norm(n)).add(rms_norm(n));
        mixer = mixer.add(Cost {
            act: Activations {
                f32_per_token: dim_add(3, x_dbl),
                per_token: x_dbl,
                ..Activations::ZERO
            },
            ..norms
        });
    }
    mixer
        .keeps_state(dim_mul(e, k), states)
        .widths(d, d)
        // inference: the scan's three fp32 [e, n] tensors per token are counted as twice as
        // many 16-bit elements in the activation dtype at most (fp32 prefill: exact)
        .live(dim_add(
            dim_add(dim_mul(3, states), dim_mul(9, e)),
            dim_add(dim_mul(3, d), x_dbl),
        ))
}

/// Mamba's selective-scan mixer over `D` features, inner width `E`, state `N`, convolution
/// kernel `K` and time-step rank `R` (mamba-130m: `MambaMixer<768, 1536, 16, 4, 48>`), no
/// projection biases, a biased convolution, run by `mamba_ssm`'s fused kernel (`KERNELS`, the
/// default) or transformers' PyTorch reference. See [`mamba_mixer`].
///
/// ```
/// use estimator::prelude::*;
/// // mamba-130m's mixer: 3,770,880 parameters (its layer adds the 768-wide norm)
/// assert_eq!(MambaMixer::<768, 1536, 16, 4, 48>::PARAMS, 3_770_880);
/// // its state per sequence: [1536, 4] of convolution, [1536, 16] fp32
/// assert_eq!(MambaMixer::<768, 1536, 16, 4, 48>::COST.ssm_state, 1536 * 16);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct MambaMixer<
    const D: u64,
    const E: u64,
    const N: u64,
    const K: u64,
    const R: u64,
    const KERNELS: bool = true,
>;

impl<const D: u64, const E: u64, const N: u64, const K: u64, const R: u64, const KERNELS: bool>
    Params for MambaMixer<D, E, N, K, R, KERNELS>
{
    const COST: Cost = mamba_mixer(
        D,
        E,
        N,
        K,
        R,
        (false, true, false),
        if KERNELS {
            ScanPath::Fused
        } else {
            ScanPath::Reference
        },
    );
    const KIND: &'static str = "MambaMixer";
}

/// The cost of [`Mamba2Mixer`] as a value: `in_proj` (`d → 2e + 2gn + h`: the gate, x·B·C for
/// the convolution, the time step per head), the depthwise convolution over `e + 2gn`
/// channels, `dt_bias`, `A_log` and `D` per head, the gated RMS norm over `e`, `out_proj`.
///
/// Saved for backward, per token (transformers' `torch_forward` with its chunked scan): the
/// projections' inputs and outputs, the convolution and SiLU outputs, the time step three
/// times, the gated norm's fp32 tensors; per (padded) token the scan's own: per head the
/// intra-chunk terms over the chunk of `q` (`exp(segsum)`, `C·Bᵀ` and its product with it,
/// 3·h·q), `B` and `C` repeated to the heads and their einsum copies, x·Δ twice, `y`; per chunk
/// the chunk states `[h, p, n]` twice. Sequences are padded to whole chunks; the estimate counts
/// the sequence itself (exact when `q` divides it). Cached: `[e + 2gn, k]` of convolution state
/// in the activation dtype, `[h, p, n]` of recurrent state in fp32.
#[must_use]
#[allow(
    clippy::too_many_arguments,
    reason = "the mixer's own hyper-parameters, as the config names them"
)]
pub const fn mamba2_mixer(
    d: u64,
    e: u64,
    h: u64,
    g: u64,
    n: u64,
    k: u64,
    q: u64,
    (proj_bias, conv_bias): (bool, bool),
    path: ScanPath,
) -> Cost {
    let bc = dim_mul(2, dim_mul(g, n));
    let cd = dim_add(e, bc);
    let proj = dim_add(dim_add(e, cd), h);
    if !matches!(path, ScanPath::Reference) {
        return mamba2_kernels(d, (e, h, g, n, k, q), (proj_bias, conv_bias), path);
    }
    let hn = dim_mul(h, n);
    let hq = dim_mul(h, q);
    let chunk_states = dim_mul(dim_mul(h, e / h), n);
    mamba2_params(
        d,
        (e, h, cd, k),
        (proj_bias, conv_bias),
        linear(e, d, proj_bias),
    )
    .saves(Activations {
        // the conv's input (in_proj's x·B·C, or its 16-bit copy) and output, the B and C
        // part of the SiLU output; Δ + bias and its softplus
        per_token: dim_add(dim_add(dim_mul(2, cd), bc), dim_mul(2, h)),
        // the gate (in_proj's, or gate.float()), the x part of the SiLU output (or
        // x.float()), the gated norm's SiLU, product and normalized tensors, its rsqrt per
        // group, Δ's clamp and its second copy
        f32_per_token: dim_add(dim_add(dim_mul(5, e), g), dim_mul(2, h)),
        // per padded token, the scan's einsum copies of C and B (for C·Bᵀ), of B_decay and
        // of C (for C·states), C·Bᵀ and its product with exp(segsum), x·Δ twice, C·states
        padded_per_token: dim_add(dim_add(dim_mul(4, hn), dim_mul(2, hq)), dim_mul(3, e)),
        // x padded (F.pad copies, for D·x; x.float() under autocast), exp(segsum) per head
        // over the chunk, the two decays, B repeated to the heads, y
        padded_f32_per_token: dim_add(dim_add(hq, dim_mul(2, h)), dim_add(hn, dim_mul(2, e))),
        // the chunk states, twice per chunk, and once more per sample (the initial one)
        per_chunk: dim_mul(2, chunk_states),
        per_sample: chunk_states,
        ..Activations::ZERO
    })
    .chunked(q)
    .keeps_state(dim_mul(cd, k), chunk_states)
    .widths(d, d)
    .live(dim_add(
        dim_add(proj, dim_mul(2, cd)),
        dim_add(dim_mul(6, e), dim_add(dim_mul(3, hq), dim_mul(3, hn))),
    ))
}

/// Mamba-2's mixer over `D` features, inner width `E`, `H` heads, state `N`, `G` groups,
/// convolution kernel `K`, chunk `Q` (mamba2-2.7b: `Mamba2Mixer<2560, 5120, 80, 128, 1, 4,
/// 256>`), no projection biases, a biased convolution, run by `mamba_ssm`'s fused kernel
/// (`KERNELS`, the default) or transformers' PyTorch reference. See [`mamba2_mixer`].
///
/// ```
/// use estimator::prelude::*;
/// type Mixer = Mamba2Mixer<2560, 5120, 80, 128, 1, 4, 256>;
/// // in_proj 2560 × (2·5120 + 2·128 + 80), conv 5376 × 4 + 5376, 3 × 80, norm 5120, out_proj
/// assert_eq!(Mixer::PARAMS, 2560 * 10_576 + 5376 * 5 + 240 + 5120 + 5120 * 2560);
/// // the recurrent state: 80 heads of [64, 128], fp32
/// assert_eq!(Mixer::COST.ssm_state, 80 * 64 * 128);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Mamba2Mixer<
    const D: u64,
    const E: u64,
    const H: u64,
    const N: u64,
    const G: u64 = 1,
    const K: u64 = 4,
    const Q: u64 = 256,
    const KERNELS: bool = true,
>;

impl<
    const D: u64,
    const E: u64,
    const H: u64,
    const N: u64,
    const G: u64,
    const K: u64,
    const Q: u64,
    const KERNELS: bool,
> Params for Mamba2Mixer<D, E, H, N, G, K, Q, KERNELS>
{
    const COST: Cost = {
        assert!(
            H > 0 && E.is_multiple_of(H),
            "estimator: Mamba2Mixer<D, E, H, ..> needs H to divide E"
        );
        mamba2_mixer(
            D,
            E,
            H,
            G,
            N,
            K,
            Q,
            (false, true),
            if KERNELS {
                ScanPath::Fused
            } else {
                ScanPath::Reference
            },
        )
    };
    const KIND: &'static str = "Mamba2Mixer";
}

/// A Mamba-2 mixer's parameters: `in_proj` (`d → 2e + 2gn + h`), the depthwise convolution
/// over `cd = e + 2gn` channels, `dt_bias`, `A_log` and `D` per head, the gated norm's weight,
/// and `out` (`out_proj`, with what it keeps on the path taken).
const fn mamba2_params(
    d: u64,
    (e, h, cd, k): (u64, u64, u64, u64),
    (proj_bias, conv_bias): (bool, bool),
    out: Cost,
) -> Cost {
    linear(d, dim_add(dim_add(e, cd), h), proj_bias)
        .add(depthwise(cd, k, conv_bias))
        .add(Cost::parameter(&[h]))
        .add(Cost::parameter(&[h]))
        .add(Cost::parameter(&[h]))
        .add(Cost::parameter(&[e]))
        .add(out)
}

/// A projection whose input the fused kernel keeps itself (or recomputes): its weight, no
/// saved input.
const fn inside(c: Cost) -> Cost {
    Cost {
        act: Activations::ZERO,
        ..c
    }
}

/// [`mamba_mixer`] under `mamba_ssm`'s kernels: `Fused` (`mamba_inner_fn`: `in_proj`'s input,
/// a contiguous copy of its output, `x_proj`'s output, copies of `B` and `C`, `y + D·u`; the
/// convolution and Δ recomputed) or `Split` (Jamba: `in_proj`'s output kept by the convolution,
/// its output, the norms of Δ, `B` and `C`, the scan's copies of u, z, `B`, `C`, Δ and its
/// output, `out_proj`'s input). Per 2048 tokens per sample, the scan's fp32 intermediates
/// `[e, 2n]`; `A` per step. Nothing `[e, n]` per token.
const fn mamba_kernels(
    d: u64,
    e: u64,
    (n, k, r): (u64, u64, u64),
    (proj_bias, conv_bias, dt_norms): (bool, bool, bool),
    path: ScanPath,
) -> Cost {
    let states = dim_mul(e, n);
    let x_dbl = dim_add(r, dim_mul(2, n));
    let fused = matches!(path, ScanPath::Fused);
    let mut mixer = linear(d, dim_mul(2, e), proj_bias)
        .add(depthwise(e, k, conv_bias))
        .add(inside(linear(e, x_dbl, false)))
        .add(inside(linear(r, e, true)))
        .add(Cost::parameter(&[e, n]))
        .add(Cost::parameter(&[e]))
        .add(inside(linear(e, d, proj_bias)));
    if dt_norms {
        mixer = mixer.add(inside(rms_norm(r).add(rms_norm(n)).add(rms_norm(n))));
    }
    let act = if fused {
        // xz's copy 2e, x_dbl, B and C copies 2n each, y + D·u
        Activations {
            per_token: dim_add(dim_mul(3, e), dim_add(r, dim_mul(4, n))),
            ..Activations::ZERO
        }
    } else {
        // in_proj's output 2e, the conv's e, the scan's u, Δ, z, out 4e, out_proj's input e;
        // the norms' x·rsqrt and the dt norm's output, the scan's B and C copies; the norms'
        // inputs and rsqrt in fp32
        Activations {
            per_token: dim_add(dim_mul(8, e), dim_add(dim_mul(2, r), dim_mul(4, n))),
            f32_per_token: dim_add(dim_add(r, dim_mul(2, n)), 3),
            ..Activations::ZERO
        }
    };
    mixer
        .saves(Activations {
            // A and exp(A_log)
            per_step_f32: dim_mul(2, states),
            // the scan's fp32 intermediates, [e, 2n] per 2048 tokens
            per_chunk_f32: dim_mul(2, states),
            ..act
        })
        .chunked(2048)
        .keeps_state(dim_mul(e, k), states)
        .widths(d, d)
        // inference: the input, in_proj's output, the conv's output and Δ, the output
        .live(dim_add(dim_add(d, dim_mul(6, e)), x_dbl))
}

/// [`mamba2_mixer`] under `mamba_ssm`'s kernels: `Fused` (`mamba_split_conv1d_scan_combined`:
/// `in_proj`'s input and output, `y + D·x` and the gated norm's rsqrt; the norm and
/// `out_proj` inside, their inputs recomputed; nothing per chunk) or `Split` (Bamba with a
/// cache: `in_proj`'s output kept by the convolution's view, its output, the scan's output,
/// the torch gated norm's tensors — fp32 copies under autocast — and `out_proj`'s input; the
/// scan's fp32 `dA_cumsum` per head per padded token).
const fn mamba2_kernels(
    d: u64,
    (e, h, g, n, k, q): (u64, u64, u64, u64, u64, u64),
    (proj_bias, conv_bias): (bool, bool),
    path: ScanPath,
) -> Cost {
    let bc = dim_mul(2, dim_mul(g, n));
    let cd = dim_add(e, bc);
    let proj = dim_add(dim_add(e, cd), h);
    let chunk_states = dim_mul(dim_mul(h, e / h), n);
    let fused = matches!(path, ScanPath::Fused);
    let out = linear(e, d, proj_bias);
    let params = mamba2_params(
        d,
        (e, h, cd, k),
        (proj_bias, conv_bias),
        if fused { inside(out) } else { out },
    );
    let act = if fused {
        // in_proj's output, y + D·x; rstd per group
        Activations {
            per_token: dim_add(proj, e),
            f32_per_token: g,
            ..Activations::ZERO
        }
    } else {
        // in_proj's output, the conv's, the scan's y, silu(gate) and the normalized output
        // (16-bit casts under autocast); y·silu and rsqrt in fp32; under autocast the fp32
        // copies of y and the gate; dA_cumsum per padded token
        Activations {
            per_token: dim_add(dim_add(proj, cd), dim_mul(2, e)),
            f32_per_token: dim_add(e, g),
            upcast_per_token: dim_mul(2, e),
            padded_f32_per_token: h,
            ..Activations::ZERO
        }
    };
    params
        .saves(Activations {
            // A and exp(A_log)
            per_step_f32: dim_mul(2, h),
            ..act
        })
        .chunked(if fused { 0 } else { q })
        .keeps_state(dim_mul(cd, k), chunk_states)
        .widths(d, d)
        .live(dim_add(dim_add(d, proj), dim_add(cd, dim_mul(2, e))))
}
