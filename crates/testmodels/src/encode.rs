//! Encoders from f32 values to the bytes of each ggml tensor type.
//!
//! These are deliberately simple (min/max scales, round to nearest) rather than ggml's
//! search-based quantizers: the test models only need *valid* blocks whose dequantized values
//! are close to the f32 weights, and a simple rule that never changes keeps the files — and so
//! the llama.cpp goldens made from them — byte-stable. The block layouts are ggml's.

use ferrocodex_gguf::GgmlType;

/// f32 → IEEE half, round to nearest even.
pub fn f32_to_f16(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let exp = ((b >> 23) & 0xff) as i32;
    let man = b & 0x007f_ffff;
    if exp == 255 {
        return sign | 0x7c00 | if man != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 31 {
        return sign | 0x7c00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        let m = man | 0x0080_0000;
        let shift = (14 - e) as u32;
        let half = 1u32 << (shift - 1);
        let rem = m & ((1u32 << shift) - 1);
        let mut r = m >> shift;
        if rem > half || (rem == half && (r & 1) == 1) {
            r += 1;
        }
        return sign | r as u16;
    }
    let mut r = ((e as u32) << 10) | (man >> 13);
    let rem = man & 0x1fff;
    if rem > 0x1000 || (rem == 0x1000 && (r & 1) == 1) {
        r += 1;
    }
    sign | r as u16
}

/// IEEE half → f32 (exact).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h as u32) & 0x8000) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let bits = match exp {
        0 if man == 0 => sign,
        0 => {
            // subnormal: normalise
            let mut e: i32 = -14;
            let mut m = man;
            while m & 0x400 == 0 {
                m <<= 1;
                e -= 1;
            }
            sign | (((e + 127) as u32) << 23) | ((m & 0x3ff) << 13)
        }
        31 => sign | 0x7f80_0000 | (man << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

/// f32 → bfloat16, round to nearest even (as ggml does).
pub fn f32_to_bf16(x: f32) -> u16 {
    let b = x.to_bits();
    if (b & 0x7fff_ffff) > 0x7f80_0000 {
        return ((b >> 16) | 64) as u16;
    }
    ((b + (0x7fff + ((b >> 16) & 1))) >> 16) as u16
}

fn put_f16(out: &mut Vec<u8>, x: f32) -> f32 {
    let h = f32_to_f16(x);
    out.extend_from_slice(&h.to_le_bytes());
    f16_to_f32(h)
}

/// Encodes `values` (whole rows) as `t`. Panics if `t` is not one this crate writes or the
/// length is not a whole number of blocks.
pub fn encode(t: GgmlType, values: &[f32]) -> Vec<u8> {
    let bs = t.block_elems() as usize;
    assert_eq!(
        values.len() % bs,
        0,
        "{t}: {} values are not whole blocks",
        values.len()
    );
    let mut out = Vec::with_capacity((values.len() / bs) * t.block_bytes() as usize);
    match t {
        GgmlType::F32 => values.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        GgmlType::F16 => values
            .iter()
            .for_each(|v| out.extend_from_slice(&f32_to_f16(*v).to_le_bytes())),
        GgmlType::BF16 => values
            .iter()
            .for_each(|v| out.extend_from_slice(&f32_to_bf16(*v).to_le_bytes())),
        GgmlType::Q8_0 => values.chunks_exact(32).for_each(|b| q8_0(b, &mut out)),
        GgmlType::Q4_0 => values.chunks_exact(32).for_each(|b| q4_0(b, &mut out)),
        GgmlType::Q5_0 => values.chunks_exact(32).for_each(|b| q5_0(b, &mut out)),
        GgmlType::Q4_K => values.chunks_exact(256).for_each(|b| qk_asym(b, 4, &mut out)),
        GgmlType::Q5_K => values.chunks_exact(256).for_each(|b| qk_asym(b, 5, &mut out)),
        GgmlType::Q6_K => values.chunks_exact(256).for_each(|b| q6_k(b, &mut out)),
        other => panic!("the test models do not write {other}"),
    }
    debug_assert_eq!(out.len() as u64, t.bytes_for(values.len() as u64).unwrap());
    out
}

/// The element of largest magnitude, with its sign (the first one on ties).
fn signed_absmax(x: &[f32]) -> f32 {
    let mut m = 0f32;
    for &v in x {
        if v.abs() > m.abs() {
            m = v;
        }
    }
    m
}

fn q8_0(x: &[f32], out: &mut Vec<u8>) {
    let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    let d = put_f16(out, amax / 127.0);
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    for &v in x {
        out.push((v * id).round().clamp(-127.0, 127.0) as i8 as u8);
    }
}

fn q4_0(x: &[f32], out: &mut Vec<u8>) {
    let d = put_f16(out, signed_absmax(x) / -8.0);
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let q = |v: f32| ((v * id + 8.5).max(0.0) as u32).min(15) as u8;
    for j in 0..16 {
        out.push(q(x[j]) | (q(x[j + 16]) << 4));
    }
}

fn q5_0(x: &[f32], out: &mut Vec<u8>) {
    let d = put_f16(out, signed_absmax(x) / -16.0);
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let q: Vec<u32> = x.iter().map(|&v| ((v * id + 16.5).max(0.0) as u32).min(31)).collect();
    let mut qh = 0u32;
    for (j, &v) in q.iter().enumerate() {
        qh |= ((v >> 4) & 1) << j;
    }
    out.extend_from_slice(&qh.to_le_bytes());
    for j in 0..16 {
        out.push(((q[j] & 0xf) | ((q[j + 16] & 0xf) << 4)) as u8);
    }
}

/// Q4_K (bits = 4) and Q5_K (bits = 5): 8 sub-blocks of 32 with 6-bit scales and mins.
fn qk_asym(x: &[f32], bits: u32, out: &mut Vec<u8>) {
    let levels = ((1u32 << bits) - 1) as f32;
    let mut scale = [0f32; 8];
    let mut minv = [0f32; 8];
    for j in 0..8 {
        let sb = &x[32 * j..32 * j + 32];
        let lo = sb.iter().fold(0f32, |m, &v| m.min(v));
        let hi = sb.iter().fold(f32::MIN, |m, &v| m.max(v));
        scale[j] = (hi - lo) / levels;
        minv[j] = -lo;
    }
    let max_scale = scale.iter().fold(0f32, |m, &v| m.max(v));
    let max_min = minv.iter().fold(0f32, |m, &v| m.max(v));
    let d = put_f16(out, max_scale / 63.0);
    let dmin = put_f16(out, max_min / 63.0);
    let mut ls = [0u8; 8];
    let mut lm = [0u8; 8];
    for j in 0..8 {
        ls[j] = if d > 0.0 {
            (scale[j] / d).round().clamp(0.0, 63.0) as u8
        } else {
            0
        };
        lm[j] = if dmin > 0.0 {
            (minv[j] / dmin).round().clamp(0.0, 63.0) as u8
        } else {
            0
        };
    }
    let mut scales = [0u8; 12];
    for j in 0..8 {
        if j < 4 {
            scales[j] = ls[j];
            scales[j + 4] = lm[j];
        } else {
            scales[j + 4] = (ls[j] & 0xf) | ((lm[j] & 0xf) << 4);
            scales[j - 4] |= (ls[j] >> 4) << 6;
            scales[j] |= (lm[j] >> 4) << 6;
        }
    }
    out.extend_from_slice(&scales);
    let mut q = [0u8; 256];
    for (i, &v) in x.iter().enumerate() {
        let j = i / 32;
        let sc = d * ls[j] as f32;
        let m = dmin * lm[j] as f32;
        q[i] = if sc > 0.0 {
            ((v + m) / sc).round().clamp(0.0, levels) as u8
        } else {
            0
        };
    }
    if bits == 5 {
        let mut qh = [0u8; 32];
        for c in 0..4 {
            for l in 0..32 {
                qh[l] |= ((q[64 * c + l] >> 4) & 1) << (2 * c);
                qh[l] |= ((q[64 * c + 32 + l] >> 4) & 1) << (2 * c + 1);
            }
        }
        out.extend_from_slice(&qh);
    }
    for c in 0..4 {
        for l in 0..32 {
            out.push((q[64 * c + l] & 0xf) | ((q[64 * c + 32 + l] & 0xf) << 4));
        }
    }
}

/// Q6_K: 16 sub-blocks of 16 with signed 8-bit scales.
fn q6_k(x: &[f32], out: &mut Vec<u8>) {
    let mut scale = [0f32; 16];
    for j in 0..16 {
        scale[j] = x[16 * j..16 * j + 16].iter().fold(0f32, |m, v| m.max(v.abs())) / 31.0;
    }
    let max_scale = scale.iter().fold(0f32, |m, &v| m.max(v));
    let d = f16_to_f32(f32_to_f16(max_scale / 127.0));
    let mut sc = [0i8; 16];
    for j in 0..16 {
        sc[j] = if d > 0.0 {
            (scale[j] / d).round().clamp(0.0, 127.0) as i8
        } else {
            0
        };
    }
    let mut q = [0u8; 256];
    for (i, &v) in x.iter().enumerate() {
        let s = d * sc[i / 16] as f32;
        q[i] = if s > 0.0 {
            ((v / s).round() + 32.0).clamp(0.0, 63.0) as u8
        } else {
            32
        };
    }
    let mut ql = [0u8; 128];
    let mut qh = [0u8; 64];
    for n in 0..2 {
        let base = 128 * n;
        for l in 0..32 {
            let (q1, q2, q3, q4) = (q[base + l], q[base + l + 32], q[base + l + 64], q[base + l + 96]);
            ql[64 * n + l] = (q1 & 0xf) | ((q3 & 0xf) << 4);
            ql[64 * n + l + 32] = (q2 & 0xf) | ((q4 & 0xf) << 4);
            qh[32 * n + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
        }
    }
    out.extend_from_slice(&ql);
    out.extend_from_slice(&qh);
    out.extend(sc.iter().map(|&s| s as u8));
    out.extend_from_slice(&f32_to_f16(d).to_le_bytes());
}

/// Dequantizes bytes written by [`encode`] (ggml's formulas), so the tests can check that every
/// encoder round-trips within its precision.
pub fn decode(t: GgmlType, bytes: &[u8]) -> Vec<f32> {
    let h = |b: &[u8], i: usize| f16_to_f32(u16::from_le_bytes([b[i], b[i + 1]]));
    let mut out = Vec::new();
    match t {
        GgmlType::F32 => bytes
            .chunks_exact(4)
            .for_each(|b| out.push(f32::from_le_bytes(b.try_into().unwrap()))),
        GgmlType::F16 => bytes.chunks_exact(2).for_each(|b| out.push(h(b, 0))),
        GgmlType::BF16 => bytes
            .chunks_exact(2)
            .for_each(|b| out.push(f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16))),
        GgmlType::Q8_0 => bytes.chunks_exact(34).for_each(|b| {
            let d = h(b, 0);
            out.extend(b[2..].iter().map(|&q| d * (q as i8) as f32));
        }),
        GgmlType::Q4_0 => bytes.chunks_exact(18).for_each(|b| {
            let d = h(b, 0);
            let qs = &b[2..];
            out.extend(qs.iter().map(|&q| d * ((q & 0xf) as f32 - 8.0)));
            out.extend(qs.iter().map(|&q| d * ((q >> 4) as f32 - 8.0)));
        }),
        GgmlType::Q5_0 => bytes.chunks_exact(22).for_each(|b| {
            let d = h(b, 0);
            let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
            let qs = &b[6..];
            for j in 0..32 {
                let lo = if j < 16 { qs[j] & 0xf } else { qs[j - 16] >> 4 } as u32;
                let q = lo | (((qh >> j) & 1) << 4);
                out.push(d * (q as f32 - 16.0));
            }
        }),
        GgmlType::Q4_K | GgmlType::Q5_K => {
            let five = t == GgmlType::Q5_K;
            bytes.chunks_exact(if five { 176 } else { 144 }).for_each(|b| {
                let (d, dmin) = (h(b, 0), h(b, 2));
                let sc = &b[4..16];
                let (qh, qs) = if five {
                    (&b[16..48], &b[48..176])
                } else {
                    (&b[0..0], &b[16..144])
                };
                for j in 0..8 {
                    let (s, m) = if j < 4 {
                        (sc[j] & 63, sc[j + 4] & 63)
                    } else {
                        (
                            (sc[j + 4] & 0xf) | ((sc[j - 4] >> 6) << 4),
                            (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4),
                        )
                    };
                    let c = j / 2;
                    for l in 0..32 {
                        let byte = qs[32 * c + l];
                        let mut q = if j % 2 == 0 { byte & 0xf } else { byte >> 4 };
                        if five && (qh[l] >> j) & 1 == 1 {
                            q += 16;
                        }
                        out.push(d * s as f32 * q as f32 - dmin * m as f32);
                    }
                }
            })
        }
        GgmlType::Q6_K => bytes.chunks_exact(210).for_each(|b| {
            let (ql, qh, sc) = (&b[0..128], &b[128..192], &b[192..208]);
            let d = h(b, 208);
            let mut y = [0f32; 256];
            for n in 0..2 {
                for l in 0..32 {
                    let is = l / 16;
                    let q1 = ((ql[64 * n + l] & 0xf) | ((qh[32 * n + l] & 3) << 4)) as i32 - 32;
                    let q2 = ((ql[64 * n + l + 32] & 0xf) | (((qh[32 * n + l] >> 2) & 3) << 4)) as i32 - 32;
                    let q3 = ((ql[64 * n + l] >> 4) | (((qh[32 * n + l] >> 4) & 3) << 4)) as i32 - 32;
                    let q4 = ((ql[64 * n + l + 32] >> 4) | (((qh[32 * n + l] >> 6) & 3) << 4)) as i32 - 32;
                    let s = |k: usize| sc[8 * n + is + k] as i8 as f32;
                    y[128 * n + l] = d * s(0) * q1 as f32;
                    y[128 * n + l + 32] = d * s(2) * q2 as f32;
                    y[128 * n + l + 64] = d * s(4) * q3 as f32;
                    y[128 * n + l + 96] = d * s(6) * q4 as f32;
                }
            }
            out.extend_from_slice(&y);
        }),
        other => panic!("decode: {other} not supported"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn f16_conversion_matches_known_values() {
        assert_eq!(f32_to_f16(1.0), 0x3c00);
        assert_eq!(f32_to_f16(-2.0), 0xc000);
        assert_eq!(f32_to_f16(65504.0), 0x7bff);
        assert_eq!(f32_to_f16(1e6), 0x7c00);
        assert_eq!(f32_to_f16(5.960_464_5e-8), 0x0001);
        assert_eq!(f32_to_f16(0.1), 0x2e66);
        for h in 0u16..=0xffff {
            let f = f16_to_f32(h);
            if f.is_nan() {
                continue;
            }
            assert_eq!(f32_to_f16(f), h, "{h:#x}");
        }
        assert_eq!(f32_to_bf16(1.0), 0x3f80);
        assert_eq!(f32_to_bf16(f32::from_bits(0x3f80_8000)), 0x3f80); // tie to even
        assert_eq!(f32_to_bf16(f32::from_bits(0x3f81_8000)), 0x3f82);
    }

    #[test]
    fn every_type_round_trips_within_its_precision() {
        let mut r = SplitMix64::new(42);
        let x: Vec<f32> = (0..1024).map(|_| r.normal() * 0.05).collect();
        let rms = (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt();
        for (t, tol) in [
            (GgmlType::F32, 0.0),
            (GgmlType::F16, 0.001),
            (GgmlType::BF16, 0.005),
            (GgmlType::Q8_0, 0.01),
            (GgmlType::Q6_K, 0.03),
            (GgmlType::Q5_0, 0.05),
            (GgmlType::Q5_K, 0.05),
            (GgmlType::Q4_0, 0.1),
            (GgmlType::Q4_K, 0.1),
        ] {
            let bytes = encode(t, &x);
            assert_eq!(bytes.len() as u64, t.bytes_for(x.len() as u64).unwrap());
            let y = decode(t, &bytes);
            let err = (x.iter().zip(&y).map(|(a, b)| (a - b) * (a - b)).sum::<f32>() / x.len() as f32).sqrt();
            assert!(err <= tol * rms + 1e-12, "{t}: relative rms error {}", err / rms);
        }
    }
}
