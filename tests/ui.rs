//! Compiler diagnostics: every error of `#[derive(Params)]` and of the layers' compile-time
//! checks, with its committed `.stderr` (regenerate with `TRYBUILD=overwrite cargo test --test
//! ui` on the pinned toolchain, then read the diff).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/derive/*.rs");
    t.compile_fail("tests/ui/layers/*.rs");
    t.compile_fail("tests/ui/budget/*.rs");
    t.compile_fail("tests/ui/model/*.rs");
}
