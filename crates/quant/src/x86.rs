//! AVX2 + FMA + F16C dot-product kernels: the hot loop of every matrix product.
//!
//! Each kernel computes the same integer maths as its scalar twin in [`crate::scalar`]: the
//! quantized weights are unpacked to bytes, multiplied with the quantized activation bytes by
//! `vpmaddubsw` (unsigned × signed bytes → i16 pair sums) and `vpmaddwd` (→ i32), and only a
//! block's i32 sums are converted to float and scaled. Q8_0 weights are signed, so their sign
//! is moved onto the activation first (|w| · sign(w)·a), which needs activation quants in
//! −127..=127 — what [`crate::quantize_row`] produces. Q4_0 and Q5_0 weights are stored
//! unsigned with an offset (q = u − 8, u − 16): `u` goes into `vpmaddubsw` as it is and each
//! lane's sum is corrected by the offset times the activations' sum, which gives the same
//! integers.
//!
//! Every kernel takes one weight row and `N` (1 to 8) activation rows: a weight block is
//! loaded and unpacked once and used for all `N` rows. Each activation row's result goes
//! through exactly the same operations whatever `N` is, so a row's dot product does not depend
//! on how many rows were batched with it. The 32-element kernels read the activations
//! repacked once per call ([`pack_q8_0`]). Where the CPU has AVX-512 VNNI or AVX-VNNI, [`vnni`]
//! takes the Q8_0, Q4_0 and Q5_0 products over several activation rows (and, with AVX-512, the
//! batched Q4_K and Q6_K ones), with the same bits.

#![allow(clippy::needless_range_loop)] // kernels index several per-row arrays in step

use std::arch::x86_64::*;
use std::sync::OnceLock;

use crate::GgmlType;

/// Runs `$body` for each group of the `$rows` activation rows the kernels take at once, in
/// order: eight rows while that many are left, then four, then the rest (3, 2 or 1). In
/// `$body`, `$c` is the group's first row and `$n` its size, a constant.
/// The packing ([`pack_q8_0`]) and every driver walk the rows through here, so their groups
/// cannot differ.
macro_rules! in_groups {
    ($rows:expr, |$c:ident, $n:ident| $body:block) => {{
        let rows: usize = $rows;
        let mut start = 0usize;
        while start + 8 <= rows {
            in_groups!(@ start, 8, $c, $n, $body);
        }
        while start + 4 <= rows {
            in_groups!(@ start, 4, $c, $n, $body);
        }
        match rows - start {
            3 => in_groups!(@ start, 3, $c, $n, $body),
            2 => in_groups!(@ start, 2, $c, $n, $body),
            1 => in_groups!(@ start, 1, $c, $n, $body),
            _ => {}
        }
    }};
    (@ $start:ident, $k:literal, $c:ident, $n:ident, $body:block) => {{
        const $n: usize = $k;
        let $c = $start;
        $body
        #[allow(unused_assignments)] // the last group's advance is not read
        {
            $start += $k;
        }
    }};
}

pub(crate) mod vnni;
use vnni::Level;

/// Whether this CPU can run the kernels (checked once).
pub(crate) fn available() -> bool {
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| {
        is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c")
    })
}

/// `out[r * a_rows + c] = dot(w row r, a row c)` for `t`, with lengths already checked by the
/// caller: `w` holds `w_rows` rows of `t.bytes_for(n)` bytes, `a` holds `a_rows` rows in
/// `vec_dot_type(t)`, `out.len() == w_rows * a_rows`.
///
/// # Safety
/// [`available`] must be true, and the lengths must be as described.
pub(crate) unsafe fn vec_dot_many(
    t: GgmlType,
    n: usize,
    w: &[u8],
    w_rows: usize,
    a: &[u8],
    a_rows: usize,
    place: crate::BatchPlace,
    out: &mut [f32],
) {
    debug_assert_eq!(out.len(), w_rows * a_rows);
    let (fours, large) = (place.in_fours, place.batch >= 8);
    // The reference's tiled float product takes batches of 2+ rows of a matrix whose row
    // count is a multiple of 4 and whose rows are whole multiples of 8.
    let float_tiled = place.batch >= 2 && place.matrix_rows % 4 == 0 && n % 8 == 0;
    let vnni = match t {
        GgmlType::Q8_0 | GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q4_K | GgmlType::Q6_K => vnni::level(),
        _ => Level::None,
    };
    match t {
        GgmlType::Q8_0 if a_rows == 1 => one_row_q8_0(n / 32, w, w_rows, a, out),
        GgmlType::Q4_0 if a_rows == 1 => one_row_q4_0(n / 32, w, w_rows, a, out),
        GgmlType::Q5_0 if a_rows == 1 => one_row_q5_0(n / 32, w, w_rows, a, out),
        GgmlType::Q8_0 if vnni == Level::Avx512 => vnni::avx512::rows_q8_0(n / 32, w, w_rows, a, a_rows, out),
        GgmlType::Q4_0 if vnni == Level::Avx512 => vnni::avx512::rows_q4_0(n / 32, w, w_rows, a, a_rows, out),
        GgmlType::Q5_0 if vnni == Level::Avx512 => vnni::avx512::rows_q5_0(n / 32, w, w_rows, a, a_rows, out),
        GgmlType::Q8_0 if vnni == Level::Avx => vnni::avx::rows_q8_0(n / 32, w, w_rows, a, a_rows, out),
        GgmlType::Q4_0 if vnni == Level::Avx => vnni::avx::rows_q4_0(n / 32, w, w_rows, a, a_rows, out),
        GgmlType::Q5_0 if vnni == Level::Avx => vnni::avx::rows_q5_0(n / 32, w, w_rows, a, a_rows, out),
        GgmlType::Q8_0 => rows_q8_0(n / 32, w, w_rows, a, a_rows, out),
        GgmlType::Q4_0 => rows_q4_0(n / 32, w, w_rows, a, a_rows, out),
        GgmlType::Q5_0 => rows_q5_0(n / 32, w, w_rows, a, a_rows, out),
        GgmlType::Q4_K if a_rows >= 2 && fours && vnni == Level::Avx512 => vnni::rows_q4_k_tiled(n / 256, w, w_rows, a, a_rows, out),
        GgmlType::Q4_K if a_rows >= 2 && vnni == Level::Avx512 => vnni::rows_q4_k(n / 256, w, w_rows, a, a_rows, out),
        GgmlType::Q4_K if fours => rows_q4_k_tiled(n / 256, w, w_rows, a, a_rows, out),
        GgmlType::Q4_K => rows_q4_k(n / 256, w, w_rows, a, a_rows, out),
        GgmlType::Q5_K if large => rows_q5_k_tiled(n / 256, w, w_rows, a, a_rows, out),
        GgmlType::Q5_K => rows_q5_k(n / 256, w, w_rows, a, a_rows, out),
        GgmlType::Q6_K if large && vnni == Level::Avx512 => vnni::rows_q6_k_tiled(n / 256, w, w_rows, a, a_rows, out),
        GgmlType::Q6_K if large => rows_q6_k_tiled(n / 256, w, w_rows, a, a_rows, out),
        GgmlType::Q6_K => rows_q6_k(n / 256, w, w_rows, a, a_rows, out),
        GgmlType::F32 if float_tiled => rows_f32_tiled(n, w, w_rows, a, a_rows, out),
        GgmlType::F32 => rows_f32(n, w, w_rows, a, a_rows, out),
        GgmlType::F16 if float_tiled => rows_f16_tiled(n, w, w_rows, a, a_rows, out),
        GgmlType::F16 => rows_f16(n, w, w_rows, a, a_rows, out),
        GgmlType::BF16 if float_tiled => rows_bf16_tiled(n, w, w_rows, a, a_rows, out),
        GgmlType::BF16 => rows_bf16(n, w, w_rows, a, a_rows, out),
        _ => unreachable!("vec_dot_many: {t} is checked by the caller"),
    }
}

