//! The element-wise building blocks of the decoder: norms, activations, rotary embeddings and
//! softmax. Each follows the reference implementation's arithmetic (sums of squares in double
//! precision, GELU through half precision, rope angles built by repeated multiplication) so
//! that logits agree with it to the last few bits.

use half::f16;

/// RMSNorm in place: x ← x / √(mean(x²) + eps) · w.
pub fn rms_norm(x: &mut [f32], w: &[f32], eps: f32) {
    let sum: f64 = x.iter().map(|&v| (v * v) as f64).sum();
    let mean = (sum / x.len() as f64) as f32;
    let scale = 1.0 / (mean + eps).sqrt();
    for (v, &g) in x.iter_mut().zip(w) {
        *v = (*v * scale) * g;
    }
}

/// LayerNorm in place: x ← (x − mean) / √(var + eps) · w + b.
pub fn layer_norm(x: &mut [f32], w: &[f32], b: Option<&[f32]>, eps: f32) {
    let n = x.len() as f64;
    let mean = (x.iter().map(|&v| v as f64).sum::<f64>() / n) as f32;
    let mut sum2 = 0f64;
    for v in x.iter_mut() {
        *v -= mean;
        sum2 += (*v * *v) as f64;
    }
    let scale = 1.0 / ((sum2 / n) as f32 + eps).sqrt();
    for (i, v) in x.iter_mut().enumerate() {
        *v = (*v * scale) * w[i] + b.map_or(0.0, |b| b[i]);
    }
}

const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const GELU_COEF_A: f32 = 0.044715;

/// GELU with the tanh approximation, evaluated as the reference does: the input rounded to
/// half precision, the result rounded to half precision, and the identity/zero beyond ±10.
/// The result depends only on the input's half-precision bits, so it comes from a table of
/// all 65,536 of them, built on first use.
pub fn gelu(x: f32) -> f32 {
    if x <= -10.0 {
        0.0
    } else if x >= 10.0 {
        x
    } else {
        gelu_table()[f16::from_f32(x).to_bits() as usize]
    }
}

fn gelu_table() -> &'static [f32] {
    static TABLE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| (0..=u16::MAX).map(|b| gelu_of_half(f16::from_bits(b))).collect())
}

fn gelu_of_half(h: f16) -> f32 {
    let h = h.to_f32();
    // `1 + a·h·h` as the reference build contracts it: one fused multiply-add.
    let inner = (GELU_COEF_A * h).mul_add(h, 1.0);
    let y = 0.5 * h * (1.0 + (SQRT_2_OVER_PI * h * inner).tanh());
    f16::from_f32(y).to_f32()
}

/// SiLU: x·σ(x).
pub fn silu(x: f32) -> f32 {
    x / (1.0 + (-x).exp())
}

/// The (cos, sin) pairs of rotary embedding for one position: angle_i = scale · pos · base^(−2i/d),
/// built by repeated multiplication in single precision as the reference does (`scale` is the
/// linear position scaling, 1 for none).
pub fn rope_angles(pos: usize, rope_dim: usize, base: f32, scale: f32, out: &mut Vec<(f32, f32)>) {
    out.clear();
    let theta_scale = base.powf(-2.0 / rope_dim as f32);
    let mut theta = pos as f32;
    for _ in 0..rope_dim / 2 {
        let t = scale * theta;
        out.push((t.cos(), t.sin()));
        theta *= theta_scale;
    }
}

