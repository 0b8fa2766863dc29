//! Property tests over every format: quantize/dequantize round trips, the fast kernels against
//! the scalar reference, the integer dot products against the dot of the dequantized rows, and
//! batched against single dot products. Rows are random f32 data quantized, or random raw
//! bytes with sane scales written into the scale fields.

use ferrocodex_quant::{
    dequantize_row, is_supported, kernel_isa, quantize_row, scalar, vec_dot, vec_dot_many,
    vec_dot_type, GgmlType,
};
use proptest::prelude::*;

const WEIGHT_TYPES: [GgmlType; 9] = [
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q8_0,
    GgmlType::Q4_0,
    GgmlType::Q5_0,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
];

/// xorshift64*: the test data generator, seeded by proptest.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }
    /// A row of `n` values at one random magnitude (0.05 to 100), a few of them outliers.
    fn floats(&mut self, n: usize) -> Vec<f32> {
        let scale = 10f32.powf(self.range(-1.3, 2.0));
        (0..n)
            .map(|_| {
                let v = self.range(-1.0, 1.0) * scale;
                if self.unit() < 0.02 {
                    v * 8.0
                } else {
                    v
                }
            })
            .collect()
    }
    /// An f16 scale of magnitude 1e-3..1 and random sign.
    fn f16_scale(&mut self) -> [u8; 2] {
        let m = 10f32.powf(self.range(-3.0, 0.0));
        let v = if self.unit() < 0.5 { m } else { -m };
        half::f16::from_f32(v).to_bits().to_le_bytes()
    }
}

fn row_bytes(t: GgmlType, n: usize) -> usize {
    t.bytes_for(n as u64).expect("whole blocks") as usize
}

fn quantized(t: GgmlType, x: &[f32]) -> Vec<u8> {
    let mut b = vec![0u8; row_bytes(t, x.len())];
    quantize_row(t, x, &mut b);
    b
}

fn dequantized(t: GgmlType, b: &[u8], n: usize) -> Vec<f32> {
    let mut x = vec![0.0; n];
    dequantize_row(t, b, &mut x);
    x
}

/// A weight row of `t` made of random bytes, with each block's float scales overwritten by
/// sane values (raw random bits would include NaN and huge scales). Float types get random
/// values instead.
fn raw_weight_row(t: GgmlType, n: usize, rng: &mut Rng) -> Vec<u8> {
    if matches!(t, GgmlType::F32 | GgmlType::F16 | GgmlType::BF16) {
        return quantized(t, &rng.floats(n));
    }
    let mut b: Vec<u8> = (0..row_bytes(t, n)).map(|_| rng.next() as u8).collect();
    let block = t.block_bytes() as usize;
    for blk in b.chunks_exact_mut(block) {
        match t {
            GgmlType::Q8_0 | GgmlType::Q4_0 | GgmlType::Q5_0 => {
                blk[0..2].copy_from_slice(&rng.f16_scale())
            }
            GgmlType::Q4_K | GgmlType::Q5_K => {
                blk[0..2].copy_from_slice(&rng.f16_scale());
                blk[2..4].copy_from_slice(&rng.f16_scale());
            }
            GgmlType::Q6_K => blk[208..210].copy_from_slice(&rng.f16_scale()),
            _ => unreachable!(),
        }
    }
    b
}

/// An activation row in `at` made of random quants (in −127..=127, the range the quantizers
/// produce and the kernels rely on) and sane scales, with Q8_K's bsums made consistent.
fn raw_activation_row(at: GgmlType, n: usize, rng: &mut Rng) -> Vec<u8> {
    let mut b = vec![0u8; row_bytes(at, n)];
    match at {
        GgmlType::Q8_0 => {
            for blk in b.chunks_exact_mut(34) {
                blk[0..2].copy_from_slice(&rng.f16_scale());
                for q in &mut blk[2..] {
                    *q = ((rng.next() % 255) as i32 - 127) as i8 as u8;
                }
            }
        }
        GgmlType::Q8_K => {
            for blk in b.chunks_exact_mut(292) {
                blk[0..4].copy_from_slice(&rng.range(1e-4, 0.1).to_le_bytes());
                let q: Vec<i8> = (0..256)
                    .map(|_| ((rng.next() % 255) as i32 - 127) as i8)
                    .collect();
                for (o, &v) in blk[4..260].iter_mut().zip(&q) {
                    *o = v as u8;
                }
                for g in 0..16 {
                    let s: i16 = q[16 * g..16 * g + 16].iter().map(|&v| v as i16).sum();
                    blk[260 + 2 * g..262 + 2 * g].copy_from_slice(&s.to_le_bytes());
                }
            }
        }
        _ => return quantized(at, &rng.floats(n)),
    }
    b
}