/// Generates the driver that walks the weight rows and, for each, the activation rows in
/// groups of eight, then four, then the rest. The driver's `units` is the row length in the
/// kernel's units (blocks, or elements for the float types); `$w_unit`/`$a_unit` are the bytes
/// per unit. With `packed OFFSET`, the activations (Q8_0) are first repacked for the kernel by
/// [`pack_q8_0`], once per call, and the kernel takes its group's packed blocks.
macro_rules! rows_driver {
    ($name:ident, $kernel:ident, $w_unit:expr, $a_unit:expr, packed $offset:expr) => {
        rows_driver!(@ $name, $w_unit, $a_unit, |units, wp, _ap, pp, c, N| {
            $kernel::<N>(units, wp, pp(c))
        }, Some($offset));
    };
    ($name:ident, $kernel:ident, $w_unit:expr, $a_unit:expr) => {
        rows_driver!(@ $name, $w_unit, $a_unit, |units, wp, ap, _pp, c, N| {
            $kernel::<N>(units, wp, std::array::from_fn(|i| ap(c + i)))
        }, None);
    };
    (@ $name:ident, $w_unit:expr, $a_unit:expr,
     |$units:ident, $wp:ident, $ap:ident, $pp:ident, $c:ident, $n:ident| $call:expr, $packed:expr) => {
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn $name(
            units: usize,
            w: &[u8],
            w_rows: usize,
            a: &[u8],
            a_rows: usize,
            out: &mut [f32],
        ) {
            let (w_row, a_row) = (units * $w_unit, units * $a_unit);
            // Taken out of the thread-local for the call (so that the loop below runs in this
            // function, with its target features) and put back after.
            let offset: Option<u8> = $packed;
            let mut packed = if offset.is_some() { A_PACKED.with(|c| c.take()) } else { Packed::default() };
            if let Some(offset) = offset {
                pack_q8_0(a, a_rows, units, offset, false, &mut packed);
            }
            let block_bytes = offset.map_or(0, packed_block_bytes);
            let $ap = |c: usize| a.as_ptr().add(c * a_row);
            let $pp = |c: usize| packed.as_ptr().add(c * units * block_bytes);
            let $units = units;
            for r in 0..w_rows {
                let $wp = w.as_ptr().add(r * w_row);
                let out = &mut out[r * a_rows..(r + 1) * a_rows];
                in_groups!(a_rows, |$c, $n| {
                    out[$c..$c + $n].copy_from_slice(&$call);
                });
            }
            if offset.is_some() {
                A_PACKED.with(|c| c.replace(packed));
            }
        }
    };
}

std::thread_local! {
    /// The current call's activations repacked by [`pack_q8_0`] (for the Q8_0/Q4_0/Q5_0
    /// kernels): done once per call rather than once per weight row.
    static A_PACKED: std::cell::RefCell<Packed> = const { std::cell::RefCell::new(Packed(Vec::new())) };
}

/// One cache line, the unit of [`Packed`].
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

/// A byte buffer that starts on a cache line, for repacked activations: the kernels' 512-bit
/// loads of them (at multiples of 64 bytes) then never straddle two lines, which costs a
/// second load each (a plain `Vec<u8>` starts where the allocator puts it, 16-byte aligned).
#[derive(Default)]
pub(crate) struct Packed(Vec<Line>);

impl Packed {
    /// Makes room for `bytes` bytes (new ones zeroed; earlier contents kept).
    fn resize(&mut self, bytes: usize) {
        self.0.resize(bytes.div_ceil(64), Line([0; 64]));
    }

    fn as_ptr(&self) -> *const u8 {
        self.0.as_ptr() as *const u8
    }

    fn as_mut_ptr(&mut self) -> *mut u8 {
        self.0.as_mut_ptr() as *mut u8
    }
}

/// Bytes of one packed Q8_0 activation block (see [`pack_q8_0`]): its 32 quants, its scale as
/// f32 in all 8 lanes, and, for kernels whose weights are unsigned with an offset, the offset
/// times the sum of each lane's 4 quants (8 × i32).
fn packed_block_bytes(offset: u8) -> usize {
    if offset == 0 {
        64
    } else {
        96
    }
}

/// Repacks `rows` Q8_0 rows of `blocks` blocks each (`a`) for the 32-element kernels, in the
/// groups the driver hands them ([`in_groups`]: eight rows as long as that many are left, then
/// four, then the rest). With `b` =
/// [`packed_block_bytes`]`(offset)`, a group of `n` rows starting at row `c` begins at byte
/// `c · blocks · b`; in it, block `i` is `n · b` bytes at `i · n · b`: the `n` rows' 32 quants,
/// then their scales (each as f32 in all 8 lanes), then, when `offset` is not 0, their lane
/// corrections `offset · Σ` of each 4 quants (8 × i32). So a kernel reads every operand of a
/// block at a fixed offset from one pointer, straight from memory. With `negate`, the
/// corrections are stored negated (−offset · Σ, for [`vnni`]'s kernels).
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn pack_q8_0(a: &[u8], rows: usize, blocks: usize, offset: u8, negate: bool, out: &mut Packed) {
    assert!(a.len() >= rows * blocks * 34);
    let b = packed_block_bytes(offset);
    out.resize(rows * blocks * b);
    in_groups!(rows, |c, N| {
        let n = N;
        let group = out.as_mut_ptr().add(c * blocks * b);
        for k in 0..n {
            for i in 0..blocks {
                let src = a.as_ptr().add(((c + k) * blocks + i) * 34);
                let dst = group.add(i * n * b);
                let q = load256(src.add(2));
                _mm256_storeu_si256(dst.add(k * 32) as *mut __m256i, q);
                _mm256_storeu_ps(dst.add((n + k) * 32) as *mut f32, load_f16x8(src));
                if offset != 0 {
                    let corr = dot_u8_i8(_mm256_set1_epi8(offset as i8), q);
                    let corr = if negate { _mm256_sub_epi32(_mm256_setzero_si256(), corr) } else { corr };
                    _mm256_storeu_si256(dst.add((2 * n + k) * 32) as *mut __m256i, corr);
                }
            }
        }
    });
}

rows_driver!(rows_q8_0, dot_q8_0, 34, 34, packed 0);
rows_driver!(rows_q4_0, dot_q4_0, 18, 34, packed 8);
rows_driver!(rows_q5_0, dot_q5_0, 22, 34, packed 16);

/// Generates the driver for one activation row (decoding) against 32-element block weights:
/// four weight rows at a time, their FMA chains interleaved so that one chain's latency does
/// not hold up the stream (each row's operations, and so its bits, are those of the
/// many-row kernels).
macro_rules! one_row_driver {
    ($name:ident, $kernel:ident, $w_unit:expr, $offset:expr) => {
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn $name(units: usize, w: &[u8], w_rows: usize, a: &[u8], out: &mut [f32]) {
            let mut packed = A_PACKED.with(|c| c.take());
            pack_q8_0(a, 1, units, $offset, false, &mut packed);
            let w_row = units * $w_unit;
            let wp = |r: usize| w.as_ptr().add(r * w_row);
            let mut r = 0;
            while r + 4 <= w_rows {
                let rows = [wp(r), wp(r + 1), wp(r + 2), wp(r + 3)];
                out[r..r + 4].copy_from_slice(&$kernel::<4>(units, rows, packed.as_ptr()));
                r += 4;
            }
            while r < w_rows {
                out[r] = $kernel::<1>(units, [wp(r)], packed.as_ptr())[0];
                r += 1;
            }
            A_PACKED.with(|c| c.replace(packed));
        }
    };
}

one_row_driver!(one_row_q8_0, dot_q8_0_rows, 34, 0);
one_row_driver!(one_row_q4_0, dot_q4_0_rows, 18, 8);
one_row_driver!(one_row_q5_0, dot_q5_0_rows, 22, 16);
rows_driver!(rows_q4_k, dot_q4_k, 144, 292);
rows_driver!(rows_q4_k_tiled, dot_q4_k_tiled, 144, 292);
rows_driver!(rows_q5_k, dot_q5_k, 176, 292);
rows_driver!(rows_q5_k_tiled, dot_q5_k_tiled, 176, 292);
rows_driver!(rows_q6_k, dot_q6_k, 210, 292);
rows_driver!(rows_q6_k_tiled, dot_q6_k_tiled, 210, 292);
rows_driver!(rows_f32, dot_f32_vec, 4, 4);
rows_driver!(rows_f16, dot_f16_vec, 2, 2);
rows_driver!(rows_bf16, dot_bf16_vec, 2, 2);
rows_driver!(rows_f32_tiled, dot_f32_tiled, 4, 4);
rows_driver!(rows_f16_tiled, dot_f16_tiled, 2, 2);
rows_driver!(rows_bf16_tiled, dot_bf16_tiled, 2, 2);

