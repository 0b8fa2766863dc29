//! VNNI kernels for Q8_0, Q4_0 and Q5_0 weights against several Q8_0 activation rows (prefill
//! and batched decoding), where the CPU has the instructions: AVX-512 VNNI, or AVX-VNNI (the
//! same `vpdpbusd` on 256-bit registers only, on CPUs without AVX-512). On the same AVX-512
//! CPUs, the batched Q4_K and Q6_K products and their 512-bit row pairs are here too (at the
//! end of the file).
//!
//! They compute exactly what the AVX2 kernels in the parent module compute, bit for bit. Every
//! weight block's quants go in unsigned, with an offset (Q8_0: u = q + 128, Q4_0: u = q + 8,
//! Q5_0: u = q + 16), and `vpdpbusd` adds the four products u·a of each i32 lane to the lane's
//! correction −offset·Σa (from the packing), which gives the same i32 lanes as
//! `vpmaddubsw` + `vpmaddwd` give in the parent module. The float steps are the same too:
//! per block, lane by lane, `acc + (dw·da) · float(lane)`, and the 8 lanes summed at the end
//! in the same tree. Activation rows in groups of W (16 with AVX-512, 8 with AVX-VNNI) have
//! one register per lane position, holding that lane of all W rows (see [`dot_lanes16`]). The
//! rows left over share 512-bit registers in pairs with AVX-512 (the weight block broadcast to
//! both halves, so one instruction does the work of two), or have a 256-bit register each with
//! AVX-VNNI, where `vpdpbusd` saves the sign and pair-sum instructions.

use std::arch::x86_64::*;
use std::cell::Cell;
use std::sync::OnceLock;

use super::{hsum8, load256, load_f16x8, pack_q8_0, prefetch, q4_0_unsigned, q5_0_unsigned, Packed, A_PACKED};

/// Which of the VNNI kernels run (ordered: a cap admits the levels below it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    None,
    Avx,
    Avx512,
}

std::thread_local! {
    /// The calling thread's cap, set by [`capped`].
    static CAP: Cell<Level> = const { Cell::new(Level::Avx512) };
}

/// The VNNI kernels this CPU can run, capped by `FERROCODEX_KERNELS` (`avx2`: none,
/// `avxvnni`: the 256-bit ones) and by the calling thread's [`capped`]. A CPU may have AVX-512
/// VNNI without AVX-VNNI (whose instructions are encoded differently), so the 256-bit kernels
/// need their own feature. The CPU is asked once.
pub(crate) fn level() -> Level {
    static HAS: OnceLock<(bool, bool, Level)> = OnceLock::new();
    let &(avx512, avx, env_cap) = HAS.get_or_init(|| {
        let avx512 = is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx512vnni");
        let avx = is_x86_feature_detected!("avxvnni");
        let cap = match std::env::var("FERROCODEX_KERNELS").as_deref() {
            Ok("avx2") => Level::None,
            Ok("avxvnni") => Level::Avx,
            _ => Level::Avx512,
        };
        let base = super::available();
        (base && avx512, base && avx, cap)
    });
    let cap = env_cap.min(CAP.with(Cell::get));
    if avx512 && cap >= Level::Avx512 {
        Level::Avx512
    } else if avx && cap >= Level::Avx {
        Level::Avx
    } else {
        Level::None
    }
}

/// Runs `f` with the VNNI kernels capped at `cap` on the calling thread.
pub(crate) fn capped<R>(cap: Level, f: impl FnOnce() -> R) -> R {
    struct Restore(Level);
    impl Drop for Restore {
        fn drop(&mut self) {
            CAP.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CAP.with(|c| c.replace(cap)));
    f()
}

/// The 32 unsigned quants u = q + 128 of a Q8_0 block (d (f16), 32 × i8): flipping the top
/// bit adds 128 to a two's-complement byte read as unsigned.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q8_0_unsigned(wb: *const u8) -> __m256i {
    _mm256_xor_si256(load256(wb.add(2)), _mm256_set1_epi8(i8::MIN))
}

