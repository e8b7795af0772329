//! The HTTP server figure (in progress).

fn main() {}