macro_rules! float_instance {
    ($name:ident, $body:ident, $mode:expr) => {
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn $name<const N: usize>(n: usize, w: *const u8, a: [*const u8; N]) -> [f32; N] {
            $body::<N, { $mode }>(n, w, a)
        }
    };
}
float_instance!(dot_f32_vec, dot_f32, FLOAT_VEC);
float_instance!(dot_f16_vec, dot_f16, FLOAT_VEC);
float_instance!(dot_bf16_vec, dot_bf16, FLOAT_VEC_BF16);
float_instance!(dot_f32_tiled, dot_f32, FLOAT_TILED);
float_instance!(dot_f16_tiled, dot_f16, FLOAT_TILED);
float_instance!(dot_bf16_tiled, dot_bf16, FLOAT_TILED);

// ---------------------------------------------------------------------------------------------
// Small helpers.

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load256(p: *const u8) -> __m256i {
    _mm256_loadu_si256(p as *const __m256i)
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load128(p: *const u8) -> __m128i {
    _mm_loadu_si128(p as *const __m128i)
}

/// The binary16 at `p` as f32 (for the float kernels' tails).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load_f16(p: *const u8) -> f32 {
    crate::fp::f16_to_f32((p as *const u16).read_unaligned())
}

/// The binary16 at `p` as f32, in all 8 lanes. Converting a broadcast keeps every lane in
/// use: converting a single value lets LLVM insert it into whatever register is free
/// (`vpinsrw`), and that merge chains each block's scale to the previous block's arithmetic.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load_f16x8(p: *const u8) -> __m256 {
    _mm256_cvtph_ps(_mm_set1_epi16((p as *const u16).read_unaligned() as i16))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load_f32(p: *const u8) -> f32 {
    (p as *const f32).read_unaligned()
}

/// Sum of the 8 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn hsum8(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    hsum4(s)
}

/// Sum of the 4 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn hsum4(s: __m128) -> f32 {
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
}

/// 8 i32 lanes, each the sum of 4 adjacent products of unsigned bytes `u` and signed bytes `s`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_u8_i8(u: __m256i, s: __m256i) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1))
}

/// The 16 bytes at `p` as 32 nibbles: low nibbles (elements 0..16) in the low half, high
/// nibbles (elements 16..32) in the high half.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn nibbles32(p: *const u8) -> __m256i {
    let b = load128(p);
    _mm256_and_si256(
        _mm256_set_m128i(_mm_srli_epi16::<4>(b), b),
        _mm256_set1_epi8(0x0f),
    )
}

/// Byte i = 0xff if bit i of `bits` is set, else 0.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn bytes_from_bits(bits: u32) -> __m256i {
    // Spread byte k of `bits` over output bytes 8k..8k+8, then test bit (i mod 8) of each.
    let spread = _mm256_set_epi64x(
        0x0303_0303_0303_0303,
        0x0202_0202_0202_0202,
        0x0101_0101_0101_0101,
        0,
    );
    let bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(bits as i32), spread);
    // Each byte of the mask has every bit set but bit (i mod 8).
    let others = _mm256_set1_epi64x(0x7fbf_dfef_f7fb_fdfe);
    _mm256_cmpeq_epi8(_mm256_or_si256(bytes, others), _mm256_set1_epi64x(-1))
}

// ---------------------------------------------------------------------------------------------
// Q8_0, Q4_0, Q5_0 weights against Q8_0 activations. Blocks of 32; per block
//   dot = (dw·da) · Σ q_w·q_a,
// with q_w signed bytes; |q_w| times sign(q_w)·q_a goes through `vpmaddubsw`.

/// How far ahead of the block being read the weight stream is prefetched. Decoding streams
/// every weight row from memory once; asking for the lines early keeps more loads in flight
/// than the hardware prefetcher alone does.
const PREFETCH_BYTES: usize = 1024;

/// Prefetches the cache lines of the block `PREFETCH_BYTES` after the `bytes`-long block at `p`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn prefetch(p: *const u8, bytes: usize) {
    // A prefetch never faults, so running past the end of the weights is harmless;
    // `wrapping_add` keeps the address computation itself defined.
    let mut o = 0;
    while o < bytes {
        _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(PREFETCH_BYTES + o) as *const i8);
        o += 64;
    }
}

/// Shared body: `qw(block ptr)` yields the block's 32 signed weight quants; `a` is the group
/// of `N` activation rows packed by [`pack_q8_0`]. Each activation row has one chain of FMAs
/// over the blocks, then the lanes are summed (4 + 4, 2 + 2, 1 + 1): the reference's operation
/// order, so that results match it bit for bit.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_blocks32<const N: usize>(
    nb: usize,
    w: *const u8,
    w_block: usize,
    a: *const u8,
    qw: impl Fn(*const u8) -> __m256i,
) -> [f32; N] {
    let mut acc = [_mm256_setzero_ps(); N];
    for i in 0..nb {
        block32(&mut acc, w.add(i * w_block), a.add(i * N * 64), &qw);
    }
    let mut out = [0.0; N];
    for k in 0..N {
        out[k] = hsum8(acc[k]);
    }
    out
}

/// One block of [`dot_blocks32`]: `acc[k] += (dw·da_k) · Σ q_w·q_a` for the weight block at
/// `wb` and the packed activation blocks at `ab`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn block32<const N: usize>(
    acc: &mut [__m256; N],
    wb: *const u8,
    ab: *const u8,
    qw: &impl Fn(*const u8) -> __m256i,
) {
    prefetch(wb, 32);
    let dw = load_f16x8(wb);
    let q = qw(wb);
    let abs_q = _mm256_sign_epi8(q, q);
    for k in 0..N {
        let da = _mm256_loadu_ps(ab.add((N + k) * 32) as *const f32);
        acc[k] = fma_block_signed(acc[k], abs_q, q, load256(ab.add(k * 32)), dw, da);
    }
}

/// One block pair of the Q8_0 kernels: `acc + (dw·da) · Σ q·qa` per lane, as |q| times
/// sign(q)·qa through `vpmaddubsw` (`abs_q` = |q|). Every Q8_0 kernel goes through here, so a
/// row's operations, and its bits, do not depend on which kernel takes it.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn fma_block_signed(
    acc: __m256,
    abs_q: __m256i,
    q: __m256i,
    qa: __m256i,
    dw: __m256,
    da: __m256,
) -> __m256 {
    let p = dot_u8_i8(abs_q, _mm256_sign_epi8(qa, q));
    _mm256_fmadd_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(p), acc)
}

/// One block pair of the Q4_0/Q5_0 kernels: `acc + (dw·da) · Σ (u − offset)·qa` per lane, as
/// Σ u·qa through `vpmaddubsw` minus `corr` (offset · Σ qa, from the packing). Every such
/// kernel goes through here, as [`fma_block_signed`] for Q8_0.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn fma_block_offset(
    acc: __m256,
    u: __m256i,
    qa: __m256i,
    corr: __m256i,
    dw: __m256,
    da: __m256,
) -> __m256 {
    let p = _mm256_sub_epi32(dot_u8_i8(u, qa), corr);
    _mm256_fmadd_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(p), acc)
}

