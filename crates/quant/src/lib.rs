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

/// The instruction set [`vec_dot`] and [`vec_dot_many`] run on this CPU: `"avx2+fma+f16c"`,
/// that with `+avx512vnni` or `+avxvnni` (Q8_0, Q4_0 and Q5_0 against several activation rows
/// at once through VNNI, and with AVX-512 batched Q4_K and Q6_K two rows to a register; same
/// bits as without), or `"portable"`. `FERROCODEX_KERNELS=avx2` in
/// the environment keeps to the AVX2 kernels and `FERROCODEX_KERNELS=avxvnni` to the 256-bit
/// VNNI ones (to compare them); [`with_kernels`] does the same for one thread.
pub fn kernel_isa() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if x86::available() {
        return match x86::vnni::level() {
            x86::vnni::Level::Avx512 => "avx2+fma+f16c+avx512vnni",
            x86::vnni::Level::Avx => "avx2+fma+f16c+avxvnni",
            x86::vnni::Level::None => "avx2+fma+f16c",
        };
    }
    "portable"
}

/// The fastest kernels [`with_kernels`] lets run (each admits those below it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernels {
    /// AVX2 + FMA + F16C only.
    Avx2,
    /// Also the 256-bit VNNI kernels (AVX-VNNI).
    AvxVnni,
    /// Everything the CPU has, AVX-512 VNNI included.
    All,
}

/// Runs `f` with the kernels capped at `cap` on the calling thread (where the CPU has less,
/// it runs what it has), for tests and measurements that compare them: every level gives the
/// same bits.
pub fn with_kernels<R>(cap: Kernels, f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        let level = match cap {
            Kernels::Avx2 => x86::vnni::Level::None,
            Kernels::AvxVnni => x86::vnni::Level::Avx,
            Kernels::All => x86::vnni::Level::Avx512,
        };
        x86::vnni::capped(level, f)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = cap;
        f()
    }
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
    vec_dot_many_at(t, n, w, w_rows, a, a_rows, BatchPlace::SINGLE, out)
}

/// Where an activation row sits in a batch, which decides the kernel llama.cpp's CPU backend
/// multiplies it with and so the order of its float additions: its repacked Q4_K product
/// handles the leading multiple of 4 rows of a batch four at a time and adds per 64 elements
/// (the rest per 256), its tiled K-quant product takes Q5_K/Q6_K batches of 8 rows or more,
/// and its tiled float product takes F32/F16/BF16 batches of 2 rows or more (one 8-lane chain
/// instead of the vector dot product's 4 × 8 lanes) when the matrix has a multiple of 4 rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchPlace {
    /// Rows in the whole batch.
    pub batch: usize,
    /// Whether this row is among the batch's leading multiple of 4 rows.
    pub in_fours: bool,
    /// Rows of the whole weight matrix (its tiled float product needs a multiple of 4).
    pub matrix_rows: usize,
}

impl BatchPlace {
    /// A single row (a decoding step).
    pub const SINGLE: BatchPlace = BatchPlace { batch: 1, in_fours: false, matrix_rows: 0 };
}

/// [`vec_dot_many`] for activation rows at `place` in a batch: the same values up to the last
/// bits, which follow the reference's kernel for that place (see [`BatchPlace`]).
#[allow(clippy::too_many_arguments)]
pub fn vec_dot_many_at(
    t: GgmlType,
    n: usize,
    w: &[u8],
    w_rows: usize,
    a: &[u8],
    a_rows: usize,
    place: BatchPlace,
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
        unsafe { x86::vec_dot_many(t, n, w, w_rows, a, a_rows, place, out) };
        return;
    }

    let _ = place; // the portable kernels keep one order
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

/// The value side of attention for one key/value head, over a run of `cells` cached value
/// rows: every element of `acc` starts at 0, then for each cell `j` in increasing order, each
/// of the `heads` query heads `h` and each element `d`,
///
/// `acc[lane][h][d] = fma(p[h · cells + j], v_j[d], acc[lane][h][d])` with `lane = (lane0 + j) mod lanes`.
///
/// `v` holds the rows as half floats (bytes), row `j` starting `stride` values after row
/// `j − 1`, each `n` long; `acc` is `lanes` × `heads` × `n`. The lanes are the reference's
/// accumulators of a half-precision dot product over the cells ([`LaneOrder`]). The same bits
/// as the plain loop in [`scalar::f16_fma_cells`].
///
/// # Panics
/// If the lengths do not match that description.
#[allow(clippy::too_many_arguments)]
pub fn f16_fma_cells(p: &[f32], heads: usize, v: &[u8], stride: usize, n: usize, cells: usize, lanes: usize, lane0: usize, acc: &mut [f32]) {
    assert_eq!(p.len(), heads * cells, "f16_fma_cells: weights");
    assert!(stride >= n && lanes > 0, "f16_fma_cells: stride or lanes");
    if cells > 0 {
        assert_eq!(v.len(), 2 * ((cells - 1) * stride + n), "f16_fma_cells: value rows");
    }
    assert_eq!(acc.len(), lanes * heads * n, "f16_fma_cells: accumulators");
    #[cfg(target_arch = "x86_64")]
    if x86::available() {
        // SAFETY: the CPU has the features, and the lengths were checked above.
        unsafe { x86::f16_fma_cells(p, heads, v, stride, n, cells, lanes, lane0, acc) };
        return;
    }
    scalar::f16_fma_cells(p, heads, v, stride, n, cells, lanes, lane0, acc)
}

