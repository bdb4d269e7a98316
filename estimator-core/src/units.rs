//! Byte quantities.
//!
//! Every memory figure is a [`Bytes`]: a `u64` newtype whose arithmetic is checked. An overflow
//! is never a wrap: the panicking operations stop const evaluation with a message that names the
//! quantity (a compile error in a `const` item), and the `checked_*` forms return `None` for run
//! time callers that want an error value instead.

use core::fmt;

/// A number of bytes.
///
/// Constructors follow the two conventions people mix up: binary ([`Bytes::kib`], [`Bytes::mib`],
/// [`Bytes::gib`], powers of 1024, which is what `nvidia-smi` and allocators report) and SI
/// ([`Bytes::kb`], [`Bytes::mb`], [`Bytes::gb`], powers of 1000, which is what papers and model
/// cards usually mean by "GB").
///
/// ```
/// use estimator::Bytes;
/// const CARD: Bytes = Bytes::gib(24);
/// assert_eq!(CARD.get(), 25_769_803_776);
/// assert_eq!(Bytes::gb(24).get(), 24_000_000_000);
/// assert_eq!(format!("{CARD}"), "24.00 GiB");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Bytes(u64);

/// 1 KiB = 2^10 bytes.
const KIB: u64 = 1 << 10;
/// 1 MiB = 2^20 bytes.
const MIB: u64 = 1 << 20;
/// 1 GiB = 2^30 bytes.
const GIB: u64 = 1 << 30;
/// 1 TiB = 2^40 bytes.
const TIB: u64 = 1 << 40;

const fn scaled(n: u64, unit: u64, what: &str) -> Bytes {
    match n.checked_mul(unit) {
        Some(v) => Bytes(v),
        None => panic!("{}", what),
    }
}

impl Bytes {
    /// Zero bytes.
    pub const ZERO: Bytes = Bytes(0);

    /// `n` bytes.
    #[must_use]
    pub const fn new(n: u64) -> Bytes {
        Bytes(n)
    }

    /// `n` KiB (`n` × 1024 bytes).
    #[must_use]
    pub const fn kib(n: u64) -> Bytes {
        scaled(n, KIB, "estimator: Bytes::kib overflows u64")
    }

    /// `n` MiB (`n` × 2^20 bytes).
    #[must_use]
    pub const fn mib(n: u64) -> Bytes {
        scaled(n, MIB, "estimator: Bytes::mib overflows u64")
    }

    /// `n` GiB (`n` × 2^30 bytes): what a "24 GB" GPU reports as its capacity.
    #[must_use]
    pub const fn gib(n: u64) -> Bytes {
        scaled(n, GIB, "estimator: Bytes::gib overflows u64")
    }

    /// `n` kB (SI: `n` × 1000 bytes).
    #[must_use]
    pub const fn kb(n: u64) -> Bytes {
        scaled(n, 1_000, "estimator: Bytes::kb overflows u64")
    }

    /// `n` MB (SI: `n` × 10^6 bytes).
    #[must_use]
    pub const fn mb(n: u64) -> Bytes {
        scaled(n, 1_000_000, "estimator: Bytes::mb overflows u64")
    }

    /// `n` GB (SI: `n` × 10^9 bytes), the unit of papers and model cards.
    #[must_use]
    pub const fn gb(n: u64) -> Bytes {
        scaled(n, 1_000_000_000, "estimator: Bytes::gb overflows u64")
    }

    /// The number of bytes.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }

    /// `self + other`, or `None` when the sum does not fit in a `u64`.
    #[must_use]
    pub const fn checked_add(self, other: Bytes) -> Option<Bytes> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Bytes(v)),
            None => None,
        }
    }

    /// `self × n`, or `None` when the product does not fit in a `u64`.
    #[must_use]
    pub const fn checked_mul(self, n: u64) -> Option<Bytes> {
        match self.0.checked_mul(n) {
            Some(v) => Some(Bytes(v)),
            None => None,
        }
    }

    /// `self + other`; stops const evaluation (panics at run time) when the sum overflows.
    #[must_use]
    pub const fn add(self, other: Bytes) -> Bytes {
        match self.checked_add(other) {
            Some(v) => v,
            None => panic!("estimator: byte total overflows u64 (more than 16 EiB)"),
        }
    }

    /// `self × n`; stops const evaluation (panics at run time) when the product overflows.
    #[must_use]
    pub const fn times(self, n: u64) -> Bytes {
        match self.checked_mul(n) {
            Some(v) => v,
            None => panic!("estimator: byte total overflows u64 (more than 16 EiB)"),
        }
    }

    /// `self − other`, or zero when `other` is larger.
    #[must_use]
    pub const fn saturating_sub(self, other: Bytes) -> Bytes {
        Bytes(self.0.saturating_sub(other.0))
    }

    /// The larger of the two.
    #[must_use]
    pub const fn max(self, other: Bytes) -> Bytes {
        if self.0 >= other.0 { self } else { other }
    }

    /// The value in GiB, for display.
    #[must_use]
    #[allow(
        clippy::cast_precision_loss,
        reason = "display only; counts stay integers"
    )]
    pub const fn as_gib(self) -> f64 {
        self.0 as f64 / GIB as f64
    }

    /// The value in SI GB, for display.
    #[must_use]
    #[allow(
        clippy::cast_precision_loss,
        reason = "display only; counts stay integers"
    )]
    pub const fn as_gb(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Displays in SI units (kB, MB, GB, TB) instead of the default binary ones.
    #[must_use]
    pub const fn si(self) -> Si {
        Si(self)
    }
}

/// Binary units, two decimals: `512 B`, `1.50 KiB`, `24.00 GiB`.
impl fmt::Display for Bytes {
    #[allow(clippy::cast_precision_loss, reason = "display only")]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        let (unit, name) = match n {
            _ if n >= TIB => (TIB, "TiB"),
            _ if n >= GIB => (GIB, "GiB"),
            _ if n >= MIB => (MIB, "MiB"),
            _ if n >= KIB => (KIB, "KiB"),
            _ => {
                return f.pad(crate::text::StackStr::<32>::display(format_args!("{n} B")).as_str());
            }
        };
        f.pad(
            crate::text::StackStr::<32>::display(format_args!(
                "{:.2} {name}",
                n as f64 / unit as f64
            ))
            .as_str(),
        )
    }
}

/// [`Bytes`] shown in SI units, from [`Bytes::si`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Si(Bytes);

/// SI units, two decimals: `512 B`, `1.50 kB`, `25.77 GB`.
impl fmt::Display for Si {
    #[allow(clippy::cast_precision_loss, reason = "display only")]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.0;
        let (unit, name) = match n {
            _ if n >= 1_000_000_000_000 => (1e12, "TB"),
            _ if n >= 1_000_000_000 => (1e9, "GB"),
            _ if n >= 1_000_000 => (1e6, "MB"),
            _ if n >= 1_000 => (1e3, "kB"),
            _ => {
                return f.pad(crate::text::StackStr::<32>::display(format_args!("{n} B")).as_str());
            }
        };
        f.pad(
            crate::text::StackStr::<32>::display(format_args!("{:.2} {name}", n as f64 / unit))
                .as_str(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_si_constructors() {
        // Definitions: IEC 80000-13 (KiB, MiB, GiB) and SI prefixes (kB, MB, GB).
        assert_eq!(Bytes::kib(1).get(), 1024);
        assert_eq!(Bytes::mib(1).get(), 1_048_576);
        assert_eq!(Bytes::gib(1).get(), 1_073_741_824);
        assert_eq!(Bytes::kb(1).get(), 1000);
        assert_eq!(Bytes::mb(1).get(), 1_000_000);
        assert_eq!(Bytes::gb(1).get(), 1_000_000_000);
    }

    #[test]
    fn checked_arithmetic_reports_overflow() {
        assert_eq!(Bytes::new(u64::MAX).checked_add(Bytes::new(1)), None);
        assert_eq!(Bytes::new(u64::MAX / 2 + 1).checked_mul(2), None);
        assert_eq!(Bytes::new(3).checked_mul(5), Some(Bytes::new(15)));
    }

    #[test]
    #[should_panic(expected = "byte total overflows u64")]
    fn panicking_add_names_the_quantity() {
        let _ = Bytes::new(u64::MAX).add(Bytes::new(1));
    }

    #[test]
    fn display_picks_the_unit() {
        extern crate std;
        use std::format;
        assert_eq!(format!("{}", Bytes::new(512)), "512 B");
        assert_eq!(
            format!("{}", Bytes::kib(3).add(Bytes::new(512))),
            "3.50 KiB"
        );
        assert_eq!(format!("{}", Bytes::gib(80)), "80.00 GiB");
        assert_eq!(format!("{}", Bytes::gib(24).si()), "25.77 GB");
    }
}