/// Like [`dot_blocks32`] for weights stored unsigned with an offset (Q4_0: q = u − 8, Q5_0:
/// q = u − 16): `uw(block ptr)` yields the 32 unsigned `u`, which go straight into
/// `vpmaddubsw` against the activation quants, and each lane's sum is corrected by
/// offset · Σ a from the packing. The integers are exactly Σ q·a, so the result is the same.
/// `block(acc, u, qa, corr, dw, da)` is one block pair: [`fma_block_offset`] here, `vpdpbusd`
/// on a negated correction in [`vnni`]'s 256-bit kernel, which walks the blocks through here.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_blocks32_offset<const N: usize>(
    nb: usize,
    w: *const u8,
    w_block: usize,
    a: *const u8,
    uw: impl Fn(*const u8) -> __m256i,
    block: impl Fn(__m256, __m256i, __m256i, __m256i, __m256, __m256) -> __m256,
) -> [f32; N] {
    let mut acc = [_mm256_setzero_ps(); N];
    for i in 0..nb {
        let wb = w.add(i * w_block);
        let ab = a.add(i * N * 96);
        prefetch(wb, 32);
        let dw = load_f16x8(wb);
        let u = uw(wb);
        for k in 0..N {
            let qa = load256(ab.add(k * 32));
            let da = _mm256_loadu_ps(ab.add((N + k) * 32) as *const f32);
            let corr = load256(ab.add((2 * N + k) * 32));
            acc[k] = block(acc[k], u, qa, corr, dw, da);
        }
    }
    let mut out = [0.0; N];
    for k in 0..N {
        out[k] = hsum8(acc[k]);
    }
    out
}

/// While block `i` of `r` consecutive weight rows (from `w0`, `nb` blocks of `w_block` bytes
/// each) is read, prefetches the matching share of the next `r` rows, so that the next group
/// streams in while this one is computed (one stream ahead of `r` interleaved ones).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn prefetch_next_rows(w0: *const u8, nb: usize, w_block: usize, r: usize, i: usize) {
    let share = r * w_block;
    let start = w0.wrapping_add(r * nb * w_block + i * share);
    let mut o = 0;
    while o < share {
        _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(o) as *const i8);
        o += 64;
    }
}

/// [`dot_blocks32`] for `R` weight rows against one packed activation row.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_blocks32_rows<const R: usize>(
    nb: usize,
    w: [*const u8; R],
    w_block: usize,
    a: *const u8,
    qw: impl Fn(*const u8) -> __m256i,
) -> [f32; R] {
    let mut acc = [_mm256_setzero_ps(); R];
    for i in 0..nb {
        prefetch_next_rows(w[0], nb, w_block, R, i);
        let ab = a.add(i * 64);
        let qa = load256(ab);
        let da = _mm256_loadu_ps(ab.add(32) as *const f32);
        for r in 0..R {
            let wb = w[r].add(i * w_block);
            let dw = load_f16x8(wb);
            let q = qw(wb);
            acc[r] = fma_block_signed(acc[r], _mm256_sign_epi8(q, q), q, qa, dw, da);
        }
    }
    acc.map(|v| hsum8(v))
}

/// [`dot_blocks32_offset`] for `R` weight rows against one packed activation row.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_blocks32_offset_rows<const R: usize>(
    nb: usize,
    w: [*const u8; R],
    w_block: usize,
    a: *const u8,
    uw: impl Fn(*const u8) -> __m256i,
) -> [f32; R] {
    let mut acc = [_mm256_setzero_ps(); R];
    for i in 0..nb {
        let ab = a.add(i * 96);
        let qa = load256(ab);
        let da = _mm256_loadu_ps(ab.add(32) as *const f32);
        let corr = load256(ab.add(64));
        prefetch_next_rows(w[0], nb, w_block, R, i);
        for r in 0..R {
            let wb = w[r].add(i * w_block);
            let dw = load_f16x8(wb);
            acc[r] = fma_block_offset(acc[r], uw(wb), qa, corr, dw, da);
        }
    }
    acc.map(|v| hsum8(v))
}

/// The 32 signed quants of a Q8_0 block (d (f16), 32 × i8).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q8_0_quants(wb: *const u8) -> __m256i {
    load256(wb.add(2))
}

/// The 32 unsigned quants u of a Q4_0 block (d (f16), 16 bytes of nibbles u; q = u − 8).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q4_0_unsigned(wb: *const u8) -> __m256i {
    nibbles32(wb.add(2))
}

