//! Every macro error points at the user's code and says what to do.

#[test]
fn errors_are_clear() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