/// One weight row (`nb` blocks of `w_block` bytes at `w`, `uw` yielding a block's 32 unsigned
/// quants) against the group of `N` ≤ 8 activation rows packed at `a` by [`pack_q8_0`] with
/// negated corrections (the rows the 16-lane kernel leaves). Rows 2p and 2p + 1 share the halves of a 512-bit accumulator; a last
/// odd row has a 256-bit one. Each row's lanes see the parent module's operations in its order.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
unsafe fn dot_blocks_512<const N: usize>(
    nb: usize,
    w: *const u8,
    w_block: usize,
    a: *const u8,
    uw: impl Fn(*const u8) -> __m256i,
) -> [f32; N] {
    let pairs = N / 2;
    let mut acc2 = [_mm512_setzero_ps(); 4];
    let mut acc1 = _mm256_setzero_ps();
    for i in 0..nb {
        let wb = w.add(i * w_block);
        let ab = a.add(i * N * 96);
        prefetch(wb, 32);
        let u = uw(wb);
        let dw = load_f16x8(wb);
        let u2 = _mm512_broadcast_i64x4(u);
        let dw2 = _mm512_broadcast_f32x8(dw);
        for p in 0..pairs {
            let k = 2 * p;
            let qa = _mm512_loadu_si512(ab.add(k * 32) as *const _);
            let da = _mm512_loadu_ps(ab.add((N + k) * 32) as *const f32);
            let neg_corr = _mm512_loadu_si512(ab.add((2 * N + k) * 32) as *const _);
            let s = _mm512_dpbusd_epi32(neg_corr, u2, qa);
            acc2[p] = _mm512_fmadd_ps(_mm512_mul_ps(dw2, da), _mm512_cvtepi32_ps(s), acc2[p]);
        }
        if N % 2 == 1 {
            let k = N - 1;
            let qa = load256(ab.add(k * 32));
            let da = _mm256_loadu_ps(ab.add((N + k) * 32) as *const f32);
            let neg_corr = load256(ab.add((2 * N + k) * 32));
            let s = _mm256_dpbusd_epi32(neg_corr, u, qa);
            acc1 = _mm256_fmadd_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(s), acc1);
        }
    }
    let mut out = [0.0; N];
    for p in 0..pairs {
        out[2 * p] = hsum8(_mm512_castps512_ps256(acc2[p]));
        out[2 * p + 1] = hsum8(_mm512_extractf32x8_ps::<1>(acc2[p]));
    }
    if N % 2 == 1 {
        out[N - 1] = hsum8(acc1);
    }
    out
}

/// [`dot_blocks_512`] with AVX-VNNI only: each activation row in a 256-bit register, the
/// blocks walked by the parent's `dot_blocks32_offset` with `vpdpbusd` as the block pair.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avxvnni")]
unsafe fn dot_blocks_256<const N: usize>(
    nb: usize,
    w: *const u8,
    w_block: usize,
    a: *const u8,
    uw: impl Fn(*const u8) -> __m256i,
) -> [f32; N] {
    super::dot_blocks32_offset(nb, w, w_block, a, uw, |acc, u, qa, neg_corr, dw, da| {
        let s = _mm256_dpbusd_avx_epi32(neg_corr, u, qa);
        _mm256_fmadd_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(s), acc)
    })
}

// ---------------------------------------------------------------------------------------------
// W activation rows in the lanes of one register: W = 16 with AVX-512 (512-bit registers),
// W = 8 with AVX-VNNI (256-bit). The parent's kernels keep a row's eight i32 lanes (the sums of
// bytes 4j..4j + 3 of a block) in one register; here register j holds lane j of W rows, so the
// block's scale products dw · da of all W rows are one multiplication, the weight's four bytes
// of lane j are one broadcast, and the eight lanes are summed at the end with vertical additions
// in `hsum8`'s tree. Every row still sees, lane by lane, the parent's operations in its order:
// the same i32 lane sums, `acc + (dw·da) · float(lane)` per block, the same final tree.
//
// The activations go in unsigned (a + 128) and the weights signed, so the correction
// −128 · Σw of each lane depends on the weight block only and is made once for all W rows.

/// Bytes of one packed block of a W-row group: lane j of the W rows (W × 4 unsigned bytes)
/// for j = 0..8, then the W rows' scales as f32.
const fn lanes_block(w: usize) -> usize {
    8 * 4 * w + 4 * w
}

/// How the lane drivers split `a_rows` activation rows: the number of W-row groups (the last
/// one padded when it is short, at least `pad_from` rows) and the first row left to the
/// row-by-row kernels.
fn lanes_split(a_rows: usize, w: usize, pad_from: usize) -> (usize, usize) {
    let (full, rest) = (a_rows / w, a_rows % w);
    if rest >= pad_from {
        (full + 1, a_rows)
    } else {
        (full, full * w)
    }
}

std::thread_local! {
    /// The current call's W-row groups packed by [`pack_lanes`].
    static A_LANES: std::cell::RefCell<Packed> = const { std::cell::RefCell::new(Packed(Vec::new())) };
}

