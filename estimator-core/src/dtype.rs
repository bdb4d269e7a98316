//! Numeric formats and what they cost per element.

use crate::units::Bytes;

/// A numeric format for weights, gradients, optimizer states, activations or the KV cache.
///
/// Storage conventions (what [`DType::bytes_for`] charges for one tensor of `n` elements; every
/// sub-byte count rounds up per tensor):
///
/// | variant | bits per element | storage of `n` elements |
/// |---|---|---|
/// | `F64` | 64 | `8n` |
/// | `F32`, `TF32` | 32 | `4n` (TF32 is a matmul mode: tensors are stored as fp32) |
/// | `F16`, `BF16` | 16 | `2n` |
/// | `F8E4M3`, `F8E5M2`, `I8` | 8 | `n` |
/// | `I4` | 4 | `⌈n/2⌉` |
/// | `NF4` | 4.5 | `⌈n/2⌉` + one fp32 absmax per block of 64 (QLoRA, Dettmers et al. 2023, §2) |
/// | `NF4DoubleQuant` | 4.127 | `⌈n/2⌉` + one 8-bit absmax per 64 + one fp32 constant per 256 of those (QLoRA §3: 8/64 + 32/(64·256) = 0.127 bits) |
/// | `Ternary` | 1.6 | `⌈n/5⌉`: five trits {−1, 0, 1} per byte (3⁵ = 243 ≤ 256), the closest byte-aligned packing to BitNet b1.58's log₂3 = 1.58 bits |
///
/// bitsandbytes' 4-bit tensors also keep code books whatever their size (64 B for `NF4`, 1,092 B
/// for `NF4DoubleQuant`): [`DType::tensor_overhead`], which the model-level prices add per
/// quantized tensor ([`DType::checked_bytes_for_tensors`]).
///
/// The seed tutorial's table holds exactly: one billion parameters take 4 GB in fp32, 2 GB in
/// fp16/bf16, 1 GB in int8 and 0.5 GB in int4 (SI gigabytes).
///
/// ```
/// use estimator::{Bytes, DType};
/// const BILLION: u64 = 1_000_000_000;
/// assert_eq!(DType::F32.bytes_for(BILLION), Bytes::gb(4));
/// assert_eq!(DType::BF16.bytes_for(BILLION), Bytes::gb(2));
/// assert_eq!(DType::I8.bytes_for(BILLION), Bytes::gb(1));
/// assert_eq!(DType::I4.bytes_for(BILLION), Bytes::mb(500));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum DType {
    /// IEEE double precision.
    F64,
    /// IEEE single precision.
    F32,
    /// TensorFloat-32: fp32 storage, 10-bit mantissa inside tensor-core matmuls.
    TF32,
    /// IEEE half precision.
    F16,
    /// bfloat16: fp32's exponent range, 8-bit mantissa.
    BF16,
    /// 8-bit float, 4 exponent and 3 mantissa bits (OCP FP8; weights and activations).
    F8E4M3,
    /// 8-bit float, 5 exponent and 2 mantissa bits (OCP FP8; gradients).
    F8E5M2,
    /// 8-bit integer.
    I8,
    /// 4-bit integer, two per byte.
    I4,
    /// 4-bit NormalFloat with one fp32 absmax per 64 elements (QLoRA): 4.5 bits.
    NF4,
    /// NF4 with double quantization of the absmax constants (QLoRA): 4.127 bits.
    NF4DoubleQuant,
    /// Ternary weights {−1, 0, 1} (BitNet b1.58), five per byte: 1.6 bits.
    Ternary,
}

/// `⌈n / d⌉` for `d > 0`.
const fn div_ceil(n: u64, d: u64) -> u64 {
    n.div_ceil(d)
}

impl DType {
    /// Every variant, widest first.
    pub const ALL: [DType; 12] = [
        DType::F64,
        DType::F32,
        DType::TF32,
        DType::F16,
        DType::BF16,
        DType::F8E4M3,
        DType::F8E5M2,
        DType::I8,
        DType::I4,
        DType::NF4,
        DType::NF4DoubleQuant,
        DType::Ternary,
    ];