/// Whether the CPU has fused multiply-add and AVX2 instructions (checked once). The functions
/// here that use `mul_add` run a copy compiled with them where it does; elsewhere `mul_add` is
/// the library's exact but slower fused multiply-add. The results are the same bits either way.
/// `with_fma!(body(arg: Type, ...))`: calls the `#[inline(always)]` function `body` through a
/// copy compiled with FMA instructions when [`has_fma`], else directly.
macro_rules! with_fma {
    ($body:ident($($arg:ident: $ty:ty),*)) => {
        with_fma!($body($($arg: $ty),*) -> ())
    };
    ($body:ident($($arg:ident: $ty:ty),*) -> $ret:ty) => {{
        #[cfg(target_arch = "x86_64")]
        if has_fma() {
            #[target_feature(enable = "avx2,fma")]
            unsafe fn fast($($arg: $ty),*) -> $ret {
                $body($($arg),*)
            }
            // SAFETY: the CPU has FMA.
            return unsafe { fast($($arg),*) };
        }
        $body($($arg),*)
    }};
}

#[cfg(target_arch = "x86_64")]
fn has_fma() -> bool {
    static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS.get_or_init(|| {
        std::arch::is_x86_feature_detected!("fma") && std::arch::is_x86_feature_detected!("avx2")
    })
}

/// One rotated pair, (x0·cos − x1·sin, x0·sin + x1·cos), with the reference build's fused
/// multiply-adds (the second product of each is rounded first), so that the bits match.
#[inline(always)]
fn rope_pair(x0: f32, x1: f32, c: f32, s: f32) -> (f32, f32) {
    (x0.mul_add(c, -(x1 * s)), x0.mul_add(s, x1 * c))
}

/// Rotates one head in place, pairing split halves (x[i], x[i + d/2]).
pub fn rope_halves(head: &mut [f32], angles: &[(f32, f32)]) {
    with_fma!(rope_halves_body(head: &mut [f32], angles: &[(f32, f32)]))
}

#[inline(always)]
fn rope_halves_body(head: &mut [f32], angles: &[(f32, f32)]) {
    let half = angles.len();
    for (i, &(c, s)) in angles.iter().enumerate() {
        let x0 = head[i];
        let x1 = head[i + half];
        let (a, b) = rope_pair(x0, x1, c, s);
        head[i] = a;
        head[i + half] = b;
    }
}

/// Rotates one head in place, pairing adjacent dimensions (x[2i], x[2i+1]).
pub fn rope_adjacent(head: &mut [f32], angles: &[(f32, f32)]) {
    with_fma!(rope_adjacent_body(head: &mut [f32], angles: &[(f32, f32)]))
}

#[inline(always)]
fn rope_adjacent_body(head: &mut [f32], angles: &[(f32, f32)]) {
    for (i, &(c, s)) in angles.iter().enumerate() {
        let x0 = head[2 * i];
        let x1 = head[2 * i + 1];
        let (a, b) = rope_pair(x0, x1, c, s);
        head[2 * i] = a;
        head[2 * i + 1] = b;
    }
}

/// Softmax in place; the normaliser is summed in double precision.
pub fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0f64;
    for v in x.iter_mut() {
        *v = (*v - max).exp();
        sum += *v as f64;
    }
    let inv = (1.0 / sum) as f32;
    for v in x.iter_mut() {
        *v *= inv;
    }
}

/// eˣ as the reference's vectorised `ggml_v_expf` computes it (a degree-5 polynomial after
/// range reduction, every step a float operation or fused multiply-add): within about one
/// ulp of the true value, and bit for bit what the reference's attention softmax produces.
#[inline(always)]
pub fn exp_ref(x: f32) -> f32 {
    let f = f32::from_bits;
    let ExpParts { n, e, k, j } = exp_parts(x);
    if n.abs() <= 126.0 {
        return j.mul_add(k, k);
    }
    // 2ⁿ out of the normal range: split into two factors (or saturate).
    let g: i32 = if n <= 0.0 { 0x8200_0000u32 as i32 } else { 0 };
    let s1 = f(g.wrapping_add(0x7f00_0000) as u32);
    if n.abs() > 192.0 {
        return s1 * s1;
    }
    let s2 = f(e.wrapping_sub(g) as u32);
    s2.mul_add(j, s2) * s1
}

