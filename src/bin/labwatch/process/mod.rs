//! Process-wide policy: choices that belong to the `labwatch` executable as
//! a whole, not to the library that tests, benchmarks and fuzzers link too.
//! Each part says why it exists:
//!
//! - [`allocator`]: glibc's allocator held to one arena and a fixed mmap
//!   threshold, and freed memory given back to the kernel once work has
//!   ended, so a daemon's resident size follows what it uses.
//! - [`subreaper`]: labwatch adopts what its plugins leave behind, so a
//!   killed plugin's children are reaped instead of piling up under PID 1.
//! - [`open_files`]: the soft open-files limit lifted to the hard one, so
//!   HTTP clients and checks have room (the default 1,024 is for `select`).
//! - [`math`]: `exp` and `pow` defined here, so the C math library is not
//!   loaded for the two calls dependencies make.

pub mod allocator;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod math;
pub mod open_files;
pub mod subreaper;
