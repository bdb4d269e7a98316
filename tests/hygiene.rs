//! Generated code names everything by absolute path: it compiles with no prelude, with the
//! names it uses shadowed, under `#![deny(warnings)]`, and through a renamed crate.
#![deny(warnings)]

mod reexport {
    pub(crate) use ::estimator as renamed;
}

#[allow(dead_code, non_camel_case_types)]
mod shadowed {
    #![no_implicit_prelude]

    // Everything the expansion could accidentally pick up from the call site.
    struct Option;
    struct Some;
    struct Result;
    struct Ok;
    struct Err;
    struct Cost;
    struct Layer;
    struct Params;
    struct str;
    fn sum() {}
    mod estimator {}
    mod core {}

    #[derive(::estimator::Params)]
    pub(super) struct Mlp<const D: u64, const FF: u64> {
        up: ::estimator::layers::Linear<D, FF>,
        act: ::estimator::layers::Gelu<FF>,
        down: ::estimator::layers::Linear<FF, D>,
    }

    #[derive(::estimator::Params)]
    #[params(crate = super::reexport::renamed)]
    pub(super) struct Generic<T, const N: usize> {
        blocks: [T; N],
        #[params(skip)]
        name: ::std::string::String,
    }

    #[derive(::estimator::Params)]
    pub(super) struct Tuple(
        ::estimator::layers::Embedding<100, 8>,
        #[params(tied)] ::estimator::layers::Linear<8, 100, false>,
    );
}

use estimator::Params;

#[test]
fn shadowed_names_do_not_leak_into_the_expansion() {
    type Mlp = shadowed::Mlp<64, 256>;
    assert_eq!(Mlp::PARAMS, 64 * 256 + 256 + 256 * 64 + 64);
    assert_eq!(<shadowed::Generic<Mlp, 3>>::PARAMS, 3 * Mlp::PARAMS);
    assert_eq!(shadowed::Tuple::PARAMS, 800);
    assert_eq!(shadowed::Tuple::COST.tied, 800);
}