/// The steps of [`exp_ref`]: eˣ = 2ⁿ·(1 + j) with `k` = 2ⁿ built from the exponent bits `e`
/// (valid as it stands while |n| ≤ 126).
struct ExpParts {
    n: f32,
    e: i32,
    k: f32,
    j: f32,
}

#[inline(always)]
fn exp_parts(x: f32) -> ExpParts {
    let f = f32::from_bits;
    let r = f(0x4b40_0000); // 1.5 · 2²³
    let z = x.mul_add(f(0x3fb8_aa3b), r); // x·log2(e) + r: n in the low bits
    let n = z - r;
    let b = (-n).mul_add(f(0x35bf_be8e), (-n).mul_add(f(0x3f31_7200), x)); // x − n·ln 2
    let e = (z.to_bits() as i32).wrapping_shl(23);
    let k = f((e.wrapping_add(1f32.to_bits() as i32)) as u32); // 2ⁿ
    let u = b * b;
    let j = f(0x3c07_2010)
        .mul_add(b, f(0x3d2b_9f17))
        .mul_add(u, f(0x3e2a_af33).mul_add(b, f(0x3eff_fedb)))
        .mul_add(u, f(0x3f7f_fff6) * b);
    ExpParts { n, e, k, j }
}

/// [`exp_ref`] for x ≥ −87 (where it needs no range fix-up), without branches so that loops
/// over it vectorise; smaller x are taken as −87 (e⁻⁸⁷ ≈ 1.6·10⁻³⁸).
#[inline(always)]
fn exp_normal(x: f32) -> f32 {
    let ExpParts { k, j, .. } = exp_parts(x.max(-87.0));
    j.mul_add(k, k)
}

/// The largest element of `x` (−∞ for an empty slice; `x` holds no NaN).
pub fn max_value(x: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..8 {
            lanes[l] = if c[l] > lanes[l] { c[l] } else { lanes[l] };
        }
    }
    rest.iter().chain(&lanes).copied().fold(f32::NEG_INFINITY, f32::max)
}

/// `out[i] = exp((x[i] − shift) / div)` (within about an ulp, as [`exp_ref`]) for every i
/// where that is at least e⁻⁸⁷; smaller results are not accurate, and callers drop them.
pub fn exp_scaled(x: &[f32], shift: f32, div: f32, out: &mut [f32]) {
    assert_eq!(x.len(), out.len(), "exp_scaled: lengths");
    with_fma!(exp_scaled_body(x: &[f32], shift: f32, div: f32, out: &mut [f32]))
}

#[inline(always)]
fn exp_scaled_body(x: &[f32], shift: f32, div: f32, out: &mut [f32]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = exp_normal((v - shift) / div);
    }
}

/// Σ exp((x[i] − shift) / div) over the elements with x[i] > `floor`, each term as
/// [`exp_scaled`] gives it, summed in double precision; `floor` must be at least
/// `shift − 87·div` (the terms left out are then below e⁻⁸⁷ each).
pub fn exp_sum_above(x: &[f32], shift: f32, div: f32, floor: f32) -> f64 {
    with_fma!(exp_sum_above_body(x: &[f32], shift: f32, div: f32, floor: f32) -> f64)
}

#[inline(always)]
fn exp_sum_above_body(x: &[f32], shift: f32, div: f32, floor: f32) -> f64 {
    // The terms a chunk at a time in single precision (a loop that vectorises), then added
    // into 8 double-precision lanes.
    const CHUNK: usize = 256;
    let mut terms = [0f32; CHUNK];
    let mut lanes = [0f64; 8];
    for c in x.chunks(CHUNK) {
        let terms = &mut terms[..c.len()];
        for (t, &v) in terms.iter_mut().zip(c) {
            let e = exp_normal((v - shift) / div);
            *t = if v > floor { e } else { 0.0 };
        }
        let groups = terms.chunks_exact(8);
        let rest = groups.remainder();
        for g in groups {
            for l in 0..8 {
                lanes[l] += g[l] as f64;
            }
        }
        for (l, &t) in rest.iter().enumerate() {
            lanes[l] += t as f64;
        }
    }
    lanes.iter().sum()
}

