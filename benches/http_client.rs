//! Client figure: 2 000 GETs over keep-alive, 200 at a time (in progress).

fn main() {}