/// Packs the first `groups` · W of the `rows` Q8_0 activation rows (`blocks` blocks each, in
/// `a`) for the W-lane kernels: group g's block i at `(g · blocks + i) · lanes_block(W)`. Each
/// lane of 8 rows is one gather (the rows are `blocks` · 34 bytes apart). Rows past `rows`
/// (padding of the last group) get zero quants and scales.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn pack_lanes<const W: usize>(a: &[u8], rows: usize, blocks: usize, groups: usize, out: &mut Packed) {
    assert!(a.len() >= rows * blocks * 34);
    // The gathers' offsets (within 8 rows) are i32: rows of up to 2^31 / 272 blocks.
    assert!(8 * blocks * 34 <= i32::MAX as usize, "activation rows too long for 32-bit gather offsets");
    let block_bytes = lanes_block(W);
    out.resize(groups * blocks * block_bytes);
    let base = out.as_mut_ptr();
    let index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let offsets = _mm256_mullo_epi32(index, _mm256_set1_epi32((blocks * 34) as i32));
    for g in 0..groups {
        for h in 0..W / 8 {
            let first = g * W + h * 8;
            let valid = rows.saturating_sub(first).min(8);
            let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(valid as i32), index);
            let src_rows = a.as_ptr().wrapping_add(first * blocks * 34);
            for i in 0..blocks {
                let src = src_rows.wrapping_add(i * 34);
                let dst = base.add((g * blocks + i) * block_bytes + h * 32);
                for j in 0..8 {
                    let q = if valid == 0 {
                        _mm256_setzero_si256()
                    } else {
                        _mm256_mask_i32gather_epi32::<1>(_mm256_setzero_si256(), src.add(2 + 4 * j) as *const i32, offsets, mask)
                    };
                    _mm256_store_si256(dst.add(j * 4 * W) as *mut __m256i, _mm256_xor_si256(q, _mm256_set1_epi8(i8::MIN)));
                }
                // The scale is the block's first two bytes: the low half of a gathered i32.
                let d = if valid == 0 {
                    _mm256_setzero_si256()
                } else {
                    _mm256_mask_i32gather_epi32::<1>(_mm256_setzero_si256(), src as *const i32, offsets, mask)
                };
                let halves = _mm256_packus_epi32(_mm256_and_si256(d, _mm256_set1_epi32(0xffff)), _mm256_setzero_si256());
                let halves = _mm256_permute4x64_epi64::<0b1000>(halves);
                _mm256_store_ps(dst.add(32 * W) as *mut f32, _mm256_cvtph_ps(_mm256_castsi256_si128(halves)));
            }
        }
    }
}

/// One weight row made ready for the lane kernels, once for all its groups: per block, its 32
/// quants as signed bytes (not for Q8_0, whose blocks hold them), the correction −128 · Σ of
/// each lane's 4 of them (8 × i32), and its scale as f32. Kept in memory, so that the kernel
/// takes each lane's four bytes and correction with a broadcast load rather than a shuffle.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct PrepBlock {
    quants: [i8; 32],
    corr: [i32; 8],
}

/// Where the lane kernels read a weight row's signed quants: block i's at `base + i · stride`.
#[derive(Clone, Copy)]
struct Quants {
    base: *const u8,
    stride: usize,
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn prep_row(
    nb: usize,
    w: *const u8,
    w_block: usize,
    sw: impl Fn(*const u8) -> __m256i,
    in_place: bool,
    blocks: &mut Vec<PrepBlock>,
    scales: &mut Vec<f32>,
) -> Quants {
    blocks.resize(nb, PrepBlock { quants: [0; 32], corr: [0; 8] });
    scales.resize(nb, 0.0);
    for i in 0..nb {
        let wb = w.add(i * w_block);
        let q = sw(wb);
        // −128 · (sum of each lane's 4 weight bytes): pair sums (1 · q), then × −128 and added.
        let pairs = _mm256_maddubs_epi16(_mm256_set1_epi8(1), q);
        let corr = _mm256_madd_epi16(pairs, _mm256_set1_epi16(-128));
        let b = blocks.as_mut_ptr().add(i);
        if !in_place {
            _mm256_store_si256((*b).quants.as_mut_ptr() as *mut __m256i, q);
        }
        _mm256_store_si256((*b).corr.as_mut_ptr() as *mut __m256i, corr);
        *scales.as_mut_ptr().add(i) = _mm256_cvtss_f32(load_f16x8(wb));
    }
    if in_place {
        Quants { base: w.add(2), stride: w_block }
    } else {
        Quants { base: blocks.as_ptr() as *const u8, stride: std::mem::size_of::<PrepBlock>() }
    }
}

/// One weight row, made ready by [`prep_row`], against a 16-row group packed at `a` by
/// [`pack_lanes`]: the dot products of its first `out.len()` rows, into `out`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
unsafe fn dot_lanes16(nb: usize, quants: Quants, blocks: &[PrepBlock], scales: &[f32], a: *const u8, out: &mut [f32]) {
    let mut acc = [_mm512_setzero_ps(); 8];
    for i in 0..nb {
        let ab = a.add(i * lanes_block(16));
        let wq = quants.base.add(i * quants.stride);
        let corr = (*blocks.as_ptr().add(i)).corr.as_ptr();
        let d = _mm512_mul_ps(_mm512_set1_ps(*scales.get_unchecked(i)), _mm512_load_ps(ab.add(512) as *const f32));
        for (j, acc) in acc.iter_mut().enumerate() {
            let qa = _mm512_load_si512(ab.add(j * 64) as *const _);
            let wj = (wq.add(4 * j) as *const i32).read_unaligned();
            let s = _mm512_dpbusd_epi32(_mm512_set1_epi32(*corr.add(j)), qa, _mm512_set1_epi32(wj));
            *acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(s), *acc);
        }
    }
    // hsum8's tree, lane by lane: ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)).
    let t: [__m512; 4] = std::array::from_fn(|k| _mm512_add_ps(acc[k], acc[k + 4]));
    let v = _mm512_add_ps(_mm512_add_ps(t[0], t[2]), _mm512_add_ps(t[1], t[3]));
    let n = out.len().min(16);
    _mm512_mask_storeu_ps(out.as_mut_ptr(), ((1u32 << n) - 1) as u16, v);
}

