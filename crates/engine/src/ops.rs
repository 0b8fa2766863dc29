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
    let y = 0.5 * h * (1.0 + (SQRT_2_OVER_PI * h * (1.0 + GELU_COEF_A * h * h)).tanh());
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

/// Rotates one head in place, pairing split halves (x[i], x[i + d/2]).
pub fn rope_halves(head: &mut [f32], angles: &[(f32, f32)]) {
    let half = angles.len();
    for (i, &(c, s)) in angles.iter().enumerate() {
        let x0 = head[i];
        let x1 = head[i + half];
        head[i] = x0 * c - x1 * s;
        head[i + half] = x0 * s + x1 * c;
    }
}

/// Rotates one head in place, pairing adjacent dimensions (x[2i], x[2i+1]).
pub fn rope_adjacent(head: &mut [f32], angles: &[(f32, f32)]) {
    for (i, &(c, s)) in angles.iter().enumerate() {
        let x0 = head[2 * i];
        let x1 = head[2 * i + 1];
        head[2 * i] = x0 * c - x1 * s;
        head[2 * i + 1] = x0 * s + x1 * c;
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
