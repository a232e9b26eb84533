//! The `chohyo` command line.
fn main() {}