    /// Average bits per element, block metadata included (see the table on [`DType`]).
    ///
    /// For display and comparison; byte counts come from [`DType::bytes_for`], which is exact.
    #[must_use]
    pub const fn bits(self) -> f64 {
        match self {
            DType::F64 => 64.0,
            DType::F32 | DType::TF32 => 32.0,
            DType::F16 | DType::BF16 => 16.0,
            DType::F8E4M3 | DType::F8E5M2 | DType::I8 => 8.0,
            DType::I4 => 4.0,
            // 4 + 32/64
            DType::NF4 => 4.5,
            // 4 + 8/64 + 32/(64·256)
            DType::NF4DoubleQuant => 4.126_953_125,
            // 8/5
            DType::Ternary => 1.6,
        }
    }

    /// Bytes per element for the whole-byte formats, `None` for the packed sub-byte ones.
    #[must_use]
    pub const fn whole_bytes(self) -> Option<u64> {
        match self {
            DType::F64 => Some(8),
            DType::F32 | DType::TF32 => Some(4),
            DType::F16 | DType::BF16 => Some(2),
            DType::F8E4M3 | DType::F8E5M2 | DType::I8 => Some(1),
            DType::I4 | DType::NF4 | DType::NF4DoubleQuant | DType::Ternary => None,
        }
    }

    /// Bytes a tensor in this format keeps beside its elements, whatever its size: the code
    /// books of bitsandbytes' 4-bit `QuantState` — the 16 fp32 values of NF4 (`code`, 64 B) and,
    /// with double quantization, the absmax offset (a 0-d fp32, 4 B) and the 256 fp32 values of
    /// the 8-bit absmax's dynamic map (`state2.code`, 1,024 B): 64 and 1,092 bytes, each tensor
    /// its own copies (bitsandbytes 0.50 `functional.quantize_4bit`, read on CPU: the storages
    /// differ between two calls). 0 for every other format.
    #[must_use]
    pub const fn tensor_overhead(self) -> u64 {
        match self {
            DType::NF4 => 64,
            DType::NF4DoubleQuant => 64 + 4 + 1024,
            _ => 0,
        }
    }

    /// Storage of `tensors` tensors of `n` elements in all: [`DType::checked_bytes_for`] plus
    /// [`DType::tensor_overhead`] each, `None` beyond `u64`.
    #[must_use]
    pub const fn checked_bytes_for_tensors(self, n: u64, tensors: u64) -> Option<Bytes> {
        let Some(data) = self.checked_bytes_for(n) else {
            return None;
        };
        match self.tensor_overhead().checked_mul(tensors) {
            Some(extra) => data.checked_add(Bytes::new(extra)),
            None => None,
        }
    }

    /// Storage of one tensor of `n` elements, or `None` when it exceeds `u64` bytes.
    #[must_use]
    pub const fn checked_bytes_for(self, n: u64) -> Option<Bytes> {
        let bytes = match self.whole_bytes() {
            Some(b) => match n.checked_mul(b) {
                Some(v) => v,
                None => return None,
            },
            None => match self {
                DType::I4 => div_ceil(n, 2),
                DType::NF4 => div_ceil(n, 2) + 4 * div_ceil(n, 64),
                DType::NF4DoubleQuant => {
                    let blocks = div_ceil(n, 64);
                    div_ceil(n, 2) + blocks + 4 * div_ceil(blocks, 256)
                }
                _ => div_ceil(n, 5),
            },
        };
        Some(Bytes::new(bytes))
    }

    /// Storage of one tensor of `n` elements (see the table on [`DType`]).
    ///
    /// Stops const evaluation (panics at run time) when the total exceeds `u64` bytes; use
    /// [`DType::checked_bytes_for`] for an error value.
    #[must_use]
    pub const fn bytes_for(self, n: u64) -> Bytes {
        match self.checked_bytes_for(n) {
            Some(b) => b,
            None => panic!("estimator: tensor bytes overflow u64 (more than 16 EiB)"),
        }
    }