/// The 32 unsigned quants u of a Q5_0 block (d (f16), qh (u32 of fifth bits), 16 bytes of
/// nibbles; u = nibble | fifth bit · 16, q = u − 16).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q5_0_unsigned(wb: *const u8) -> __m256i {
    let high = bytes_from_bits((wb.add(2) as *const u32).read_unaligned());
    _mm256_or_si256(nibbles32(wb.add(6)), _mm256_and_si256(high, _mm256_set1_epi8(16)))
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q8_0_rows<const R: usize>(nb: usize, w: [*const u8; R], a: *const u8) -> [f32; R] {
    dot_blocks32_rows(nb, w, 34, a, |wb| unsafe { q8_0_quants(wb) })
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q4_0_rows<const R: usize>(nb: usize, w: [*const u8; R], a: *const u8) -> [f32; R] {
    dot_blocks32_offset_rows(nb, w, 18, a, |wb| unsafe { q4_0_unsigned(wb) })
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q5_0_rows<const R: usize>(nb: usize, w: [*const u8; R], a: *const u8) -> [f32; R] {
    dot_blocks32_offset_rows(nb, w, 22, a, |wb| unsafe { q5_0_unsigned(wb) })
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q8_0<const N: usize>(
    nb: usize,
    w: *const u8,
    a: *const u8,
) -> [f32; N] {
    dot_blocks32(nb, w, 34, a, |wb| unsafe { q8_0_quants(wb) })
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q4_0<const N: usize>(
    nb: usize,
    w: *const u8,
    a: *const u8,
) -> [f32; N] {
    dot_blocks32_offset(nb, w, 18, a, |wb| unsafe { q4_0_unsigned(wb) }, |acc, u, qa, corr, dw, da| unsafe {
        fma_block_offset(acc, u, qa, corr, dw, da)
    })
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q5_0<const N: usize>(
    nb: usize,
    w: *const u8,
    a: *const u8,
) -> [f32; N] {
    dot_blocks32_offset(nb, w, 22, a, |wb| unsafe { q5_0_unsigned(wb) }, |acc, u, qa, corr, dw, da| unsafe {
        fma_block_offset(acc, u, qa, corr, dw, da)
    })
}

// ---------------------------------------------------------------------------------------------
// Q4_K and Q5_K weights against Q8_K activations. Per super-block of 256 with 8 sub-blocks s:
//   dot = d·da · Σ_s sc[s]·Σ_{i∈s} q_i·qa_i  −  dmin·da · Σ_s m[s]·(bsum[2s] + bsum[2s+1]).

/// The 8 six-bit scales (bytes 0..8) and 8 six-bit mins (bytes 8..16) of a Q4_K/Q5_K block,
/// unpacked from its 12 `scales` bytes with four 32-bit operations; the same mapping as
/// `scalar::k_scales_mins`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn k_scales_mins(p: *const u8) -> __m128i {
    let u0 = (p as *const u32).read_unaligned();
    let u1 = (p.add(4) as *const u32).read_unaligned();
    let u2 = (p.add(8) as *const u32).read_unaligned();
    const LOW6: u32 = 0x3f3f_3f3f;
    const LOW4: u32 = 0x0f0f_0f0f;
    const LOW2: u32 = 0x0303_0303;
    let scales_0_3 = u0 & LOW6;
    let mins_0_3 = u1 & LOW6;
    // Sub-blocks 4..8: low 4 bits from the nibbles of bytes 8..12, top 2 bits from the top
    // of bytes 0..4 (scales) or 4..8 (mins).
    let scales_4_7 = (u2 & LOW4) | (((u0 >> 6) & LOW2) << 4);
    let mins_4_7 = ((u2 >> 4) & LOW4) | (((u1 >> 6) & LOW2) << 4);
    _mm_set_epi32(
        mins_4_7 as i32,
        mins_0_3 as i32,
        scales_4_7 as i32,
        scales_0_3 as i32,
    )
}

/// Byte shuffles broadcasting i16 lane `s` (bytes 2s, 2s+1) of each 128-bit half to the whole
/// half, for s in 0..8.
const BROADCAST_I16: [[u8; 32]; 8] = {
    let mut t = [[0u8; 32]; 8];
    let mut s = 0;
    while s < 8 {
        let mut b = 0;
        while b < 32 {
            t[s][b] = (2 * s + b % 2) as u8;
            b += 1;
        }
        s += 1;
    }
    t
};

/// How [`dot_k_with_mins`] orders its float steps, after the reference kernel it mirrors.
const K_VEC: u8 = 0; // llama.cpp's Q5_K vector dot product
const K_GEMV: u8 = 1; // its repacked Q4_K matrix-vector product (one activation row)
const K_GEMM: u8 = 2; // its repacked Q4_K matrix product (activation rows in fours)
const K_TILED: u8 = 3; // its tiled K-quant matrix product (batches of 8 rows or more)

/// Shared body of Q4_K and Q5_K: `quants(block ptr, j)` yields the 64 quants of elements
/// 64j..64j+64 as (elements 0..32, elements 32..64) of that range, unsigned.
///
/// The integer sums are exact whatever their order; the float steps follow the reference
/// kernel named by `MODE` so that results match it bit for bit:
/// - `K_VEC`: the 8 i32 lanes of a super-block into a vector FMA chain (× d·da), the min sum
///   into a scalar FMA chain (× −dmin·da), and the lanes' sum plus that chain at the end;
/// - `K_GEMV`: per super-block, the whole scaled sum and the whole min sum as two integers,
///   each into its own chain of scalar FMAs (× d·da and × dmin·da), subtracted at the end;
/// - `K_GEMM`: the same, but per 64 elements instead of per super-block;
/// - `K_TILED`: per super-block r = d·S, then r − dmin·M fused, then one FMA chain of r × da.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_k_with_mins<const N: usize, const MODE: u8>(
    nb: usize,
    w: *const u8,
    w_block: usize,
    a: [*const u8; N],
    quants: impl Fn(*const u8, usize) -> (__m256i, __m256i),
) -> [f32; N] {
    // Few values stay live across the inner loops (the per-row sums and accumulators), so
    // that four activation rows fit the 16 vector registers.
    let mut acc = [_mm256_setzero_ps(); N];
    let mut acc_s = [0f32; N];
    let mut acc_m = [0f32; N];
    for i in 0..nb {
        let wb = w.add(i * w_block);
        prefetch(wb, w_block);
        // i16 lanes 0..8: scales, 8..16: mins.
        let scales_mins = _mm256_cvtepu8_epi16(k_scales_mins(wb.add(4)));
        let scales = _mm256_permute2x128_si256::<0x00>(scales_mins, scales_mins);
        let d = load_f16(wb);
        let dmin = load_f16(wb.add(2));
        let mins = _mm256_extracti128_si256::<1>(scales_mins);
        // Per activation row: Σ_s m[s]·(bsum[2s] + bsum[2s+1]) for the two sub-blocks s of
        // each 64 elements j, in i32 lane j.
        let mut min_sums = [_mm_setzero_si128(); N];
        for k in 0..N {
            let bsums = load256(a[k].add(i * 292 + 260));
            let pair_sums = _mm_hadd_epi16(
                _mm256_castsi256_si128(bsums),
                _mm256_extracti128_si256::<1>(bsums),
            );
            min_sums[k] = _mm_madd_epi16(mins, pair_sums);
        }

        let mut sumi = [_mm256_setzero_si256(); N];
        let mut per_64 = [[_mm256_setzero_si256(); 4]; N];
        for j in 0..4 {
            let scale_lo = _mm256_shuffle_epi8(scales, load256(BROADCAST_I16[2 * j].as_ptr()));
            let scale_hi = _mm256_shuffle_epi8(scales, load256(BROADCAST_I16[2 * j + 1].as_ptr()));
            let (q_lo, q_hi) = quants(wb, j);
            for k in 0..N {
                let qa = a[k].add(i * 292 + 4 + 64 * j);
                let p_lo = _mm256_madd_epi16(scale_lo, _mm256_maddubs_epi16(q_lo, load256(qa)));
                let p_hi =
                    _mm256_madd_epi16(scale_hi, _mm256_maddubs_epi16(q_hi, load256(qa.add(32))));
                let p = _mm256_add_epi32(p_lo, p_hi);
                if MODE == K_GEMM {
                    per_64[k][j] = p;
                } else {
                    sumi[k] = _mm256_add_epi32(sumi[k], p);
                }
            }
        }
        if MODE == K_GEMM {
            // The four 64-element sums (and their min sums) as integers, then their FMAs in order.
            for k in 0..N {
                let da = load_f32(a[k].add(i * 292));
                let mut s = [0f32; 4];
                let mut m = [0f32; 4];
                _mm_storeu_ps(s.as_mut_ptr(), _mm_cvtepi32_ps(hsum_each_i32x8(per_64[k])));
                _mm_storeu_ps(m.as_mut_ptr(), _mm_cvtepi32_ps(min_sums[k]));
                for j in 0..4 {
                    acc_s[k] = s[j].mul_add(d * da, acc_s[k]);
                    acc_m[k] = m[j].mul_add(dmin * da, acc_m[k]);
                }
            }
            continue;
        }
        for k in 0..N {
            let da = load_f32(a[k].add(i * 292));
            let m = hsum_i32x4(min_sums[k]) as f32;
            if MODE == K_TILED {
                let s = hsum_i32x8(sumi[k]) as f32;
                let r = (-dmin).mul_add(m, d * s);
                acc_s[k] = r.mul_add(da, acc_s[k]);
            } else if MODE == K_GEMV {
                let s = hsum_i32x8(sumi[k]) as f32;
                acc_s[k] = s.mul_add(d * da, acc_s[k]);
                acc_m[k] = m.mul_add(dmin * da, acc_m[k]);
            } else {
                acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(da * d), _mm256_cvtepi32_ps(sumi[k]), acc[k]);
                acc_m[k] = (-da * dmin).mul_add(m, acc_m[k]);
            }
        }
    }
    let mut out = [0.0; N];
    for k in 0..N {
        out[k] = match MODE {
            K_VEC => hsum8(acc[k]) + acc_m[k],
            K_TILED => acc_s[k],
            _ => acc_s[k] - acc_m[k],
        };
    }
    out
}

/// Sum of the 8 i32 lanes (exact: the callers' sums cannot overflow).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn hsum_i32x8(v: __m256i) -> i32 {
    hsum_i32x4(_mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v)))
}

/// The sums of the 8 i32 lanes of each of four vectors, as the 4 lanes of one (exact).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn hsum_each_i32x8(p: [__m256i; 4]) -> __m128i {
    let ab = _mm256_hadd_epi32(p[0], p[1]);
    let cd = _mm256_hadd_epi32(p[2], p[3]);
    let all = _mm256_hadd_epi32(ab, cd);
    _mm_add_epi32(_mm256_castsi256_si128(all), _mm256_extracti128_si256::<1>(all))
}

/// Sum of the 4 i32 lanes (exact: the callers' sums cannot overflow).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn hsum_i32x4(v: __m128i) -> i32 {
    let v = _mm_add_epi32(v, _mm_unpackhi_epi64(v, v));
    let v = _mm_add_epi32(v, _mm_shuffle_epi32::<0b01>(v));
    _mm_cvtsi128_si32(v)
}

/// Q4_K against one activation row at a time, as the reference's repacked matrix-vector
/// product adds it up.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q4_k<const N: usize>(nb: usize, w: *const u8, a: [*const u8; N]) -> [f32; N] {
    dot_q4_k_mode::<N, K_GEMV>(nb, w, a)
}

