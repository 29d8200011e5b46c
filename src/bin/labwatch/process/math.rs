//! `exp` and `pow` for the whole process, so labwatch does not load the C
//! math library.
//!
//! Only two functions of libm were ever called, both from dependencies:
//! hickory's resolver decays its server round-trip estimates with `exp`, and
//! tokio's multi-threaded scheduler weighs task poll times with `pow`. For
//! those two calls the dynamic loader mapped all of `libm.so.6`, and the
//! kernel's fault-around made about half a MiB of it resident: 6% of an idle
//! daemon's memory. Defined here, the linker resolves both calls inside the
//! executable and, linking with `--as-needed`, drops libm altogether.
//!
//! The definitions come from the `libm` crate (a Rust port of musl's math
//! library, the one Rust's own `compiler-builtins` uses where there is no C
//! library), accurate to within an ulp like glibc's. They do not set `errno`,
//! which nothing in Rust reads. A dependency that starts calling another
//! libm function brings `libm.so.6` back: the benchmark's idle row lists the
//! shared libraries the daemon maps, so that shows.
//!
//! Only for Linux with glibc, the platform this was measured on; elsewhere
//! the system's math library stays. Only in the executable: the library's
//! tests, benchmarks and fuzz targets keep glibc's.

// SAFETY (both definitions): `no_mangle` puts these under the C library's
// names in the whole executable. That is sound because each has exactly the
// C signature (`double f(double[, double])`, the C ABI), is a pure function
// of its arguments like the C one (no errno, no global state), and is the
// only definition of its name among the executable's objects (a second one
// would fail to link, not silently win).

/// The C library's `exp(3)`: e raised to `x`.
#[unsafe(no_mangle)]
pub extern "C" fn exp(x: f64) -> f64 {
    libm::exp(x)
}

/// The C library's `pow(3)`: `x` raised to `y`.
#[unsafe(no_mangle)]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

#[cfg(test)]
mod tests {
    // Called through the C declarations, as dependencies call them, so the
    // test goes through the symbols this module defines.
    unsafe extern "C" {
        #[link_name = "exp"]
        fn c_exp(x: f64) -> f64;
        #[link_name = "pow"]
        fn c_pow(x: f64, y: f64) -> f64;
    }

    #[test]
    fn exp_and_pow_follow_the_c_library() {
        // SAFETY: both are plain functions of floats, defined above.
        let (e, zero, inf) = unsafe { (c_exp(1.0), c_exp(0.0), c_exp(1000.0)) };
        assert!((e - std::f64::consts::E).abs() < 1e-15, "exp(1) = {e}");
        assert_eq!(zero, 1.0);
        assert_eq!(inf, f64::INFINITY);
        // SAFETY: as above.
        let (p, frac, nan) = unsafe { (c_pow(2.0, 10.0), c_pow(0.9, 0.5), c_pow(-8.0, 1.0 / 3.0)) };
        assert_eq!(p, 1024.0);
        assert!((frac - 0.9f64.sqrt()).abs() < 1e-15, "pow(0.9, 0.5) = {frac}");
        assert!(nan.is_nan(), "pow of a negative base to a fraction is NaN, got {nan}");
        // Through std too, which lowers powf and exp to these symbols.
        assert_eq!(std::hint::black_box(3.0f64).powf(std::hint::black_box(2.0)), 9.0);
    }
}
