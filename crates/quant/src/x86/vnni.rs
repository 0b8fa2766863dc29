//! VNNI kernels for Q8_0, Q4_0 and Q5_0 weights against several Q8_0 activation rows (prefill
//! and batched decoding), where the CPU has the instructions: AVX-512 VNNI, or AVX-VNNI (the
//! same `vpdpbusd` on 256-bit registers only, on CPUs without AVX-512).
//!
//! They compute exactly what the AVX2 kernels in the parent module compute, bit for bit. Every
//! weight block's quants go in unsigned, with an offset (Q8_0: u = q + 128, Q4_0: u = q + 8,
//! Q5_0: u = q + 16), and `vpdpbusd` adds the four products u·a of each i32 lane to the lane's
//! correction −offset·Σa (from the packing), which gives the same i32 lanes as
//! `vpmaddubsw` + `vpmaddwd` give in the parent module. The float steps are the same too:
//! per block, lane by lane, `acc + (dw·da) · float(lane)`, and the 8 lanes summed at the end
//! in the same tree. With AVX-512, two activation rows share a 512-bit register (the weight
//! block broadcast to both halves), so one instruction does the work of two; with AVX-VNNI each
//! row has its 256-bit register and `vpdpbusd` saves the sign and pair-sum instructions.

use std::arch::x86_64::*;
use std::cell::Cell;
use std::sync::OnceLock;

use super::{hsum8, load256, load_f16x8, pack_q8_0, prefetch, q4_0_unsigned, q5_0_unsigned, A_PACKED};

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
/// quants) against the group of `N` activation rows packed at `a` by [`pack_q8_0`] with
/// negated corrections. Rows 2p and 2p + 1 share the halves of a 512-bit accumulator; a last
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

/// [`dot_blocks_512`] with AVX-VNNI only: each activation row in a 256-bit register.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avxvnni")]
unsafe fn dot_blocks_256<const N: usize>(
    nb: usize,
    w: *const u8,
    w_block: usize,
    a: *const u8,
    uw: impl Fn(*const u8) -> __m256i,
) -> [f32; N] {
    let mut acc = [_mm256_setzero_ps(); N];
    for i in 0..nb {
        let wb = w.add(i * w_block);
        let ab = a.add(i * N * 96);
        prefetch(wb, 32);
        let u = uw(wb);
        let dw = load_f16x8(wb);
        for k in 0..N {
            let qa = load256(ab.add(k * 32));
            let da = _mm256_loadu_ps(ab.add((N + k) * 32) as *const f32);
            let neg_corr = load256(ab.add((2 * N + k) * 32));
            let s = _mm256_dpbusd_avx_epi32(neg_corr, u, qa);
            acc[k] = _mm256_fmadd_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(s), acc[k]);
        }
    }
    acc.map(|v| hsum8(v))
}

/// Generates, for the kernel `$dot` and its target features, the driver (the activations
/// packed once per call with offset `offset` and negated corrections, then every weight row
/// against the activation rows in groups of eight, then four, then the rest — the groups
/// [`pack_q8_0`] lays out) and the Q8_0, Q4_0 and Q5_0 entry points, which take the arguments
/// of the parent module's `rows_q8_0`, `rows_q4_0` and `rows_q5_0` and give their bits.
macro_rules! vnni_rows {
    ($mod:ident, $features:literal, $dot:ident) => {
        pub(crate) mod $mod {
            use super::*;

            #[inline]
            #[target_feature(enable = $features)]
            #[allow(clippy::too_many_arguments)]
            #[allow(unused_assignments)] // the last `call!` advances `c` past the end
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
                let mut packed = A_PACKED.with(|c| c.take());
                pack_q8_0(a, a_rows, blocks, offset, true, &mut packed);
                let group = |c: usize| packed.as_ptr().add(c * blocks * 96);
                for r in 0..w_rows {
                    let wp = w.as_ptr().add(r * blocks * w_block);
                    let out = &mut out[r * a_rows..(r + 1) * a_rows];
                    let mut c = 0;
                    macro_rules! call {
                        ($k:literal) => {{
                            out[c..c + $k].copy_from_slice(&$dot::<$k>(blocks, wp, w_block, group(c), uw));
                            c += $k;
                        }};
                    }
                    while c + 8 <= a_rows {
                        call!(8);
                    }
                    while c + 4 <= a_rows {
                        call!(4);
                    }
                    match a_rows - c {
                        3 => call!(3),
                        2 => call!(2),
                        1 => call!(1),
                        _ => {}
                    }
                }
                A_PACKED.with(|c| c.replace(packed));
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

vnni_rows!(avx512, "avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni", dot_blocks_512);
vnni_rows!(avx, "avx2,fma,f16c,avxvnni", dot_blocks_256);