/// Q4_K against activation rows the reference multiplies in fours (its matrix product).
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q4_k_tiled<const N: usize>(nb: usize, w: *const u8, a: [*const u8; N]) -> [f32; N] {
    dot_q4_k_mode::<N, K_GEMM>(nb, w, a)
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q4_k_mode<const N: usize, const MODE: u8>(nb: usize, w: *const u8, a: [*const u8; N]) -> [f32; N] {
    // Block: d, dmin (f16), 12 scale bytes, 128 bytes of nibbles (32 bytes per 64 elements).
    let m4 = _mm256_set1_epi8(0x0f);
    dot_k_with_mins::<N, MODE>(nb, w, 144, a, |wb, j| unsafe {
        let q = load256(wb.add(16 + 32 * j));
        (
            _mm256_and_si256(q, m4),
            _mm256_and_si256(_mm256_srli_epi16::<4>(q), m4),
        )
    })
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q5_k<const N: usize>(nb: usize, w: *const u8, a: [*const u8; N]) -> [f32; N] {
    dot_q5_k_mode::<N, K_VEC>(nb, w, a)
}

/// Q5_K in a batch of 8 rows or more (the reference's tiled K-quant product).
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q5_k_tiled<const N: usize>(nb: usize, w: *const u8, a: [*const u8; N]) -> [f32; N] {
    dot_q5_k_mode::<N, K_TILED>(nb, w, a)
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q5_k_mode<const N: usize, const MODE: u8>(nb: usize, w: *const u8, a: [*const u8; N]) -> [f32; N] {
    // Block: d, dmin (f16), 12 scale bytes, 32 bytes qh, 128 bytes of nibbles. Bit 2j of qh[l]
    // is the fifth bit of element 64j + l, bit 2j+1 that of element 64j + 32 + l.
    let m4 = _mm256_set1_epi8(0x0f);
    let bit4 = _mm256_set1_epi8(0x10);
    dot_k_with_mins::<N, MODE>(nb, w, 176, a, |wb, j| unsafe {
        let qh = load256(wb.add(16));
        let q = load256(wb.add(48 + 32 * j));
        // After shifting right by 2j the wanted bits are bits 0 and 1 of each byte; move
        // them to bit 4 (16-bit shifts leak bits across bytes, but only into bits masked off).
        let h = _mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * j as i32));
        let h_lo = _mm256_and_si256(_mm256_slli_epi16::<4>(h), bit4);
        let h_hi = _mm256_and_si256(_mm256_slli_epi16::<3>(h), bit4);
        (
            _mm256_or_si256(_mm256_and_si256(q, m4), h_lo),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16::<4>(q), m4), h_hi),
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Q6_K weights against Q8_K activations. Per super-block of 256 with 16 groups g of 16:
//   dot = d·da · Σ_g sc[g]·Σ_{i∈g} (q_i − 32)·qa_i
//       = d·da · (Σ_g sc[g]·Σ_{i∈g} q_i·qa_i  −  32·Σ_g sc[g]·bsum[g]),
// so the unsigned 6-bit q goes straight into `vpmaddubsw` and the −32 comes from the bsums.

/// Byte shuffles for chunk c (0..8) of 32 elements: bytes 0..8 pick scale 2c, bytes 8..16
/// scale 2c+1 (so after sign extension to i16, lanes 0..8 carry group 2c and 8..16 group 2c+1).
const Q6_SCALE_PAIRS: [[u8; 16]; 8] = {
    let mut t = [[0u8; 16]; 8];
    let mut c = 0;
    while c < 8 {
        let mut b = 0;
        while b < 16 {
            t[c][b] = (2 * c + b / 8) as u8;
            b += 1;
        }
        c += 1;
    }
    t
};

/// Chunk c (0..8) of 32 elements of the Q6_K block at `wb` (scales `sc`): its unsigned
/// 6-bit quants, and its two groups' scales as i16 (lanes 0..8 and 8..16). In half h = c / 4,
/// chunk c % 4 takes the low (0, 1) or high (2, 3) nibbles of ql[64h..64h+32] (even) or
/// ql[64h+32..64h+64] (odd), and bits 2·(c % 4) and up of qh[32h..32h+32] as its top two bits.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q6_k_chunk(wb: *const u8, sc: __m128i, c: usize) -> (__m256i, __m256i) {
    let (h, part) = (c / 4, c % 4);
    let ql = load256(wb.add(64 * h + 32 * (part % 2)));
    let ql = if part < 2 { ql } else { _mm256_srli_epi16::<4>(ql) };
    let qh = _mm256_srl_epi16(load256(wb.add(128 + 32 * h)), _mm_cvtsi32_si128(2 * part as i32));
    let q = _mm256_or_si256(
        _mm256_and_si256(ql, _mm256_set1_epi8(0x0f)),
        _mm256_slli_epi16::<4>(_mm256_and_si256(qh, _mm256_set1_epi8(0x03))),
    );
    let scale = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc, load128(Q6_SCALE_PAIRS[c].as_ptr())));
    (q, scale)
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q6_k<const N: usize>(nb: usize, w: *const u8, a: [*const u8; N]) -> [f32; N] {
    dot_q6_k_mode::<N, false>(nb, w, a)
}

/// Q6_K in a batch of 8 rows or more, as the reference's tiled K-quant product adds it up:
/// per super-block the whole integer sum S, r = d·S, then one FMA chain of r × da.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q6_k_tiled<const N: usize>(nb: usize, w: *const u8, a: [*const u8; N]) -> [f32; N] {
    dot_q6_k_mode::<N, true>(nb, w, a)
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q6_k_mode<const N: usize, const TILED: bool>(nb: usize, w: *const u8, a: [*const u8; N]) -> [f32; N] {
    // Block: ql (128), qh (64), scales (16 × i8), d (f16).
    let mut acc_s = [0f32; N];
    let mut acc = [_mm256_setzero_ps(); N];
    for i in 0..nb {
        let wb = w.add(i * 210);
        prefetch(wb, 210);
        let sc = load128(wb.add(192));
        let mut sumi = [_mm256_setzero_si256(); N];
        for c in 0..8 {
            let (q, scale) = q6_k_chunk(wb, sc, c);
            for k in 0..N {
                let qa = load256(a[k].add(i * 292 + 4 + 32 * c));
                sumi[k] = _mm256_add_epi32(
                    sumi[k],
                    _mm256_madd_epi16(scale, _mm256_maddubs_epi16(q, qa)),
                );
            }
        }
        let d = load_f16x8(wb.add(208));
        let sc16 = _mm256_cvtepi8_epi16(sc);
        for k in 0..N {
            let ab = a[k].add(i * 292);
            // Subtract 32·Σ_g sc[g]·bsum[g] (spread over 8 lanes).
            let bias = _mm256_slli_epi32::<5>(_mm256_madd_epi16(sc16, load256(ab.add(260))));
            let total = _mm256_sub_epi32(sumi[k], bias);
            if TILED {
                let r = load_f16(wb.add(208)) * hsum_i32x8(total) as f32;
                acc_s[k] = r.mul_add(load_f32(ab), acc_s[k]);
                continue;
            }
            acc[k] = _mm256_fmadd_ps(
                _mm256_mul_ps(d, _mm256_set1_ps(load_f32(ab))),
                _mm256_cvtepi32_ps(total),
                acc[k],
            );
        }
    }
    let mut out = [0.0; N];
    for k in 0..N {
        out[k] = if TILED { acc_s[k] } else { hsum8(acc[k]) };
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Float rows, in the order of the reference kernel a row would go through (`FLOAT_*`):
// its tiled matrix product for batches (one 8-lane FMA chain, lanes summed 4 + 4, 2 + 2,
// 1 + 1) or its vector dot product for single rows (4 × 8 lanes, 32 elements per step, the
// `GGML_F32x8_REDUCE` tree for F32/F16 and the 4 + 4 tree after (c1 + c3) + (c2 + c4) for
// BF16, whose products are not fused there), then any tail in double precision.

const FLOAT_TILED: u8 = 0;
const FLOAT_VEC: u8 = 1;
const FLOAT_VEC_BF16: u8 = 2;

/// Shared body: `load8(row ptr, element index)` yields 8 consecutive elements as f32;
/// `one(row ptr, element index)` a single one (for the tail).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_float<const N: usize, const MODE: u8>(
    n: usize,
    w: *const u8,
    a: [*const u8; N],
    load8: impl Fn(*const u8, usize) -> __m256,
    one: impl Fn(*const u8, usize) -> f32,
) -> [f32; N] {
    let mut out = [0.0; N];
    if MODE == FLOAT_TILED {
        let mut acc = [_mm256_setzero_ps(); N];
        let mut i = 0;
        while i + 8 <= n {
            let wv = load8(w, i);
            for k in 0..N {
                acc[k] = _mm256_fmadd_ps(wv, load8(a[k], i), acc[k]);
            }
            i += 8;
        }
        for k in 0..N {
            let mut s = hsum8(acc[k]) as f64;
            for j in i..n {
                s += (one(w, j) * one(a[k], j)) as f64;
            }
            out[k] = s as f32;
        }
        return out;
    }
    let mut acc = [[_mm256_setzero_ps(); 4]; N];
    let mut i = 0;
    while i + 32 <= n {
        for j in 0..4 {
            let wv = load8(w, i + 8 * j);
            for k in 0..N {
                let av = load8(a[k], i + 8 * j);
                acc[k][j] = if MODE == FLOAT_VEC_BF16 {
                    _mm256_add_ps(_mm256_mul_ps(wv, av), acc[k][j])
                } else {
                    _mm256_fmadd_ps(wv, av, acc[k][j])
                };
            }
        }
        i += 32;
    }
    for k in 0..N {
        let [c0, c1, c2, c3] = acc[k];
        let reduced = if MODE == FLOAT_VEC_BF16 {
            hsum8(_mm256_add_ps(_mm256_add_ps(c0, c2), _mm256_add_ps(c1, c3)))
        } else {
            let z = _mm256_add_ps(_mm256_add_ps(c0, c2), _mm256_add_ps(c1, c3));
            let t = _mm_add_ps(_mm256_castps256_ps128(z), _mm256_extractf128_ps::<1>(z));
            let t = _mm_hadd_ps(t, t);
            _mm_cvtss_f32(_mm_hadd_ps(t, t))
        };
        let mut s = reduced as f64;
        for j in i..n {
            s += (one(w, j) * one(a[k], j)) as f64;
        }
        out[k] = s as f32;
    }
    out
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_f32<const N: usize, const MODE: u8>(n: usize, w: *const u8, a: [*const u8; N]) -> [f32; N] {
    dot_float::<N, MODE>(
        n,
        w,
        a,
        |p, i| unsafe { _mm256_loadu_ps((p as *const f32).add(i)) },
        |p, i| unsafe { (p as *const f32).add(i).read_unaligned() },
    )
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_f16<const N: usize, const MODE: u8>(n: usize, w: *const u8, a: [*const u8; N]) -> [f32; N] {
    dot_float::<N, MODE>(
        n,
        w,
        a,
        |p, i| unsafe { _mm256_cvtph_ps(load128(p.add(2 * i))) },
        |p, i| unsafe { load_f16(p.add(2 * i)) },
    )
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_bf16<const N: usize, const MODE: u8>(n: usize, w: *const u8, a: [*const u8; N]) -> [f32; N] {
    // A bf16 is the top half of an f32: widen to 32 bits and shift left by 16.
    dot_float::<N, MODE>(
        n,
        w,
        a,
        |p, i| unsafe {
            _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(load128(
                p.add(2 * i),
            ))))
        },
        |p, i| unsafe { crate::fp::bf16_to_f32((p.add(2 * i) as *const u16).read_unaligned()) },
    )
}

// ---------------------------------------------------------------------------------------------
// Activation quantizers, byte for byte the same as `scalar::quantize_row` (the rounding is
// `vroundps` to nearest even, which is what `fp::nearest_int` computes).

/// Largest of the 8 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn hmax8(v: __m256) -> f32 {
    let m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)))
}

