//! Compile-time budget checks.

/// Fails the build when an estimate does not fit a budget, with the numbers in the message:
///
/// ```text
/// error[E0080]: evaluation panicked: Gpt2 training needs 30.1 GiB > 24.0 GiB available (peak at
///               backward): activations 14.2, optimizer 2.0, … GiB
/// ```
///
/// `$mem` is a [`Memory`](crate::Memory) and `$budget` a [`Bytes`](crate::Bytes) (`GB24`,
/// `gpu::RTX_4090.usable()`), both const expressions. It expands to a `const _` item, so
/// `cargo check` reports it.
///
/// ```
/// use estimator::prelude::*;
///
/// #[derive(Params)]
/// struct Small {
///     layers: [TransformerLayer<512, 8>; 6],
/// }
///
/// const TRAIN: Memory = Training::of::<Small>().batch(8).seq(512).estimate();
/// estimator::assert_fits!(TRAIN, GB24);
/// ```
///
/// ```compile_fail
/// use estimator::prelude::*;
///
/// #[derive(Params)]
/// struct Big {
///     layers: [TransformerLayer<8192, 64>; 80],
/// }
///
/// // 64 billion parameters at 16 bytes each do not fit in 24 GiB
/// estimator::assert_fits!(Training::of::<Big>().estimate(), GB24);
/// ```
#[macro_export]
macro_rules! assert_fits {
    ($mem:expr, $budget:expr $(,)?) => {
        const _: () = {
            let mem: $crate::Memory = $mem;
            let budget: $crate::Bytes = $budget;
            if !mem.fits(budget) {
                ::core::panic!("{}", mem.verdict(budget).as_str());
            }
        };
    };
}

/// Fails the build when a condition computed at compile time is false: the plain form,
/// `const_assert!(TRAIN.fits(GB24))`.
///
/// ```
/// use estimator::prelude::*;
/// estimator::const_assert!(Linear::<768, 768>::PARAMS == 590_592);
/// ```
#[macro_export]
macro_rules! const_assert {
    ($cond:expr $(,)?) => {
        const _: () = ::core::assert!($cond);
    };
    ($cond:expr, $($msg:tt)+) => {
        const _: () = ::core::assert!($cond, $($msg)+);
    };
}
