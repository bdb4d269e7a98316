//! Shared arithmetic of the layer definitions.

/// Korthikanti et al.'s textbook bytes for `n` saved 16-bit elements (2 bytes each).
pub(crate) const fn textbook_elems(n: u64) -> u64 {
    match n.checked_mul(2) {
        Some(v) => v,
        None => panic!(
            "estimator: activation element count overflows u64; check the layer dimensions and repeat counts"
        ),
    }
}

/// `a · b` for layer dimensions; stops const evaluation naming the layer on overflow.
pub(crate) const fn dim_mul(a: u64, b: u64) -> u64 {
    match a.checked_mul(b) {
        Some(v) => v,
        None => panic!(
            "estimator: a layer dimension product overflows u64; check the layer's const parameters"
        ),
    }
}

/// `a + b` for layer dimensions; stops const evaluation on overflow.
pub(crate) const fn dim_add(a: u64, b: u64) -> u64 {
    match a.checked_add(b) {
        Some(v) => v,
        None => panic!(
            "estimator: a layer dimension sum overflows u64; check the layer's const parameters"
        ),
    }
}
