#[green::unpatched(os_thread)]
fn crunch() {}

fn main() {
    crunch();
}
