// The fn is still emitted beside the error, so the rest of the crate
// type-checks: only the one error below is reported, not "cannot find
// function `helper`".
#[green::test(threads = 1)]
fn helper() {}

fn main() {
    helper();
}
