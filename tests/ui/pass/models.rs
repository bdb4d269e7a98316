// Everything the derive accepts: named, tuple, unit and generic structs, arrays with
// const-generic lengths, nested derives, every field attribute, and a crate override.
use estimator::prelude::*;

#[derive(Params)]
struct Block<const D: u64, const H: u64> {
    norm: RmsNorm<D>,
    attn: MultiHeadAttention<D, H>,
}

#[derive(Params)]
struct Stack<B, const L: usize> {
    blocks: [B; L],
    #[params(skip)]
    name: &'static str,
}

#[derive(Params)]
struct Pair(Embedding<100, 16>, #[params(tied)] Linear<16, 100, false>);

#[derive(Params)]
struct Nothing;

#[derive(Params)]
struct Attn {
    q: Linear<64, 64>,
    #[params(shares_input)]
    k: Linear<64, 64>,
    #[params(frozen)]
    o: Linear<64, 64>,
}

mod api {
    pub use estimator as est;
}

#[derive(Params)]
#[params(crate = api::est)]
struct Renamed {
    inner: Attn,
}

const _: () = assert!(<Block<64, 4>>::PARAMS == 64 + 4 * 64 * 64 + 4 * 64);
const _: () = assert!(<Stack<Block<64, 4>, 3>>::PARAMS == 3 * <Block<64, 4>>::PARAMS);
const _: () = assert!(Pair::PARAMS == 1600);
const _: () = assert!(Nothing::PARAMS == 0);
const _: () = assert!(Attn::TRAINABLE == 2 * (64 * 64 + 64));
const _: () = assert!(Renamed::PARAMS == 3 * (64 * 64 + 64));

fn main() {}