/// [`dot_lanes16`] with AVX-VNNI only: 8 rows to a 256-bit register.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avxvnni")]
unsafe fn dot_lanes8(nb: usize, quants: Quants, blocks: &[PrepBlock], scales: &[f32], a: *const u8, out: &mut [f32]) {
    let mut acc = [_mm256_setzero_ps(); 8];
    for i in 0..nb {
        let ab = a.add(i * lanes_block(8));
        let wq = quants.base.add(i * quants.stride);
        let corr = (*blocks.as_ptr().add(i)).corr.as_ptr();
        let d = _mm256_mul_ps(_mm256_set1_ps(*scales.get_unchecked(i)), _mm256_load_ps(ab.add(256) as *const f32));
        for (j, acc) in acc.iter_mut().enumerate() {
            let qa = _mm256_load_si256(ab.add(j * 32) as *const _);
            let wj = (wq.add(4 * j) as *const i32).read_unaligned();
            let s = _mm256_dpbusd_avx_epi32(_mm256_set1_epi32(*corr.add(j)), qa, _mm256_set1_epi32(wj));
            *acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), *acc);
        }
    }
    let t: [__m256; 4] = std::array::from_fn(|k| _mm256_add_ps(acc[k], acc[k + 4]));
    let v = _mm256_add_ps(_mm256_add_ps(t[0], t[2]), _mm256_add_ps(t[1], t[3]));
    let mut lanes = [0f32; 8];
    _mm256_storeu_ps(lanes.as_mut_ptr(), v);
    let n = out.len().min(8);
    out[..n].copy_from_slice(&lanes[..n]);
}

/// Generates, for the kernels `$lanes` (W = `$w` rows in the lanes of a register) and `$dot`
/// (rows one by one, or in pairs) and their target features, the driver and the Q8_0, Q4_0
/// and Q5_0 entry points, which take the arguments of the parent module's `rows_q8_0`,
/// `rows_q4_0` and `rows_q5_0` and give their bits. The driver packs the activations once per
/// call: the W-row groups ([`lanes_split`], the last padded when it has `$pad_from` rows or
/// more) for `$lanes`, the rest with offset `offset` and negated corrections in groups of
/// eight, four and the rest ([`pack_q8_0`]) for `$dot`; then it takes every weight row against
/// all the groups.
macro_rules! vnni_rows {
    ($mod:ident, $features:literal, $dot:ident, lanes $lanes:ident, $w:literal, pad from $pad_from:literal) => {
        pub(crate) mod $mod {
            use super::*;

            #[inline]
            #[target_feature(enable = $features)]
            #[allow(clippy::too_many_arguments)]
            unsafe fn rows(
                blocks: usize,
                w: &[u8],
                w_rows: usize,
                a: &[u8],
                a_rows: usize,
                out: &mut [f32],
                w_block: usize,
                offset: u8,
                uw: impl Fn(*const u8) -> __m256i + Copy,
            ) {
                let (groups, rest_start) = lanes_split(a_rows, $w, $pad_from);
                let mut lanes = A_LANES.with(|c| c.take());
                pack_lanes::<$w>(a, a_rows, blocks, groups, &mut lanes);
                let mut packed = A_PACKED.with(|c| c.take());
                let rest_rows = a_rows - rest_start;
                pack_q8_0(&a[rest_start * blocks * 34..], rest_rows, blocks, offset, true, &mut packed);
                // Q8_0 blocks (34 bytes) hold their signed quants after the scale.
                let in_place = w_block == 34;
                let signed = move |wb: *const u8| match in_place {
                    true => load256(wb.add(2)),
                    false => _mm256_sub_epi8(uw(wb), _mm256_set1_epi8(offset as i8)),
                };
                let (mut prep, mut scales) = (Vec::new(), Vec::new());
                for r in 0..w_rows {
                    let wp = w.as_ptr().add(r * blocks * w_block);
                    let out = &mut out[r * a_rows..(r + 1) * a_rows];
                    if groups > 0 {
                        let quants = prep_row(blocks, wp, w_block, signed, in_place, &mut prep, &mut scales);
                        for g in 0..groups {
                            let group = lanes.as_ptr().add(g * blocks * lanes_block($w));
                            let rows = g * $w..(g * $w + $w).min(a_rows);
                            $lanes(blocks, quants, &prep, &scales, group, &mut out[rows]);
                        }
                    }
                    let out = &mut out[rest_start..];
                    in_groups!(rest_rows, |c, N| {
                        let group = packed.as_ptr().add(c * blocks * 96);
                        out[c..c + N].copy_from_slice(&$dot::<N>(blocks, wp, w_block, group, uw));
                    });
                }
                A_PACKED.with(|c| c.replace(packed));
                A_LANES.with(|c| c.replace(lanes));
            }

            #[target_feature(enable = $features)]
            pub(crate) unsafe fn rows_q8_0(blocks: usize, w: &[u8], w_rows: usize, a: &[u8], a_rows: usize, out: &mut [f32]) {
                rows(blocks, w, w_rows, a, a_rows, out, 34, 128, |wb| unsafe { q8_0_unsigned(wb) })
            }

            #[target_feature(enable = $features)]
            pub(crate) unsafe fn rows_q4_0(blocks: usize, w: &[u8], w_rows: usize, a: &[u8], a_rows: usize, out: &mut [f32]) {
                rows(blocks, w, w_rows, a, a_rows, out, 18, 8, |wb| unsafe { q4_0_unsigned(wb) })
            }

            #[target_feature(enable = $features)]
            pub(crate) unsafe fn rows_q5_0(blocks: usize, w: &[u8], w_rows: usize, a: &[u8], a_rows: usize, out: &mut [f32]) {
                rows(blocks, w, w_rows, a, a_rows, out, 22, 16, |wb| unsafe { q5_0_unsigned(wb) })
            }
        }
    };
}