    /// The short lowercase name used in reports and on the command line (`bf16`, `nf4`, …).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            DType::F64 => "fp64",
            DType::F32 => "fp32",
            DType::TF32 => "tf32",
            DType::F16 => "fp16",
            DType::BF16 => "bf16",
            DType::F8E4M3 => "fp8-e4m3",
            DType::F8E5M2 => "fp8-e5m2",
            DType::I8 => "int8",
            DType::I4 => "int4",
            DType::NF4 => "nf4",
            DType::NF4DoubleQuant => "nf4-dq",
            DType::Ternary => "ternary",
        }
    }
}

impl core::fmt::Display for DType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed tutorial's table: bytes per one billion (10^9) parameters, in SI GB.
    #[test]
    fn seed_table_per_billion_parameters() {
        let billion = 1_000_000_000;
        assert_eq!(DType::F32.bytes_for(billion), Bytes::gb(4));
        assert_eq!(DType::F16.bytes_for(billion), Bytes::gb(2));
        assert_eq!(DType::BF16.bytes_for(billion), Bytes::gb(2));
        assert_eq!(DType::I8.bytes_for(billion), Bytes::gb(1));
        assert_eq!(DType::I4.bytes_for(billion), Bytes::mb(500));
    }

    /// QLoRA (Dettmers et al. 2023, §3): NF4 with fp32 absmax per 64 costs 32/64 = 0.5 extra bits
    /// per parameter; double quantization brings it to 8/64 + 32/(64·256) = 0.127 bits.
    #[test]
    fn nf4_block_scales_match_qlora() {
        let n = 64 * 256 * 1000; // whole blocks and whole second-level blocks
        let bits = |d: DType| d.bytes_for(n).get() * 8;
        assert_eq!(bits(DType::NF4), n * 4 + n / 2);
        assert_eq!(bits(DType::NF4DoubleQuant), n * 4 + n / 8 + n / 512);
        // 4.127 bits per parameter as the paper rounds it
        #[allow(clippy::cast_precision_loss)]
        let avg = bits(DType::NF4DoubleQuant) as f64 / n as f64;
        assert!((avg - 4.127).abs() < 0.001);
        assert!((avg - DType::NF4DoubleQuant.bits()).abs() < 1e-12);
    }

    /// Sub-byte formats round up per tensor: a 3-element int4 tensor needs 2 bytes, a 65-element
    /// NF4 tensor needs 33 data bytes and two absmax blocks.
    #[test]
    fn sub_byte_counts_round_up_per_tensor() {
        assert_eq!(DType::I4.bytes_for(3).get(), 2);
        assert_eq!(DType::NF4.bytes_for(65).get(), 33 + 2 * 4);
        assert_eq!(DType::Ternary.bytes_for(5).get(), 1);
        assert_eq!(DType::Ternary.bytes_for(6).get(), 2);
        // 1.6 bits per element on whole bytes: 10^9 trits in 200 MB (log2 3 = 1.585 is the bound)
        assert_eq!(DType::Ternary.bytes_for(1_000_000_000), Bytes::mb(200));
    }

    #[test]
    fn bits_agree_with_bytes_for_whole_formats() {
        for d in DType::ALL {
            if let Some(b) = d.whole_bytes() {
                #[allow(clippy::cast_precision_loss)]
                let from_bytes = (b * 8) as f64;
                assert!((d.bits() - from_bytes).abs() < f64::EPSILON, "{d}");
            }
        }
    }

    #[test]
    fn overflow_is_reported() {
        assert_eq!(DType::F32.checked_bytes_for(u64::MAX), None);
        assert!(DType::NF4.checked_bytes_for(u64::MAX).is_some());
    }
}
