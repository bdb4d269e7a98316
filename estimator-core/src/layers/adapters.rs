//! Parameter-efficient fine-tuning: `Lora` adapters and `Frozen` layers.

use core::marker::PhantomData;

use crate::cost::{Activations, Cost};
use crate::layers::linear::{Linear, linear};
use crate::params::{Layer, Params};

/// The cost of [`Lora`] on a `Linear(inp, out, bias)` as a value: the base frozen, adapters
/// `A` (`r × inp`) and `B` (`out × r`) trainable: `r·(inp + out)` trainable parameters (Hu et
/// al. 2021).
///
/// Saved for backward per token: `A`'s input (`inp`) and `B`'s input (`r`), both for the
/// adapters' weight gradients; the frozen base keeps nothing of its own. With peft's default
/// `lora_dropout = 0` there is no dropout in the adapter path.
#[must_use]
pub const fn lora(inp: u64, out: u64, bias: bool, r: u64) -> Cost {
    assert!(r > 0, "estimator: a LoRA rank R must be at least 1");
    let base = linear(inp, out, bias).frozen();
    let adapters = linear(inp, r, false).add(linear(r, out, false));
    // Textbook: count the input once (the base and `A` read the same tensor).
    let act = Activations {
        textbook_per_token: adapters.act.textbook_per_token,
        ..base.act.add(adapters.act)
    };
    Cost {
        act,
        ..base.add(adapters)
    }
    .widths(inp, out)
    .live(inp.saturating_add(out).saturating_add(r))
}

/// A LoRA-adapted `Linear`: `BASE` is the `Linear` it wraps (frozen), `R` the rank. See
/// [`lora`]. For QLoRA, the memory model stores the frozen base in NF4.
///
/// ```
/// use estimator::prelude::*;
/// type Q = Lora<Linear<4096, 4096, false>, 16>;
/// assert_eq!(Q::PARAMS, 4096 * 4096 + 16 * (4096 + 4096));
/// assert_eq!(Q::TRAINABLE, 16 * (4096 + 4096));
/// ```
pub struct Lora<BASE, const R: u64>(PhantomData<fn() -> BASE>);

impl<const IN: u64, const OUT: u64, const BIAS: bool, const R: u64> Params
    for Lora<Linear<IN, OUT, BIAS>, R>
{
    const COST: Cost = lora(IN, OUT, BIAS, R);
    const KIND: &'static str = "Lora";
}

/// `T` with every parameter frozen (`requires_grad_(False)`): no gradients, no optimizer state,
/// and no inputs kept for weight gradients (see [`Cost::frozen`]).
///
/// ```
/// use estimator::prelude::*;
/// assert_eq!(Frozen::<Linear<768, 768>>::PARAMS, 590_592);
/// assert_eq!(Frozen::<Linear<768, 768>>::TRAINABLE, 0);
/// ```
pub struct Frozen<T>(PhantomData<fn() -> T>);

impl<T: Params> Params for Frozen<T> {
    const COST: Cost = T::COST.frozen();
    const KIND: &'static str = T::KIND;
    const REPEAT: u64 = T::REPEAT;
    const LAYERS: &'static [Layer<'static>] = T::LAYERS;
}