// The padding thresholds: a padded group of 16 takes about as long as nine rows in pairs and
// half as long again as eight; a group of 8 with AVX-VNNI as long as six rows one by one
// (`BANDWIDTH_ROWS` in the `bandwidth` example).
vnni_rows!(avx512, "avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni", dot_blocks_512, lanes dot_lanes16, 16, pad from 9);
vnni_rows!(avx, "avx2,fma,f16c,avxvnni", dot_blocks_256, lanes dot_lanes8, 8, pad from 6);

// ---------------------------------------------------------------------------------------------
// Q4_K and Q6_K against Q8_K activations with AVX-512 (the same CPUs): two activation rows to a
// 512-bit register, as above, in the integer part of the parent module's `dot_k_with_mins`
// (and of its Q6_K kernel). The lane operations (`vpmaddubsw`, `vpmaddwd` by the sub-block
// scales, `vpaddd`) work within each half, so every row gets the i32 lanes the parent computes
// for it, and the float steps after them are the parent's: `K_GEMV` and `K_GEMM` for Q4_K, the
// tiled order for Q6_K.

/// Bytes of one packed Q8_K super-block of a row pair: its 8 chunks of 32 quants, each chunk
/// as 32 bytes of the first row then 32 of the second.
const K_PAIR_BLOCK: usize = 512;

/// Packs the quants of Q8_K rows 2g and 2g + 1 (`blocks` super-blocks of 292 bytes each, in
/// `a`) for every pair g < rows / 2: super-block i of pair g at `(g · blocks + i) · 512`. After
/// them, at [`k_scales_at`], every row's super-block scales as f32, super-block by super-block
/// (`i · rows + row`), and 8 more f32 of zeros so that eight can be read from any row.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
unsafe fn pack_q8_k_pairs(a: &[u8], rows: usize, blocks: usize, out: &mut Packed) {
    assert!(a.len() >= rows * blocks * 292);
    let pairs = rows / 2;
    let scales_at = k_scales_at(rows, blocks);
    out.resize(scales_at + 4 * (blocks * rows + 8));
    for g in 0..pairs {
        for i in 0..blocks {
            let r0 = a.as_ptr().add((2 * g * blocks + i) * 292 + 4);
            let r1 = a.as_ptr().add(((2 * g + 1) * blocks + i) * 292 + 4);
            let dst = out.as_mut_ptr().add((g * blocks + i) * K_PAIR_BLOCK);
            for q in 0..8 {
                _mm256_storeu_si256(dst.add(q * 64) as *mut __m256i, load256(r0.add(q * 32)));
                _mm256_storeu_si256(dst.add(q * 64 + 32) as *mut __m256i, load256(r1.add(q * 32)));
            }
        }
    }
    let scales = out.as_mut_ptr().add(scales_at) as *mut f32;
    for r in 0..rows {
        for i in 0..blocks {
            let d = (a.as_ptr().add((r * blocks + i) * 292) as *const f32).read_unaligned();
            scales.add(i * rows + r).write_unaligned(d);
        }
    }
    for k in 0..8 {
        scales.add(blocks * rows + k).write_unaligned(0.0);
    }
}

