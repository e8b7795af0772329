//! The macros under trybuild: one `tests/ui/NAME.rs` per mistake, with the
//! expected errors in `NAME.stderr`; and `tests/ui-pass/*.rs`, whole
//! programs (a real `fn main`) that must build and run successfully.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui-pass/*.rs");
}
