//! Compile-fail tests of the macros' error messages: one `tests/ui/NAME.rs`
//! per mistake, with the expected output in `NAME.stderr`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
