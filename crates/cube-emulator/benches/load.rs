//! Load benchmark (filled in below).
fn main() {}
