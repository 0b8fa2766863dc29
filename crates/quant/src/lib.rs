//! Quantized tensor formats and their dot-product kernels, bit-compatible with ggml.
//!
//! A weight matrix in a GGUF file is a sequence of rows; each row is a run of fixed-size
//! blocks in one [`GgmlType`] (Q8_0: 32 elements in 34 bytes, Q4_K: 256 elements in 144 bytes,
//! …; the full layout table is in [`scalar`]). A matrix–vector product never expands the
//! weights to f32. Instead, as in llama.cpp, the activation row is first converted with
//! [`quantize_row`] to the weight type's companion format [`vec_dot_type`] (Q8_0 or Q8_K for
//! quantized weights), and then [`vec_dot`] (one row) or [`vec_dot_many`] (a tile of rows,
//! reusing each weight row from cache) multiplies the integer quants directly.
//!
//! ```
//! use ferrocodex_quant::{quantize_row, vec_dot, vec_dot_type, GgmlType};
//! let n = 64;
//! let weights: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
//! let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
//!
//! let t = GgmlType::Q8_0;
//! let mut w = vec![0u8; t.bytes_for(n as u64).unwrap() as usize];
//! quantize_row(t, &weights, &mut w);
//! let at = vec_dot_type(t);
//! let mut a = vec![0u8; at.bytes_for(n as u64).unwrap() as usize];
//! quantize_row(at, &x, &mut a);
//!
//! let exact: f32 = weights.iter().zip(&x).map(|(w, x)| w * x).sum();
//! assert!((vec_dot(t, n, &w, &a) - exact).abs() < 0.05);
//! ```
//!
//! Where the time goes: decoding is bound by how fast weight bytes stream from memory, so the
//! kernels in the `x86` module (AVX2 + FMA + F16C, chosen at run time) do as little as
//! possible per byte. [`scalar`] holds the plain reference versions that define each format;
//! the tests compare the two. Functions panic on length mismatches, which are caller bugs:
//! tensor bytes are validated when the file is opened.

use std::fmt::Display;

pub use ferrocodex_gguf::GgmlType;

mod fp;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

/// Whether the engine can run weight tensors of this type: F32, F16, BF16, Q8_0, Q4_0, Q5_0,
/// Q4_K, Q5_K, Q6_K. (Q8_K is an activation format only: [`quantize_row`] and
/// [`dequantize_row`] accept it, [`vec_dot`] does not.)
pub fn is_supported(t: GgmlType) -> bool {
    use GgmlType::*;
    matches!(
        t,
        F32 | F16 | BF16 | Q8_0 | Q4_0 | Q5_0 | Q4_K | Q5_K | Q6_K
    )
}

/// The format activations are converted to before a dot product with weights of type `t`, as
/// llama.cpp does: Q8_0 for Q4_0/Q5_0/Q8_0, Q8_K for Q4_K/Q5_K/Q6_K, and the type itself for
/// F32, F16 and BF16. For other types it returns F32 (they are not supported by [`vec_dot`]).
pub fn vec_dot_type(t: GgmlType) -> GgmlType {
    use GgmlType::*;
    match t {
        Q4_0 | Q5_0 | Q8_0 => Q8_0,
        Q4_K | Q5_K | Q6_K => Q8_K,
        F16 => F16,
        BF16 => BF16,
        _ => F32,
    }
}

/// The instruction set [`vec_dot`] and [`vec_dot_many`] run on this CPU: `"avx2+fma+f16c"`
/// or `"portable"`.
pub fn kernel_isa() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if x86::available() {
        return "avx2+fma+f16c";
    }
    "portable"
}

/// Converts a row of f32 to `t` (F32, F16, BF16, Q8_0, Q8_K, and the weight formats Q4_0,
/// Q5_0, Q4_K, Q5_K, Q6_K). Q8_0 and Q8_K round exactly as ggml's activation quantizers do
/// (and use AVX2 where the CPU has it, with the same bytes as [`scalar::quantize_row`]); the
/// weight quantizers are simple round-to-nearest ones.
///
/// # Panics
/// If `dst.len() != t.bytes_for(src.len())` or `t` is not one of the types above.
pub fn quantize_row(t: GgmlType, src: &[f32], dst: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if matches!(t, GgmlType::Q8_0 | GgmlType::Q8_K) && x86::available() {
        assert_eq!(
            dst.len(),
            bytes_for(t, src.len()),
            "quantize_row: {t} destination length"
        );
        // SAFETY: the CPU has the features, and `dst` holds exactly the blocks of `src`.
        unsafe {
            match t {
                GgmlType::Q8_0 => x86::quantize_q8_0(src, dst),
                _ => x86::quantize_q8_k(src, dst),
            }
        }
        return;
    }
    scalar::quantize_row(t, src, dst)
}