/// Where [`pack_q8_k_pairs`] puts the rows' scales.
fn k_scales_at(rows: usize, blocks: usize) -> usize {
    rows / 2 * blocks * K_PAIR_BLOCK
}

/// Half `h` (0: the pair's first row, 1: its second) of a pair register.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
unsafe fn half(v: __m512i, h: usize) -> __m256i {
    if h == 0 {
        _mm512_castsi512_si256(v)
    } else {
        _mm512_extracti64x4_epi64::<1>(v)
    }
}

/// One Q4_K weight row (`nb` super-blocks at `w`) against `N` ≤ 8 Q8_K activation rows (`a`;
/// rows 2p and 2p + 1 also packed in pairs at `pairs` by [`pack_q8_k_pairs`], and their scales
/// at `da`, super-block i's at `da + i · stride`), in the parent's `K_GEMV` or `K_GEMM` order
/// (`MODE`). A last odd row goes through 256-bit registers.
///
/// The float steps are the parent's, with the rows in the lanes of one vector: each lane takes
/// a row's scalar multiplications and fused multiply-adds in the parent's order, so each row
/// gets the parent's bits.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
unsafe fn dot_q4_k_pairs<const N: usize, const MODE: u8>(
    nb: usize,
    w: *const u8,
    a: [*const u8; N],
    pairs: *const u8,
    da: *const f32,
    stride: usize,
) -> [f32; N] {
    use super::{hsum_each_i32x8, k_scales_mins, load_f16, BROADCAST_I16, K_GEMM};
    let np = N / 2;
    let m4 = _mm256_set1_epi8(0x0f);
    let mut acc_s = _mm256_setzero_ps();
    let mut acc_m = _mm256_setzero_ps();
    for i in 0..nb {
        let wb = w.add(i * 144);
        prefetch(wb, 144);
        // i16 lanes 0..8: scales, 8..16: mins (as in the parent).
        let scales_mins = _mm256_cvtepu8_epi16(k_scales_mins(wb.add(4)));
        let scales = _mm256_permute2x128_si256::<0x00>(scales_mins, scales_mins);
        let d = load_f16(wb);
        let dmin = load_f16(wb.add(2));
        let mins = _mm256_extracti128_si256::<1>(scales_mins);
        let mut min_sums = [_mm_setzero_si128(); N];
        for k in 0..N {
            let bsums = load256(a[k].add(i * 292 + 260));
            let pair_sums = _mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256::<1>(bsums));
            min_sums[k] = _mm_madd_epi16(mins, pair_sums);
        }
        // Per pair (and for the odd row): the 64-element sums (K_GEMM) or their running sum.
        let mut sum2 = [_mm512_setzero_si512(); 4];
        let mut per_64_2 = [[_mm512_setzero_si512(); 4]; 4];
        let mut sum1 = _mm256_setzero_si256();
        let mut per_64_1 = [_mm256_setzero_si256(); 4];
        for j in 0..4 {
            let scale_lo = _mm256_shuffle_epi8(scales, load256(BROADCAST_I16[2 * j].as_ptr()));
            let scale_hi = _mm256_shuffle_epi8(scales, load256(BROADCAST_I16[2 * j + 1].as_ptr()));
            let q = load256(wb.add(16 + 32 * j));
            let q_lo = _mm256_and_si256(q, m4);
            let q_hi = _mm256_and_si256(_mm256_srli_epi16::<4>(q), m4);
            let (scale_lo2, scale_hi2) = (_mm512_broadcast_i64x4(scale_lo), _mm512_broadcast_i64x4(scale_hi));
            let (q_lo2, q_hi2) = (_mm512_broadcast_i64x4(q_lo), _mm512_broadcast_i64x4(q_hi));
            for p in 0..np {
                let qa = pairs.add((p * nb + i) * K_PAIR_BLOCK + 2 * j * 64);
                let qa_lo = _mm512_loadu_si512(qa as *const _);
                let qa_hi = _mm512_loadu_si512(qa.add(64) as *const _);
                let p_lo = _mm512_madd_epi16(scale_lo2, _mm512_maddubs_epi16(q_lo2, qa_lo));
                let p_hi = _mm512_madd_epi16(scale_hi2, _mm512_maddubs_epi16(q_hi2, qa_hi));
                let s = _mm512_add_epi32(p_lo, p_hi);
                if MODE == K_GEMM {
                    per_64_2[p][j] = s;
                } else {
                    sum2[p] = _mm512_add_epi32(sum2[p], s);
                }
            }
            if N % 2 == 1 {
                let qa = a[N - 1].add(i * 292 + 4 + 64 * j);
                let p_lo = _mm256_madd_epi16(scale_lo, _mm256_maddubs_epi16(q_lo, load256(qa)));
                let p_hi = _mm256_madd_epi16(scale_hi, _mm256_maddubs_epi16(q_hi, load256(qa.add(32))));
                let s = _mm256_add_epi32(p_lo, p_hi);
                if MODE == K_GEMM {
                    per_64_1[j] = s;
                } else {
                    sum1 = _mm256_add_epi32(sum1, s);
                }
            }
        }
        // Row k's i32 lanes for 64-element chunk j (K_GEMM) or the whole super-block; zero
        // past the last row.
        let lanes = |k: usize, j: usize| -> __m256i {
            let odd = N % 2 == 1 && k == N - 1;
            match (k < N, odd, MODE == K_GEMM) {
                (false, _, _) => _mm256_setzero_si256(),
                (true, true, true) => per_64_1[j],
                (true, true, false) => sum1,
                (true, false, true) => half(per_64_2[k / 2][j], k % 2),
                (true, false, false) => half(sum2[k / 2], k % 2),
            }
        };
        // Lane k of `sums(j)`: row k's integer sum.
        let sums = |j: usize| -> __m256i {
            let low = hsum_each_i32x8([lanes(0, j), lanes(1, j), lanes(2, j), lanes(3, j)]);
            let high = if N > 4 {
                hsum_each_i32x8([lanes(4, j), lanes(5, j), lanes(6, j), lanes(7, j)])
            } else {
                _mm_setzero_si128()
            };
            _mm256_set_m128i(high, low)
        };
        // The min sums transposed: lane k of `mins_t[j]` is row k's for chunk j.
        let ms = |k: usize| if k < N { min_sums[k] } else { _mm_setzero_si128() };
        let y: [__m256i; 4] = std::array::from_fn(|t| _mm256_set_m128i(ms(t + 4), ms(t)));
        let (lo01, hi01) = (_mm256_unpacklo_epi32(y[0], y[1]), _mm256_unpackhi_epi32(y[0], y[1]));
        let (lo23, hi23) = (_mm256_unpacklo_epi32(y[2], y[3]), _mm256_unpackhi_epi32(y[2], y[3]));
        let mins_t = [
            _mm256_unpacklo_epi64(lo01, lo23),
            _mm256_unpackhi_epi64(lo01, lo23),
            _mm256_unpacklo_epi64(hi01, hi23),
            _mm256_unpackhi_epi64(hi01, hi23),
        ];
        let da_v = _mm256_loadu_ps(da.add(i * stride));
        let d_da = _mm256_mul_ps(_mm256_set1_ps(d), da_v);
        let dmin_da = _mm256_mul_ps(_mm256_set1_ps(dmin), da_v);
        if MODE == K_GEMM {
            for j in 0..4 {
                acc_s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums(j)), d_da, acc_s);
                acc_m = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mins_t[j]), dmin_da, acc_m);
            }
        } else {
            // The whole min sum: the four chunks' (exact integers, any order).
            let m = _mm256_add_epi32(_mm256_add_epi32(mins_t[0], mins_t[1]), _mm256_add_epi32(mins_t[2], mins_t[3]));
            acc_s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums(0)), d_da, acc_s);
            acc_m = _mm256_fmadd_ps(_mm256_cvtepi32_ps(m), dmin_da, acc_m);
        }
    }
    let mut out = [0f32; 8];
    _mm256_storeu_ps(out.as_mut_ptr(), _mm256_sub_ps(acc_s, acc_m));
    std::array::from_fn(|k| out[k])
}