/// The order in which llama.cpp's CPU backend adds up a half-precision dot product, which
/// decides the last bits of attention scores and outputs: batched passes (two tokens or
/// more) go through its tiled matrix product, one chain of fused multiply-adds per lane of
/// 8; single-token passes through its vector dot product, 4 × 8 lanes. See
/// [`scalar::reduce_lanes8`] and [`scalar::reduce_lanes32`] for how the lanes are summed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaneOrder {
    /// Element i goes to lane i mod 8.
    Lanes8,
    /// Element i goes to lane i mod 32.
    Lanes32,
}

impl LaneOrder {
    pub fn lanes(self) -> usize {
        match self {
            LaneOrder::Lanes8 => 8,
            LaneOrder::Lanes32 => 32,
        }
    }

    /// The sum of one accumulator per lane, in this order's addition tree.
    pub fn reduce(self, lanes: &[f32]) -> f32 {
        match self {
            LaneOrder::Lanes8 => scalar::reduce_lanes8(lanes.try_into().expect("8 lanes")),
            LaneOrder::Lanes32 => scalar::reduce_lanes32(lanes.try_into().expect("32 lanes")),
        }
    }
}

/// [`f16_dot_ordered`] of each of `rows` key rows with each of `q.len() / (2·n)` query rows:
/// `out[r · q_rows + i] = dot(k row r, q row i)`, where key row r starts at byte
/// `2 · r · k_stride` of `k` (rows of `n` half floats, `k_stride ≥ n` elements apart). The
/// same bits as calling [`f16_dot_ordered`] for every pair, without the per-call overhead.
///
/// # Panics
/// If `n` is not a whole number of lanes, or the lengths do not match.
pub fn f16_dot_ordered_many(
    order: LaneOrder,
    n: usize,
    k: &[u8],
    k_stride: usize,
    rows: usize,
    q: &[u8],
    out: &mut [f32],
) {
    assert_eq!(n % order.lanes(), 0, "f16_dot_ordered_many: row length");
    assert!(k_stride >= n, "f16_dot_ordered_many: key stride");
    assert_eq!(q.len() % (2 * n), 0, "f16_dot_ordered_many: query rows");
    let q_rows = q.len() / (2 * n);
    assert_eq!(out.len(), rows * q_rows, "f16_dot_ordered_many: output length");
    if rows == 0 {
        return;
    }
    assert!(k.len() >= 2 * ((rows - 1) * k_stride + n), "f16_dot_ordered_many: key rows");
    #[cfg(target_arch = "x86_64")]
    if x86::available() {
        // SAFETY: the CPU has the features, and the lengths were checked above.
        unsafe { x86::f16_dot_ordered_many(order, n, k, k_stride, rows, q, q_rows, out) };
        return;
    }
    for r in 0..rows {
        let kr = &k[2 * r * k_stride..2 * (r * k_stride + n)];
        for i in 0..q_rows {
            out[r * q_rows + i] = scalar::f16_dot_ordered(order, kr, &q[2 * i * n..2 * (i + 1) * n]);
        }
    }
}

/// Dot product of two rows of half floats (as bytes), each product fused into its lane's
/// running sum, the lanes summed as `order` says: bit for bit [`scalar::f16_dot_ordered`].
///
/// # Panics
/// If the rows differ in length, or their length is not a whole number of 2·lanes bytes.
pub fn f16_dot_ordered(order: LaneOrder, x: &[u8], y: &[u8]) -> f32 {
    assert_eq!(x.len(), y.len(), "f16_dot_ordered: row lengths");
    assert_eq!(x.len() % (2 * order.lanes()), 0, "f16_dot_ordered: row length");
    #[cfg(target_arch = "x86_64")]
    if x86::available() {
        // SAFETY: the CPU has the features, and the lengths were checked above.
        return unsafe { x86::f16_dot_ordered(order, x, y) };
    }
    scalar::f16_dot_ordered(order, x, y)
}