/// Attention softmax over the scores of one query, in place, computed as the reference does
/// for a row of key/value cells: `x` holds the scores of cells `first..first + x.len()`
/// (every other cell of the row is masked out), the exponentials come from [`exp_ref`], and
/// the normaliser sums each aligned group of 8 cells in single precision
/// ([`ferrocodex_quant::scalar::reduce_lanes8`]) and the groups in double precision.
pub fn softmax_cells(x: &mut [f32], first: usize) {
    with_fma!(softmax_cells_body(x: &mut [f32], first: usize))
}

#[inline(always)]
fn softmax_cells_body(x: &mut [f32], first: usize) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for v in x.iter_mut() {
        *v = exp_ref(*v - max);
    }
    let mut sum = 0f64;
    let end = first + x.len();
    let mut group = first / 8 * 8;
    while group < end {
        let mut lanes = [0f32; 8];
        for (l, lane) in lanes.iter_mut().enumerate() {
            let cell = group + l;
            if cell >= first && cell < end {
                *lane = x[cell - first];
            }
        }
        sum += ferrocodex_quant::scalar::reduce_lanes8(&lanes) as f64;
        group += 8;
    }
    let inv = (1.0 / sum) as f32;
    for v in x.iter_mut() {
        *v *= inv;
    }
}

/// log-softmax of a logits row, into `out`.
pub fn log_softmax(x: &[f32], out: &mut Vec<f32>) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = x.iter().map(|&v| ((v - max) as f64).exp()).sum();
    let lse = max as f64 + sum.ln();
    out.clear();
    out.extend(x.iter().map(|&v| (v as f64 - lse) as f32));
}