/// What [`rows_k`] computes.
const Q4_K_GEMV: u8 = 0;
const Q4_K_GEMM: u8 = 1;
const Q6_K_TILED: u8 = 2;

/// Q4_K weight rows against Q8_K activation rows in the parent's `K_GEMV` order (its
/// `rows_q4_k`), same arguments, same bits.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
pub(crate) unsafe fn rows_q4_k(nb: usize, w: &[u8], w_rows: usize, a: &[u8], a_rows: usize, out: &mut [f32]) {
    rows_k::<Q4_K_GEMV>(nb, w, w_rows, a, a_rows, out)
}

/// Q4_K in the parent's `K_GEMM` order (its `rows_q4_k_tiled`), same bits.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
pub(crate) unsafe fn rows_q4_k_tiled(nb: usize, w: &[u8], w_rows: usize, a: &[u8], a_rows: usize, out: &mut [f32]) {
    rows_k::<Q4_K_GEMM>(nb, w, w_rows, a, a_rows, out)
}

/// Q6_K in the parent's tiled order (its `rows_q6_k_tiled`), same bits.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
pub(crate) unsafe fn rows_q6_k_tiled(nb: usize, w: &[u8], w_rows: usize, a: &[u8], a_rows: usize, out: &mut [f32]) {
    rows_k::<Q6_K_TILED>(nb, w, w_rows, a, a_rows, out)
}