/// Largest |x| of the 8·K floats at `p`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn abs_max<const K: usize>(p: *const f32) -> f32 {
    let sign = _mm256_set1_ps(-0.0);
    let mut m = _mm256_setzero_ps();
    for j in 0..K {
        m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(p.add(8 * j))));
    }
    hmax8(m)
}

/// The 32 floats at `p` times `scale`, rounded half to even, clamped to −127..=127 and
/// stored as bytes at `out`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn round_to_i8x32(p: *const f32, scale: __m256, out: *mut u8) {
    let round = |j: usize| unsafe {
        let v = _mm256_mul_ps(_mm256_loadu_ps(p.add(8 * j)), scale);
        let i = _mm256_cvtps_epi32(_mm256_round_ps::<
            { _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC },
        >(v));
        _mm256_max_epi32(
            _mm256_min_epi32(i, _mm256_set1_epi32(127)),
            _mm256_set1_epi32(-127),
        )
    };
    // The packs work within 128-bit halves; afterwards the 4-byte groups are in the order
    // 0, 2, 4, 6, 1, 3, 5, 7, which the permutation undoes.
    let lo = _mm256_packs_epi32(round(0), round(1));
    let hi = _mm256_packs_epi32(round(2), round(3));
    let bytes = _mm256_packs_epi16(lo, hi);
    let ordered = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(out as *mut __m256i, ordered);
}

/// Q8_0 as `scalar::quantize_row` (and ggml's AVX2 quantizer): d = amax/127,
/// q = round(x·127/amax). `y.len()` must be `x.len() / 32 * 34`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn quantize_q8_0(x: &[f32], y: &mut [u8]) {
    for (xb, yb) in x.chunks_exact(32).zip(y.chunks_exact_mut(34)) {
        let amax = abs_max::<4>(xb.as_ptr());
        let d = amax / 127.0;
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        yb[0..2].copy_from_slice(&crate::fp::f32_to_f16(d).to_le_bytes());
        round_to_i8x32(xb.as_ptr(), _mm256_set1_ps(id), yb.as_mut_ptr().add(2));
    }
}

/// Q8_K as `scalar::quantize_row` (and ggml's reference): the element of largest magnitude
/// maps to −127, d = 1/iscale, plus the 16 sums of 16 quants. `y.len()` must be
/// `x.len() / 256 * 292`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn quantize_q8_k(x: &[f32], y: &mut [u8]) {
    for (xb, yb) in x.chunks_exact(256).zip(y.chunks_exact_mut(292)) {
        let amax = abs_max::<32>(xb.as_ptr());
        // The signed value: the first element of that magnitude, as the scalar search finds.
        let Some(&max) = xb.iter().find(|v| v.abs() == amax).filter(|_| amax != 0.0) else {
            yb.fill(0);
            continue;
        };
        let iscale = -127.0 / max;
        for g in 0..8 {
            round_to_i8x32(
                xb.as_ptr().add(32 * g),
                _mm256_set1_ps(iscale),
                yb.as_mut_ptr().add(4 + 32 * g),
            );
        }
        yb[0..4].copy_from_slice(&(1.0 / iscale).to_le_bytes());
        for g in 0..16 {
            let s: i16 = yb[4 + 16 * g..20 + 16 * g]
                .iter()
                .map(|&q| q as i8 as i16)
                .sum();
            yb[260 + 2 * g..262 + 2 * g].copy_from_slice(&s.to_le_bytes());
        }
    }
}

/// [`crate::f16_fma_cells`]: lane by lane, a tile of `H` heads × `C` vectors of 8 elements is
/// held in registers from zero while the lane's cells stream past (each cell's values
/// converted once for all `H` heads), so an accumulator is stored once rather than loaded and
/// stored once per cell. Heads go four, then two, then one at a time; elements `8C`, then 8 at a time,
/// then one by one. Each accumulator element still takes its cells in increasing order, one
/// fused multiply-add each: the scalar loop's bits.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn f16_fma_cells(p: &[f32], heads: usize, v: &[u8], stride: usize, n: usize, cells: usize, lanes: usize, lane0: usize, acc: &mut [f32]) {
    let ap = acc.as_mut_ptr();
    for lane in 0..lanes {
        // The first cell that falls in this lane.
        let j0 = (lane + lanes - lane0 % lanes) % lanes;
        if j0 >= cells {
            acc[lane * heads * n..(lane + 1) * heads * n].fill(0.0);
            continue;
        }
        let mut h = 0;
        while h < heads {
            let hs = match heads - h {
                4.. => 4,
                2 | 3 => 2,
                _ => 1,
            };
            let t = Tile { p: p.as_ptr().add(h * cells), cells, v: v.as_ptr(), stride, lanes, j0, acc: ap.add((lane * heads + h) * n), n };
            let mut d = 0;
            match hs {
                4 => {
                    while d + 16 <= n {
                        t.run::<4, 2>(d);
                        d += 16;
                    }
                    while d + 8 <= n {
                        t.run::<4, 1>(d);
                        d += 8;
                    }
                }
                2 => {
                    while d + 32 <= n {
                        t.run::<2, 4>(d);
                        d += 32;
                    }
                    while d + 8 <= n {
                        t.run::<2, 1>(d);
                        d += 8;
                    }
                }
                _ => {
                    while d + 64 <= n {
                        t.run::<1, 8>(d);
                        d += 64;
                    }
                    while d + 8 <= n {
                        t.run::<1, 1>(d);
                        d += 8;
                    }
                }
            }
            for d in d..n {
                for i in 0..hs {
                    *t.acc.add(i * n + d) = 0.0;
                }
                let mut j = j0;
                while j < cells {
                    let x = load_f16(t.v.add(2 * (j * stride + d)));
                    for i in 0..hs {
                        let o = t.acc.add(i * n + d);
                        *o = (*t.p.add(i * cells + j)).mul_add(x, *o);
                    }
                    j += lanes;
                }
            }
            h += hs;
        }
    }
}