/// Converts a row of `t` to f32 (the types [`quantize_row`] accepts).
///
/// # Panics
/// If `src.len() != t.bytes_for(dst.len())` or `t` is not supported.
pub fn dequantize_row(t: GgmlType, src: &[u8], dst: &mut [f32]) {
    scalar::dequantize_row(t, src, dst)
}

/// Dot product of one weight row `w` (type `t`, `n` elements) with one activation row `a`
/// already in [`vec_dot_type`]`(t)`. Uses the AVX2 + FMA + F16C kernels when the CPU has them
/// (checked once), else the portable [`scalar::vec_dot`].
///
/// # Panics
/// If `t` is not [`is_supported`], `n` is not a whole number of blocks, or `w`/`a` do not
/// hold exactly one row of `n` elements.
pub fn vec_dot(t: GgmlType, n: usize, w: &[u8], a: &[u8]) -> f32 {
    let mut out = [0.0f32];
    vec_dot_many(t, n, w, 1, a, 1, &mut out);
    out[0]
}

/// Dot products of `w_rows` consecutive weight rows (type `t`, `n` elements each) with
/// `a_rows` consecutive activation rows in [`vec_dot_type`]`(t)`:
/// `out[r * a_rows + c] = dot(w row r, a row c)`. Each weight row is read from memory once and
/// reused from cache for all activation rows. A row's result is the same, bit for bit, as
/// [`vec_dot`] gives for it alone.
///
/// # Panics
/// If `t` is not [`is_supported`], `n` is not a whole number of blocks, or `w`, `a`, `out`
/// do not hold exactly `w_rows`, `a_rows` and `w_rows * a_rows` rows / values.
pub fn vec_dot_many(
    t: GgmlType,
    n: usize,
    w: &[u8],
    w_rows: usize,
    a: &[u8],
    a_rows: usize,
    out: &mut [f32],
) {
    assert!(is_supported(t), "vec_dot: {t} is not supported");
    let at = vec_dot_type(t);
    // Checked products: the SIMD kernels read by these sizes, so a product that wrapped
    // around must not slip past the checks.
    let w_len = bytes_for(t, n).checked_mul(w_rows);
    let a_len = bytes_for(at, n).checked_mul(a_rows);
    let out_len = w_rows.checked_mul(a_rows);
    assert_eq!(Some(w.len()), w_len, "vec_dot_many: {t} weight rows length");
    assert_eq!(
        Some(a.len()),
        a_len,
        "vec_dot_many: {at} activation rows length"
    );
    assert_eq!(Some(out.len()), out_len, "vec_dot_many: output length");

    #[cfg(target_arch = "x86_64")]
    if x86::available() {
        // SAFETY: the CPU has the features, and the lengths were checked above.
        unsafe { x86::vec_dot_many(t, n, w, w_rows, a, a_rows, out) };
        return;
    }

    let (w_row, a_row) = (bytes_for(t, n), bytes_for(at, n));
    for r in 0..w_rows {
        for c in 0..a_rows {
            let w = &w[r * w_row..(r + 1) * w_row];
            let a = &a[c * a_row..(c + 1) * a_row];
            out[r * a_rows + c] = scalar::vec_dot(t, n, w, a);
        }
    }
}

/// Bytes of `n` elements of `t`; panics (a caller bug) if `n` is not a whole number of blocks.
pub(crate) fn bytes_for(t: GgmlType, n: usize) -> usize {
    match t.bytes_for(n as u64).and_then(|b| usize::try_from(b).ok()) {
        Some(b) => b,
        None => length_panic(t, n),
    }
}

#[cold]
fn length_panic(t: impl Display, n: usize) -> ! {
    panic!("{n} elements are not a whole number of {t} blocks")
}

/// `out[h][d] += p[h] · v[d]` for every `h`: one row of half floats `v` (`n` values, as bytes)
/// scaled by each weight in `p` and added to the matching row of `out` (`p.len()` rows of `n`),
/// reading `v` once for all of them — the value side of attention, where the query heads of a
/// group share their key/value head. Each element is a multiply then an add (two roundings),
/// the same bits as the plain loop in [`scalar::f16_axpy_many`].
///
/// # Panics
/// If `v` is not `2 · n` bytes or `out` is not `p.len() · n` values.
pub fn f16_axpy_many(p: &[f32], v: &[u8], n: usize, out: &mut [f32]) {
    assert_eq!(v.len(), 2 * n, "f16_axpy_many: value row length");
    assert_eq!(out.len(), p.len() * n, "f16_axpy_many: output length");
    #[cfg(target_arch = "x86_64")]
    if x86::available() {
        // SAFETY: the CPU has the features, and the lengths were checked above.
        unsafe { x86::f16_axpy_many(p, v, n, out) };
        return;
    }
    scalar::f16_axpy_many(p, v, n, out)
}