/// The driver of the K-quant kernels above: the activations' quants packed in row pairs (and
/// their scales) once per call, then every weight row against the activation rows in groups
/// of eight, then four, then the rest, as the parent's drivers group them.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
unsafe fn rows_k<const KIND: u8>(nb: usize, w: &[u8], w_rows: usize, a: &[u8], a_rows: usize, out: &mut [f32]) {
    use super::{K_GEMM, K_GEMV};
    let w_block = if KIND == Q6_K_TILED { 210 } else { 144 };
    let mut packed = A_PACKED.with(|c| c.take());
    pack_q8_k_pairs(a, a_rows, nb, &mut packed);
    let row = |c: usize| a.as_ptr().add(c * nb * 292);
    // Groups start at multiples of 4, so a group's first pair is pair c / 2.
    let pairs = |c: usize| packed.as_ptr().add(c / 2 * nb * K_PAIR_BLOCK);
    let scales = |c: usize| (packed.as_ptr().add(k_scales_at(a_rows, nb)) as *const f32).add(c);
    for r in 0..w_rows {
        let wp = w.as_ptr().add(r * nb * w_block);
        let out = &mut out[r * a_rows..(r + 1) * a_rows];
        in_groups!(a_rows, |c, N| {
            let rows: [*const u8; N] = std::array::from_fn(|i| row(c + i));
            let (p, s) = (pairs(c), scales(c));
            out[c..c + N].copy_from_slice(&match KIND {
                Q4_K_GEMV => dot_q4_k_pairs::<N, K_GEMV>(nb, wp, rows, p, s, a_rows),
                Q4_K_GEMM => dot_q4_k_pairs::<N, K_GEMM>(nb, wp, rows, p, s, a_rows),
                _ => dot_q6_k_pairs::<N>(nb, wp, rows, p, s, a_rows),
            });
        });
    }
    A_PACKED.with(|c| c.replace(packed));
}

/// [`dot_q4_k_pairs`] for Q6_K weights in the parent's tiled order: per super-block the whole
/// integer sum S of each row (its `vpmaddubsw`/`vpmaddwd` lanes less 32 · Σ scale · bsum), then
/// r = d · S and one fused multiply-add of r × da per row, with the rows in vector lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
unsafe fn dot_q6_k_pairs<const N: usize>(
    nb: usize,
    w: *const u8,
    a: [*const u8; N],
    pairs: *const u8,
    da: *const f32,
    stride: usize,
) -> [f32; N] {
    use super::{hsum_each_i32x8, load128, load_f16, q6_k_chunk};
    let np = N / 2;
    let mut acc = _mm256_setzero_ps();
    for i in 0..nb {
        // Block: ql (128), qh (64), scales (16 × i8), d (f16).
        let wb = w.add(i * 210);
        prefetch(wb, 210);
        let sc = load128(wb.add(192));
        let mut sum2 = [_mm512_setzero_si512(); 4];
        let mut sum1 = _mm256_setzero_si256();
        for c in 0..8 {
            let (q, scale) = q6_k_chunk(wb, sc, c);
            let (q2, scale2) = (_mm512_broadcast_i64x4(q), _mm512_broadcast_i64x4(scale));
            for p in 0..np {
                let qa = _mm512_loadu_si512(pairs.add((p * nb + i) * K_PAIR_BLOCK + c * 64) as *const _);
                sum2[p] = _mm512_add_epi32(sum2[p], _mm512_madd_epi16(scale2, _mm512_maddubs_epi16(q2, qa)));
            }
            if N % 2 == 1 {
                let qa = load256(a[N - 1].add(i * 292 + 4 + 32 * c));
                sum1 = _mm256_add_epi32(sum1, _mm256_madd_epi16(scale, _mm256_maddubs_epi16(q, qa)));
            }
        }
        // Row k's lanes less 32 · Σ_g sc[g] · bsum[g] (spread over 8 lanes); zero past the last row.
        let sc16 = _mm256_cvtepi8_epi16(sc);
        let total = |k: usize| -> __m256i {
            if k >= N {
                return _mm256_setzero_si256();
            }
            let lanes = if N % 2 == 1 && k == N - 1 { sum1 } else { half(sum2[k / 2], k % 2) };
            let bias = _mm256_slli_epi32::<5>(_mm256_madd_epi16(sc16, load256(a[k].add(i * 292 + 260))));
            _mm256_sub_epi32(lanes, bias)
        };
        let low = hsum_each_i32x8([total(0), total(1), total(2), total(3)]);
        let high = if N > 4 { hsum_each_i32x8([total(4), total(5), total(6), total(7)]) } else { _mm_setzero_si128() };
        let r = _mm256_mul_ps(_mm256_set1_ps(load_f16(wb.add(208))), _mm256_cvtepi32_ps(_mm256_set_m128i(high, low)));
        acc = _mm256_fmadd_ps(r, _mm256_loadu_ps(da.add(i * stride)), acc);
    }
    let mut out = [0f32; 8];
    _mm256_storeu_ps(out.as_mut_ptr(), acc);
    std::array::from_fn(|k| out[k])
}
