//! Budgets: the card sizes people say, and named GPUs with the memory their driver reports.
//!
//! A "24 GB" card reports 24 GiB (24 × 2^30 bytes, what `nvidia-smi` shows as `24576MiB`), not
//! 24 × 10^9 bytes: [`GB24`] and its siblings are binary capacities. Papers and model cards use SI
//! gigabytes ([`Bytes::gb`](crate::Bytes::gb)); the difference is 7 %.
//!
//! Not all of a card holds tensors: the CUDA context (driver state, the kernels of PyTorch's
//! CUDA libraries loaded lazily) takes a few hundred MiB before the first tensor.
//! [`Gpu::usable`] is what is left; budgets compare estimates against it.

use crate::units::Bytes;

/// A 24 GiB card (RTX 3090, RTX 4090, A10): 24 × 2^30 bytes.
pub const GB24: Bytes = Bytes::gib(24);
/// A 40 GiB card (A100 40GB).
pub const GB40: Bytes = Bytes::gib(40);
/// A 48 GiB card (A6000, L40S, A40).
pub const GB48: Bytes = Bytes::gib(48);
/// An 80 GiB card (A100 80GB, H100 80GB).
pub const GB80: Bytes = Bytes::gib(80);

/// One GiB, for budgets written as `32 * GIB`.
pub const GIB: Bytes = Bytes::gib(1);
/// One SI gigabyte (10^9 bytes).
pub const GB: Bytes = Bytes::gb(1);

/// A GPU model: the total memory its driver reports and a reserve for the CUDA context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Gpu {
    /// The name used on the command line (`rtx-4090`).
    pub name: &'static str,
    /// Total memory as `nvidia-smi` reports it (`memory.total`).
    pub capacity: Bytes,
    /// Memory the CUDA context takes before any tensor.
    pub reserve: Bytes,
}

/// The CUDA context of a PyTorch process with CUDA 12's lazy module loading: about 500 MiB on
/// current data-centre and consumer cards (PyTorch's CUDA semantics notes; measured contexts
/// range from ~300 MiB to ~600 MiB depending on driver, GPU and the libraries loaded). Configure
/// your own with [`Gpu::with_reserve`].
pub const CUDA_CONTEXT: Bytes = Bytes::mib(512);

impl Gpu {
    /// A GPU of `capacity` with the default [`CUDA_CONTEXT`] reserve.
    #[must_use]
    pub const fn new(name: &'static str, capacity: Bytes) -> Gpu {
        Gpu {
            name,
            capacity,
            reserve: CUDA_CONTEXT,
        }
    }

    /// The same GPU with another reserve (measure yours: `torch.cuda.mem_get_info()` right after
    /// `torch.cuda.init()` and one tiny allocation).
    #[must_use]
    pub const fn with_reserve(self, reserve: Bytes) -> Gpu {
        Gpu { reserve, ..self }
    }

    /// Memory available to tensors: capacity − reserve.
    #[must_use]
    pub const fn usable(self) -> Bytes {
        self.capacity.saturating_sub(self.reserve)
    }

    /// The preset named `name` (case-insensitive, `-` or `_`), if there is one.
    #[must_use]
    pub fn by_name(name: &str) -> Option<Gpu> {
        let wanted = name.trim();
        ALL.iter().copied().find(|g| {
            g.name.len() == wanted.len()
                && g.name
                    .bytes()
                    .zip(wanted.bytes())
                    .all(|(a, b)| a.eq_ignore_ascii_case(&b) || (a == b'-' && b == b'_'))
        })
    }
}

/// NVIDIA RTX 4090: 24564 MiB (`nvidia-smi` memory.total).
pub const RTX_4090: Gpu = Gpu::new("rtx-4090", Bytes::mib(24_564));
/// NVIDIA RTX 3090: 24576 MiB.
pub const RTX_3090: Gpu = Gpu::new("rtx-3090", Bytes::mib(24_576));
/// NVIDIA A10G (AWS g5): 23028 MiB.
pub const A10G: Gpu = Gpu::new("a10g", Bytes::mib(23_028));
/// NVIDIA L4: 23034 MiB.
pub const L4: Gpu = Gpu::new("l4", Bytes::mib(23_034));
/// NVIDIA T4: 15360 MiB.
pub const T4: Gpu = Gpu::new("t4", Bytes::mib(15_360));
/// NVIDIA L40S: 46068 MiB.
pub const L40S: Gpu = Gpu::new("l40s", Bytes::mib(46_068));
/// NVIDIA A100 40GB (SXM4): 40960 MiB.
pub const A100_40GB: Gpu = Gpu::new("a100-40gb", Bytes::mib(40_960));
/// NVIDIA A100 80GB (SXM4): 81920 MiB.
pub const A100_80GB: Gpu = Gpu::new("a100-80gb", Bytes::mib(81_920));
/// NVIDIA H100 80GB (SXM5, HBM3): 81559 MiB.
pub const H100_80GB: Gpu = Gpu::new("h100-80gb", Bytes::mib(81_559));
/// NVIDIA H200 (141 GB HBM3e): 143771 MiB.
pub const H200: Gpu = Gpu::new("h200", Bytes::mib(143_771));

/// Every preset, smallest first.
pub const ALL: [Gpu; 10] = [
    T4, A10G, L4, RTX_4090, RTX_3090, A100_40GB, L40S, H100_80GB, A100_80GB, H200,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_sizes_are_binary() {
        // A "24 GB" card holds 24 GiB = 25,769,803,776 bytes, 7.4 % more than 24 × 10^9.
        assert_eq!(GB24.get(), 25_769_803_776);
        assert_eq!(GB80.get(), 80 << 30);
    }

    #[test]
    fn usable_is_capacity_minus_reserve() {
        assert_eq!(RTX_4090.usable(), Bytes::mib(24_564 - 512));
        assert_eq!(
            RTX_4090.with_reserve(Bytes::ZERO).usable(),
            RTX_4090.capacity
        );
    }

    #[test]
    fn presets_by_name() {
        assert_eq!(Gpu::by_name("RTX-4090"), Some(RTX_4090));
        assert_eq!(Gpu::by_name("a100_80gb"), Some(A100_80GB));
        assert_eq!(Gpu::by_name("rtx-5090"), None);
        let mut prev = Bytes::ZERO;
        for g in ALL {
            assert!(g.capacity >= prev, "{} out of order", g.name);
            prev = g.capacity;
        }
    }
}