/// Index of the largest logit, the first on ties (greedy decoding; numpy's argmax agrees).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_ref_is_within_two_ulps_of_exp() {
        // Normal results; below about −87.3 they are subnormal and only absolutely small.
        let mut x = -87.0f32;
        while x < 88.0 {
            let (got, want) = (exp_ref(x), (x as f64).exp());
            let ulp = (want as f32).abs() * f32::EPSILON;
            assert!((got as f64 - want).abs() <= 2.0 * ulp as f64 + 1e-45, "exp({x}) = {got}, want {want}");
            x += 0.0137;
        }
        assert_eq!(exp_ref(0.0), 1.0);
        assert!(exp_ref(-100.0) < 1e-40 && exp_ref(-100.0) >= 0.0);
        assert_eq!(exp_ref(f32::NEG_INFINITY), 0.0);
    }

    #[test]
    fn vector_exp_helpers_agree_with_exp_ref() {
        // Logits-like values: a spread of 60 around 3, with one clear maximum and ties.
        let x: Vec<f32> = (0..1003)
            .map(|i| 3.0 + 30.0 * ((i as f32) * 0.713).sin() - (i % 7) as f32 * 0.25)
            .collect();
        let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        assert_eq!(max_value(&x), max);
        assert_eq!(max_value(&x[..5]), x[..5].iter().copied().fold(f32::NEG_INFINITY, f32::max));
        assert_eq!(max_value(&[]), f32::NEG_INFINITY);

        let mut out = vec![0.0; x.len()];
        exp_scaled(&x, max, 0.8, &mut out);
        for (&v, &o) in x.iter().zip(&out) {
            let want = exp_ref((v - max) / 0.8);
            if want >= 1e-37 {
                assert_eq!(o, want, "exp((x - max) / t) at x = {v}");
            } else {
                assert!(o < 1e-37);
            }
        }

        let floor = max - 40.0;
        let got = exp_sum_above(&x, max, 1.0, floor);
        let want: f64 = x.iter().filter(|&&v| v > floor).map(|&v| ((v - max) as f64).exp()).sum();
        assert!((got - want).abs() <= want * 1e-6, "{got} vs {want}");
        let got = exp_sum_above(&x, max, 0.8, floor);
        let want: f64 = x.iter().zip(&out).filter(|(&v, _)| v > floor).map(|(_, &o)| o as f64).sum();
        assert!((got - want).abs() <= want * 1e-12, "{got} vs {want}");
        assert_eq!(exp_sum_above(&x, max, 1.0, f32::INFINITY), 0.0);
    }

    #[test]
    fn softmax_cells_sums_to_one_and_matches_softmax() {
        let scores: Vec<f32> = (0..21).map(|i| ((i * 7) % 11) as f32 * 0.3 - 1.0).collect();
        let (mut a, mut b) = (scores.clone(), scores);
        softmax_cells(&mut a, 5);
        softmax(&mut b);
        assert!((a.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= 2e-7, "{x} vs {y}");
        }
    }

    #[test]
    fn rms_norm_unit_weights_gives_unit_rms() {
        let mut x = vec![3.0, -4.0, 0.0, 12.0];
        rms_norm(&mut x, &[1.0; 4], 0.0);
        let rms = (x.iter().map(|v| v * v).sum::<f32>() / 4.0).sqrt();
        assert!((rms - 1.0).abs() < 1e-6);
    }

    #[test]
    fn layer_norm_centres_and_scales() {
        let mut x = vec![1.0, 2.0, 3.0, 4.0];
        layer_norm(&mut x, &[2.0; 4], Some(&[1.0; 4]), 0.0);
        let mean: f32 = x.iter().sum::<f32>() / 4.0;
        assert!((mean - 1.0).abs() < 1e-6);
        assert!((x[3] - x[0] - 2.0 * 3.0 / 1.25f32.sqrt()).abs() < 1e-5);
    }

    #[test]
    fn gelu_matches_tanh_formula_within_half_precision() {
        for &x in &[-3.0f32, -0.5, 0.0, 0.1, 1.0, 2.5, 9.0] {
            let exact = 0.5 * x * (1.0 + (SQRT_2_OVER_PI * (x + GELU_COEF_A * x * x * x)).tanh());
            assert!((gelu(x) - exact).abs() <= 1e-2 * (1.0 + exact.abs()), "{x}");
        }
        assert_eq!(gelu(-11.0), 0.0);
        // The table holds exactly what the formula gives.
        for x in [-9.99f32, -3.2, -0.5, -1e-3, 0.0, 1e-4, 0.7, 2.5, 9.99] {
            assert_eq!(gelu(x), gelu_of_half(f16::from_f32(x)), "{x}");
        }
        assert_eq!(gelu(12.0), 12.0);
    }

    #[test]
    fn rope_preserves_norm_and_position_zero_is_identity() {
        let mut angles = Vec::new();
        rope_angles(0, 8, 10_000.0, 1.0, &mut angles);
        let orig = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let mut h = orig.clone();
        rope_halves(&mut h, &angles);
        assert_eq!(h, orig);
        rope_angles(17, 8, 10_000.0, 1.0, &mut angles);
        rope_adjacent(&mut h, &angles);
        let n0: f32 = orig.iter().map(|v| v * v).sum();
        let n1: f32 = h.iter().map(|v| v * v).sum();
        assert!((n0 - n1).abs() < 1e-3);
        assert_ne!(h, orig);
    }

    #[test]
    fn softmax_sums_to_one() {
        let mut x = vec![1.0, 2.0, 3.0, -1e30];
        softmax(&mut x);
        assert!((x.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(x[3], 0.0);
        let mut lp = Vec::new();
        log_softmax(&[0.0, 0.0], &mut lp);
        assert!((lp[0] - (0.5f32).ln()).abs() < 1e-6);
    }
}