/// One lane's run of cells for a group of heads in [`f16_fma_cells`].
struct Tile {
    /// The group's first head's weights (`cells` per head).
    p: *const f32,
    cells: usize,
    /// Cell 0's values.
    v: *const u8,
    stride: usize,
    lanes: usize,
    /// The lane's first cell.
    j0: usize,
    /// The group's first head's accumulator row in this lane (`n` per head).
    acc: *mut f32,
    n: usize,
}

impl Tile {
    /// Elements `d .. d + 8C` of `H` heads' accumulators, from zero over the lane's cells.
    #[inline(always)]
    unsafe fn run<const H: usize, const C: usize>(&self, d: usize) {
        let mut a = [[_mm256_setzero_ps(); C]; H];
        let mut j = self.j0;
        while j < self.cells {
            let vp = self.v.add(2 * (j * self.stride + d));
            let mut x = [_mm256_setzero_ps(); C];
            for (c, xc) in x.iter_mut().enumerate() {
                *xc = _mm256_cvtph_ps(load128(vp.add(16 * c)));
            }
            for (i, row) in a.iter_mut().enumerate() {
                let w = _mm256_set1_ps(*self.p.add(i * self.cells + j));
                for (c, r) in row.iter_mut().enumerate() {
                    *r = _mm256_fmadd_ps(w, x[c], *r);
                }
            }
            j += self.lanes;
        }
        for (i, row) in a.iter().enumerate() {
            for (c, r) in row.iter().enumerate() {
                _mm256_storeu_ps(self.acc.add(i * self.n + d + 8 * c), *r);
            }
        }
    }
}

/// [`crate::f16_dot_ordered`]: one FMA chain per 8-lane vector (one vector, or four taking
/// turns), then the lanes summed in the order's tree.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn f16_dot_ordered(order: crate::LaneOrder, x: &[u8], y: &[u8]) -> f32 {
    let n = x.len() / 2;
    let (xp, yp) = (x.as_ptr(), y.as_ptr());
    let vecs = order.lanes() / 8;
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i < n {
        for a in acc.iter_mut().take(vecs) {
            let xv = _mm256_cvtph_ps(load128(xp.add(2 * i)));
            let yv = _mm256_cvtph_ps(load128(yp.add(2 * i)));
            *a = _mm256_fmadd_ps(xv, yv, *a);
            i += 8;
        }
    }
    let mut lanes = [0f32; 32];
    for (k, a) in acc.iter().take(vecs).enumerate() {
        _mm256_storeu_ps(lanes.as_mut_ptr().add(8 * k), *a);
    }
    order.reduce(&lanes[..order.lanes()])
}

/// [`crate::f16_dot_ordered_many`]: every key row against every query row, the queries
/// converted to f32 once per call (exactly: every half is an f32), each key's eight values
/// converted once for up to four queries (8 lanes: two keys at a time) or two (32 lanes), so
/// that eight FMA chains are in flight, and the lanes summed in registers in the same trees as
/// [`crate::LaneOrder::reduce`].
#[target_feature(enable = "avx2,fma,f16c")]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn f16_dot_ordered_many(
    order: crate::LaneOrder,
    n: usize,
    k: &[u8],
    k_stride: usize,
    rows: usize,
    q: &[u8],
    q_rows: usize,
    out: &mut [f32],
) {
    let mut qf = QUERIES_F32.with(|c| c.take());
    qf.resize(q_rows * n, 0.0);
    for (i, chunk) in qf.chunks_exact_mut(8).enumerate() {
        _mm256_storeu_ps(chunk.as_mut_ptr(), _mm256_cvtph_ps(load128(q.as_ptr().add(16 * i))));
    }
    let (kp, qp) = (k.as_ptr(), qf.as_ptr());
    let half8 = |p: *const u8, i: usize| unsafe { _mm256_cvtph_ps(load128(p.add(2 * i))) };
    let query8 = |i: usize, e: usize| unsafe { _mm256_loadu_ps(qp.add(i * n + e)) };
    let key = |r: usize| kp.add(2 * r * k_stride);
    match order {
        crate::LaneOrder::Lanes8 => {
            // Two key rows at a time, so that up to eight FMA chains are in flight.
            let mut r = 0;
            while r < rows {
                let kr = [key(r), key((r + 1).min(rows - 1))];
                let keys = if r + 1 < rows { 2 } else { 1 };
                let mut i0 = 0;
                while i0 < q_rows {
                    let g = (q_rows - i0).min(4);
                    let mut acc = [[_mm256_setzero_ps(); 4]; 2];
                    let mut e = 0;
                    while e < n {
                        for (kk, acc_k) in acc.iter_mut().enumerate().take(keys) {
                            let kv = half8(kr[kk], e);
                            for (i, a) in acc_k.iter_mut().enumerate().take(g) {
                                *a = _mm256_fmadd_ps(kv, query8(i0 + i, e), *a);
                            }
                        }
                        e += 8;
                    }
                    for (kk, acc_k) in acc.iter().enumerate().take(keys) {
                        for (i, a) in acc_k.iter().enumerate().take(g) {
                            out[(r + kk) * q_rows + i0 + i] = hsum8(*a);
                        }
                    }
                    i0 += g;
                }
                r += keys;
            }
        }
        crate::LaneOrder::Lanes32 => {
            for r in 0..rows {
                let kr = key(r);
                // Two queries at a time: eight FMA chains in flight.
                let mut i = 0;
                while i < q_rows {
                    let qs = if i + 1 < q_rows { 2 } else { 1 };
                    let mut acc = [[_mm256_setzero_ps(); 4]; 2];
                    let mut e = 0;
                    while e < n {
                        for j in 0..4 {
                            let kv = half8(kr, e + 8 * j);
                            for (qi, acc_q) in acc.iter_mut().enumerate().take(qs) {
                                acc_q[j] = _mm256_fmadd_ps(kv, query8(i + qi, e + 8 * j), acc_q[j]);
                            }
                        }
                        e += 32;
                    }
                    for (qi, acc_q) in acc.iter().enumerate().take(qs) {
                        // GGML_F32x8_REDUCE: 2 and 3 onto 0 and 1, then 1 onto 0, then the
                        // halves and two horizontal pair additions.
                        let z = _mm256_add_ps(_mm256_add_ps(acc_q[0], acc_q[2]), _mm256_add_ps(acc_q[1], acc_q[3]));
                        let t = _mm_add_ps(_mm256_castps256_ps128(z), _mm256_extractf128_ps::<1>(z));
                        let t = _mm_hadd_ps(t, t);
                        out[r * q_rows + i + qi] = _mm_cvtss_f32(_mm_hadd_ps(t, t));
                    }
                    i += qs;
                }
            }
        }
    }
    QUERIES_F32.with(|c| c.replace(qf));
}

std::thread_local! {
    /// [`f16_dot_ordered_many`]'s queries as f32, kept from call to call.
    static QUERIES_F32: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}