/// Σ|w_i·a_i| and Σ w_i·a_i (in f64) over the dequantized rows.
fn dequantized_dot(t: GgmlType, w: &[u8], a: &[u8], n: usize) -> (f64, f64) {
    let wd = dequantized(t, w, n);
    let ad = dequantized(vec_dot_type(t), a, n);
    let abs = wd
        .iter()
        .zip(&ad)
        .map(|(&x, &y)| (x as f64 * y as f64).abs())
        .sum();
    let dot = wd.iter().zip(&ad).map(|(&x, &y)| x as f64 * y as f64).sum();
    (abs, dot)
}

fn row_len(t: GgmlType, blocks: usize) -> usize {
    // Float types: a length that exercises the 16-wide loop and its scalar tail.
    if t.block_elems() == 1 {
        blocks * 37
    } else {
        blocks * t.block_elems() as usize
    }
}

/// Checks that the fast and scalar dot products agree with each other and with the dot of
/// the dequantized rows, within 1e-4 of Σ|w·a|.
fn check_dot(t: GgmlType, n: usize, w: &[u8], a: &[u8]) -> Result<(), TestCaseError> {
    let fast = vec_dot(t, n, w, a) as f64;
    let reference = scalar::vec_dot(t, n, w, a) as f64;
    let (abs, exact) = dequantized_dot(t, w, a, n);
    let tol = 1e-4 * abs + 1e-30;
    prop_assert!(
        (fast - reference).abs() <= tol,
        "{t}: fast {fast} vs scalar {reference} (Σ|wa| = {abs})"
    );
    prop_assert!(
        (reference - exact).abs() <= tol,
        "{t}: scalar {reference} vs dequantized {exact} (Σ|wa| = {abs})"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn dot_of_quantized_floats(ti in 0..WEIGHT_TYPES.len(), blocks in 1usize..=5, seed in any::<u64>()) {
        let t = WEIGHT_TYPES[ti];
        let n = row_len(t, blocks);
        let mut rng = Rng::new(seed);
        let w = quantized(t, &rng.floats(n));
        let a = quantized(vec_dot_type(t), &rng.floats(n));
        check_dot(t, n, &w, &a)?;
    }

    #[test]
    fn dot_of_raw_blocks(ti in 0..WEIGHT_TYPES.len(), blocks in 1usize..=5, seed in any::<u64>()) {
        let t = WEIGHT_TYPES[ti];
        let n = row_len(t, blocks);
        let mut rng = Rng::new(seed);
        let w = raw_weight_row(t, n, &mut rng);
        let a = raw_activation_row(vec_dot_type(t), n, &mut rng);
        check_dot(t, n, &w, &a)?;
        // The same raw weights against a quantized activation row.
        let a = quantized(vec_dot_type(t), &rng.floats(n));
        check_dot(t, n, &w, &a)?;
    }

    /// The batch-place kernels (the reference's tiled, repacked and vector orders) give the
    /// scalar reference's value within the dot products' tolerance, for every weight type and
    /// every place a row can have in a batch.
    #[test]
    fn vec_dot_many_at_every_batch_place(
        ti in 0..WEIGHT_TYPES.len(),
        blocks in 1usize..=3,
        a_rows in 1usize..=6,
        place in 0usize..4,
        seed in any::<u64>(),
    ) {
        let t = WEIGHT_TYPES[ti];
        let at = vec_dot_type(t);
        let n = row_len(t, blocks);
        let mut rng = Rng::new(seed);
        let w_rows = 4;
        let w: Vec<u8> = (0..w_rows).flat_map(|_| raw_weight_row(t, n, &mut rng)).collect();
        let a: Vec<u8> = (0..a_rows).flat_map(|_| quantized(at, &rng.floats(n))).collect();
        let place = [
            ferrocodex_quant::BatchPlace::SINGLE,
            ferrocodex_quant::BatchPlace { batch: 2, in_fours: false, matrix_rows: 4 },
            ferrocodex_quant::BatchPlace { batch: 8, in_fours: true, matrix_rows: 8 },
            ferrocodex_quant::BatchPlace { batch: 9, in_fours: false, matrix_rows: 6 },
        ][place];
        let mut out = vec![f32::NAN; w_rows * a_rows];
        ferrocodex_quant::vec_dot_many_at(t, n, &w, w_rows, &a, a_rows, place, &mut out);
        let (wb, ab) = (row_bytes(t, n), row_bytes(at, n));
        for r in 0..w_rows {
            for c in 0..a_rows {
                let (wr, ar) = (&w[r * wb..(r + 1) * wb], &a[c * ab..(c + 1) * ab]);
                let reference = scalar::vec_dot(t, n, wr, ar) as f64;
                let (abs, _) = dequantized_dot(t, wr, ar, n);
                let got = out[r * a_rows + c] as f64;
                prop_assert!((got - reference).abs() <= 1e-4 * abs + 1e-30, "{} {:?}: {} vs {}", t, place, got, reference);
            }
        }
    }

    /// Where the CPU has AVX-512 VNNI or AVX-VNNI, their kernels (`vpdpbusd` on offset quants;
    /// with AVX-512 two activation rows to a register, Q4_K and Q6_K too) give the AVX2 kernels'
    /// bits for every batch size and place; raw Q8_0 weight rows include −128, the one quant
    /// whose offset form needs care.
    #[test]
    fn vnni_kernels_give_the_avx2_bits(
        ti in prop::sample::select(vec![3usize, 4, 5, 6, 8]),
        blocks in 1usize..=3,
        w_rows in 1usize..=3,
        a_rows in 1usize..=40,
        in_fours in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let t = WEIGHT_TYPES[ti];
        let n = row_len(t, blocks);
        let mut rng = Rng::new(seed);
        let w: Vec<u8> = (0..w_rows).flat_map(|_| raw_weight_row(t, n, &mut rng)).collect();
        let a: Vec<u8> = (0..a_rows).flat_map(|_| raw_activation_row(vec_dot_type(t), n, &mut rng)).collect();
        let place = ferrocodex_quant::BatchPlace { batch: a_rows, in_fours, matrix_rows: w_rows };
        use ferrocodex_quant::{vec_dot_many_at, with_kernels, Kernels};
        let run = |cap| {
            let mut out = vec![f32::NAN; w_rows * a_rows];
            with_kernels(cap, || vec_dot_many_at(t, n, &w, w_rows, &a, a_rows, place, &mut out));
            out
        };
        let avx2 = run(Kernels::Avx2);
        for cap in [Kernels::AvxVnni, Kernels::All] {
            for (i, (f, s)) in run(cap).iter().zip(&avx2).enumerate() {
                prop_assert_eq!(f.to_bits(), s.to_bits(), "{} {:?} output {}: {} vs {}", t, cap, i, f, s);
            }
        }
    }

    #[test]
    fn vec_dot_many_equals_vec_dot(
        ti in 0..WEIGHT_TYPES.len(),
        blocks in 1usize..=3,
        w_rows in 1usize..=5,
        a_rows in 1usize..=17,
        seed in any::<u64>(),
    ) {
        let t = WEIGHT_TYPES[ti];
        let at = vec_dot_type(t);
        let n = row_len(t, blocks);
        let mut rng = Rng::new(seed);
        let w: Vec<u8> = (0..w_rows).flat_map(|_| raw_weight_row(t, n, &mut rng)).collect();
        let a: Vec<u8> = (0..a_rows).flat_map(|_| quantized(at, &rng.floats(n))).collect();
        let mut out = vec![f32::NAN; w_rows * a_rows];
        vec_dot_many(t, n, &w, w_rows, &a, a_rows, &mut out);
        let (wb, ab) = (row_bytes(t, n), row_bytes(at, n));
        for r in 0..w_rows {
            for c in 0..a_rows {
                let single = vec_dot(t, n, &w[r * wb..(r + 1) * wb], &a[c * ab..(c + 1) * ab]);
                // Bit for bit: batching must not change a row's result.
                prop_assert_eq!(out[r * a_rows + c].to_bits(), single.to_bits(), "{} row {} col {}", t, r, c);
            }
        }
    }

    #[test]
    fn round_trip_error_is_bounded(ti in 0..WEIGHT_TYPES.len() + 1, blocks in 1usize..=4, seed in any::<u64>()) {
        let t = if ti == WEIGHT_TYPES.len() { GgmlType::Q8_K } else { WEIGHT_TYPES[ti] };
        let n = row_len(t, blocks);
        let mut rng = Rng::new(seed);
        let x = rng.floats(n);
        let y = dequantized(t, &quantized(t, &x), n);
        let block = t.block_elems() as usize;
        for (xb, yb) in x.chunks(block).zip(y.chunks(block)) {
            let amax = xb.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (&xv, &yv) in xb.iter().zip(yb) {
                let bound = round_trip_bound(t, xv, amax);
                prop_assert!((xv - yv).abs() <= bound, "{t}: {xv} → {yv}, bound {bound} (block amax {amax})");
            }
        }
    }

    #[test]
    fn activation_quantizers_match_scalar_bytes(k in 0usize..2, blocks in 1usize..=4, ties in any::<bool>(), seed in any::<u64>()) {
        let t = [GgmlType::Q8_0, GgmlType::Q8_K][k];
        let n = row_len(t, blocks);
        let mut rng = Rng::new(seed);
        let x: Vec<f32> = if ties {
            // Every 32 elements hold one ±127 (alternating in sign, so that a Q8_K block's
            // largest magnitude occurs with both signs and the first must win) and otherwise
            // half-integers, so that x·127/amax lands exactly on .5 often: the rounding of
            // ties must agree.
            (0..n)
                .map(|i| match (i % 32, i / 32 % 2) {
                    (5, 0) => 127.0,
                    (5, _) => -127.0,
                    _ => (rng.next() % 254) as f32 - 126.5,
                })
                .collect()
        } else {
            rng.floats(n)
        };
        let fast = quantized(t, &x);
        let mut reference = vec![0u8; fast.len()];
        scalar::quantize_row(t, &x, &mut reference);
        prop_assert_eq!(fast, reference, "{}", t);
    }

    #[test]
    fn zero_rows_quantize_to_zero(ti in 0..WEIGHT_TYPES.len() + 1, blocks in 1usize..=2) {
        let t = if ti == WEIGHT_TYPES.len() { GgmlType::Q8_K } else { WEIGHT_TYPES[ti] };
        let n = row_len(t, blocks);
        let y = dequantized(t, &quantized(t, &vec![0.0; n]), n);
        prop_assert!(y.iter().all(|&v| v == 0.0), "{t}: {y:?}");
    }
}

/// How far a dequantized value may be from the original, given its block's largest magnitude.
/// Each bound is half a quantization step plus what rounding the scales (to f16, or to 6 or 8
/// bits for the k-quants) and clipping the extreme quant add, worked out per format.
fn round_trip_bound(t: GgmlType, x: f32, amax: f32) -> f32 {
    let c = match t {
        GgmlType::F32 => return 0.0,
        GgmlType::F16 => return x.abs() / 2048.0 + 1e-7,
        GgmlType::BF16 => return x.abs() / 256.0,
        // Half a step of amax/127, plus 127 steps of the f16 rounding of d.
        GgmlType::Q8_0 => 0.5 / 127.0 + 1.0 / 2048.0,
        GgmlType::Q8_K => 0.5 / 127.0 + 1e-6,
        // Steps of amax/8 (amax/16); the element opposite the signed max clips by a whole step.
        GgmlType::Q4_0 => 1.0 / 8.0 + 16.0 / 2048.0,
        GgmlType::Q5_0 => 1.0 / 16.0 + 32.0 / 2048.0,
        // Sub-block step ≤ 2·amax/15 (2·amax/31), 6-bit scales and mins, f16 super-scales.
        GgmlType::Q4_K => 0.09,
        GgmlType::Q5_K => 0.05,
        // Step amax/32, clipping at +31, 8-bit group scales.
        GgmlType::Q6_K => 0.04,
        _ => unreachable!(),
    };
    c * amax * 1.0001
}

#[test]
#[cfg(target_arch = "x86_64")]
fn the_fast_path_runs_on_this_machine() {
    // The comparisons above only test the SIMD kernels where the CPU has them.
    use std::arch::is_x86_feature_detected as has;
    if has!("avx2") && has!("fma") && has!("f16c") {
        let avx512 = has!("avx512f") && has!("avx512bw") && has!("avx512dq") && has!("avx512vl") && has!("avx512vnni");
        let expected = match std::env::var("FERROCODEX_KERNELS").as_deref() {
            Ok("avx2") => "avx2+fma+f16c",
            Ok("avxvnni") if has!("avxvnni") => "avx2+fma+f16c+avxvnni",
            Ok("avxvnni") => "avx2+fma+f16c",
            _ if avx512 => "avx2+fma+f16c+avx512vnni",
            _ if has!("avxvnni") => "avx2+fma+f16c+avxvnni",
            _ => "avx2+fma+f16c",
        };
        assert_eq!(kernel_isa(), expected);
    }
}

#[test]
fn supported_types_and_their_activation_formats() {
    use GgmlType::*;
    for t in WEIGHT_TYPES {
        assert!(is_supported(t), "{t}");
    }
    for t in [Q4_1, Q5_1, Q8_1, Q2_K, Q3_K, Q8_K, IQ4_NL, I32] {
        assert!(!is_supported(t), "{t}");
    }
    assert_eq!(vec_dot_type(Q4_0), Q8_0);
    assert_eq!(vec_dot_type(Q5_0), Q8_0);
    assert_eq!(vec_dot_type(Q8_0), Q8_0);
    assert_eq!(vec_dot_type(Q4_K), Q8_K);
    assert_eq!(vec_dot_type(Q5_K), Q8_K);
    assert_eq!(vec_dot_type(Q6_K), Q8_K);
    assert_eq!(vec_dot_type(F16), F16);
    assert_eq!(vec_dot_type(BF16), BF16);
    assert_eq!(vec_dot_type(F32), F32);
}

#[test]
fn a_known_dot_product() {
    // With a block maximum of 127, Q8_0's d is 1 and integer inputs quantize exactly, so the
    // dot product is exact: weights 0..31 then 127, activations 127 then 2s:
    // 0·127 + 2·(1 + … + 30) + 127·2 = 1184.
    let w: Vec<f32> = (0..32)
        .map(|i| if i == 31 { 127.0 } else { i as f32 })
        .collect();
    let a: Vec<f32> = (0..32).map(|i| if i == 0 { 127.0 } else { 2.0 }).collect();
    let (wq, aq) = (quantized(GgmlType::Q8_0, &w), quantized(GgmlType::Q8_0, &a));
    assert_eq!(vec_dot(GgmlType::Q8_0, 32, &wq, &aq), 1184.0);
    assert_eq!(scalar::vec_dot(GgmlType::Q8_0, 32, &wq, &aq), 1184.0);
}

#[test]
#[should_panic(expected = "weight rows length")]
fn short_weight_row_panics() {
    let a = quantized(GgmlType::Q8_0, &[0.5; 64]);
    vec_dot(GgmlType::Q8_0, 64, &[0u8; 67], &a);
}

#[test]
#[should_panic(expected = "not a whole number")]
fn partial_block_panics() {
    let mut out = [0u8; 34];
    quantize_row(GgmlType::Q8_0, &[0.5; 33], &mut out);
}

#[test]
#[should_panic(expected = "not supported")]
fn unsupported_type_panics() {
    vec_dot(GgmlType::Q2_K, 256, &[0u8; 84], &[0u8; 292]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The fast value-summing kernel gives the scalar loop's bits, for any row length
    /// (whole tiles, whole vectors and a tail), number of heads (groups of 4, 2 and 1), row
    /// stride, cell count and lane layout.
    #[test]
    fn f16_fma_cells_matches_the_scalar_loop(
        n in 1usize..90,
        heads in 1usize..8,
        cells in 0usize..40,
        pad in 0usize..5,
        lanes in prop::sample::select(vec![1usize, 8, 32]),
        lane0 in 0usize..40,
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let stride = n + pad;
        let len = if cells == 0 { 0 } else { (cells - 1) * stride + n };
        let v = quantized(GgmlType::F16, &rng.floats(len));
        let p = rng.floats(heads * cells);
        // Whatever the buffers held before is overwritten.
        let mut fast = rng.floats(lanes * heads * n);
        ferrocodex_quant::f16_fma_cells(&p, heads, &v, stride, n, cells, lanes, lane0, &mut fast);
        let mut reference = rng.floats(lanes * heads * n);
        ferrocodex_quant::scalar::f16_fma_cells(&p, heads, &v, stride, n, cells, lanes, lane0, &mut reference);
        prop_assert_eq!(fast.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), reference.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
    }

    /// The ordered half-precision dot product gives the scalar twin's bits in both lane
    /// orders, and is close to the exact dot product.
    #[test]
    fn f16_dot_ordered_matches_the_scalar_twin(blocks in 1usize..12, seed in any::<u64>()) {
        use ferrocodex_quant::LaneOrder;
        let mut rng = Rng::new(seed);
        for order in [LaneOrder::Lanes8, LaneOrder::Lanes32] {
            let n = blocks * order.lanes();
            let (xf, yf) = (rng.floats(n), rng.floats(n));
            let (x, y) = (quantized(GgmlType::F16, &xf), quantized(GgmlType::F16, &yf));
            let fast = ferrocodex_quant::f16_dot_ordered(order, &x, &y);
            let reference = ferrocodex_quant::scalar::f16_dot_ordered(order, &x, &y);
            prop_assert_eq!(fast.to_bits(), reference.to_bits(), "{:?}", order);
            let h = |b: &[u8], i: usize| half::f16::from_le_bytes([b[2 * i], b[2 * i + 1]]).to_f64();
            let exact: f64 = (0..n).map(|i| h(&x, i) * h(&y, i)).sum();
            let scale: f64 = (0..n).map(|i| (h(&x, i) * h(&y, i)).abs()).sum::<f64>() + 1e-30;
            prop_assert!((fast as f64 - exact).abs() <= 1e-5 * scale, "{:?}: {} vs {}", order, fast, exact);
            // Many rows at a stride give each pair's bits (three keys and three queries: the
            // kernel's pairs and a row left over on both sides).
            let z = quantized(GgmlType::F16, &rng.floats(n));
            let pad = vec![0u8; 2 * order.lanes()];
            let keys: Vec<u8> = [&x, &pad, &y, &pad, &z].into_iter().flatten().copied().collect();
            let queries: Vec<u8> = [y.clone(), x.clone(), z.clone()].concat();
            let mut out = vec![0f32; 9];
            ferrocodex_quant::f16_dot_ordered_many(order, n, &keys, n + order.lanes(), 3, &queries, &mut out);
            let mut want = Vec::new();
            for key in [&x, &y, &z] {
                for query in [&y, &x, &z] {
                    want.push(ferrocodex_quant::f16_dot_ordered(order, key, query).to_bits());
                }
            }
            prop_assert_eq!(out.map_bits(), want);
        }
    }
}

trait MapBits {
    fn map_bits(&self) -> Vec<u32>;
}

impl MapBits for Vec<f32> {
    fn map_bits(&self) -> Vec<u32> {
        self.iter().map(|v| v.to_bits()).collect()
    }
}

/// The lane trees add in the reference's order: checked on values where any other order
/// would round differently.
#[test]
fn lane_reduction_trees_follow_the_reference_order() {
    use ferrocodex_quant::scalar::{reduce_lanes32, reduce_lanes8};
    // 1 + 2^-24 is lost when added to 1 alone but kept when two of them are added first.
    let e = f32::EPSILON / 2.0;
    let mut x = [0f32; 8];
    x[0] = 1.0;
    x[4] = e; // paired with lane 0 first: lost
    x[2] = e;
    x[6] = e; // lanes 2 + 6 = 2e, then onto 1 + e: kept as 1 + 2e
    assert_eq!(reduce_lanes8(&x), (((1.0f32 + e) + (e + e)) + 0.0));
    let mut y = [0f32; 32];
    y[0] = 1.0;
    y[16] = e;
    y[8] = e;
    y[24] = e;
    assert_eq!(reduce_lanes32(&y), (1.0f32 + e) + (e + e));
}

