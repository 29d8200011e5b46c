//! Placeholder until the whole-process driver lands.
fn main() {}
