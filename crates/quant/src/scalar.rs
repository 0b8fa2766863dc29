//! Plain reference versions of every conversion and dot product: the definition of each format.
//!
//! Each format is a run of fixed-size blocks (little-endian). Per block:
//!
//! | type | elems | bytes | layout | value of element i |
//! |---|---|---|---|---|
//! | Q8_0 | 32 | 34 | `d: f16, qs: [i8; 32]` | `d * qs[i]` |
//! | Q4_0 | 32 | 18 | `d: f16, qs: [u8; 16]` (elements 0..16 in the low nibbles, 16..32 in the high) | `d * (q - 8)` |
//! | Q5_0 | 32 | 22 | `d: f16, qh: u32` (bit i = 5th bit of element i), `qs: [u8; 16]` as Q4_0 | `d * (q - 16)` |
//! | Q4_K | 256 | 144 | `d, dmin: f16, scales: [u8; 12]` (8 pairs of 6-bit scale/min), `qs: [u8; 128]` | `d*sc[s]*q - dmin*m[s]`, s = i / 32 |
//! | Q5_K | 256 | 176 | Q4_K's fields plus `qh: [u8; 32]` before `qs` | as Q4_K with 5-bit q |
//! | Q6_K | 256 | 210 | `ql: [u8; 128], qh: [u8; 64], scales: [i8; 16], d: f16` | `d * sc[i / 16] * (q - 32)` |
//! | Q8_K | 256 | 292 | `d: f32, qs: [i8; 256], bsums: [i16; 16]` (sum of each 16 qs) | `d * qs[i]` |
//!
//! The dot products are computed the way ggml computes them: weights stay integers, the
//! activation row is quantized too (Q8_0 or Q8_K), products are summed exactly in i32 per block
//! (or sub-block) and only then scaled by the block's float scales. The SIMD kernels in the
//! `x86` module do the same integer maths, so they agree with these up to the order of the
//! float additions.
//!
//! All functions panic when a length does not match (`dst.len()` must equal
//! `t.bytes_for(src.len())`, and so on) or when the type has no implementation here; see
//! [`crate::is_supported`].

use crate::fp::{
    bf16_to_f32, f16_at, f16_to_f32, f32_at, f32_to_bf16, f32_to_f16, i16_at, nearest_int, u16_at,
    u32_at,
};
use crate::{bytes_for, GgmlType};

/// Elements per block of the 32-element formats (Q8_0, Q4_0, Q5_0).
pub const QK: usize = 32;
/// Elements per super-block of the k-quants (Q4_K, Q5_K, Q6_K, Q8_K).
pub const QK_K: usize = 256;

// Block sizes in bytes.
const Q8_0_BYTES: usize = 34;
const Q4_0_BYTES: usize = 18;
const Q5_0_BYTES: usize = 22;
const Q4_K_BYTES: usize = 144;
const Q5_K_BYTES: usize = 176;
const Q6_K_BYTES: usize = 210;
const Q8_K_BYTES: usize = 292;

/// Converts a row of f32 to `t`. Panics unless `dst.len() == t.bytes_for(src.len())` and `t`
/// is one of F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K, Q8_K.
pub fn quantize_row(t: GgmlType, src: &[f32], dst: &mut [u8]) {
    assert_eq!(
        dst.len(),
        bytes_for(t, src.len()),
        "quantize_row: {t} destination length"
    );
    match t {
        GgmlType::F32 => {
            for (x, o) in src.iter().zip(dst.chunks_exact_mut(4)) {
                o.copy_from_slice(&x.to_le_bytes());
            }
        }
        GgmlType::F16 => {
            for (x, o) in src.iter().zip(dst.chunks_exact_mut(2)) {
                o.copy_from_slice(&f32_to_f16(*x).to_le_bytes());
            }
        }
        GgmlType::BF16 => {
            for (x, o) in src.iter().zip(dst.chunks_exact_mut(2)) {
                o.copy_from_slice(&f32_to_bf16(*x).to_le_bytes());
            }
        }
        GgmlType::Q8_0 => each_block(src, dst, QK, Q8_0_BYTES, quantize_block_q8_0),
        GgmlType::Q4_0 => each_block(src, dst, QK, Q4_0_BYTES, quantize_block_q4_0),
        GgmlType::Q5_0 => each_block(src, dst, QK, Q5_0_BYTES, quantize_block_q5_0),
        GgmlType::Q4_K => each_block(src, dst, QK_K, Q4_K_BYTES, quantize_block_q4_k),
        GgmlType::Q5_K => each_block(src, dst, QK_K, Q5_K_BYTES, quantize_block_q5_k),
        GgmlType::Q6_K => each_block(src, dst, QK_K, Q6_K_BYTES, quantize_block_q6_k),
        GgmlType::Q8_K => each_block(src, dst, QK_K, Q8_K_BYTES, quantize_block_q8_k),
        _ => panic!("quantize_row: {t} is not supported"),
    }
}

/// Converts a row of `t` to f32. Panics unless `src.len() == t.bytes_for(dst.len())` and `t`
/// is one of the types [`quantize_row`] accepts.
pub fn dequantize_row(t: GgmlType, src: &[u8], dst: &mut [f32]) {
    assert_eq!(
        src.len(),
        bytes_for(t, dst.len()),
        "dequantize_row: {t} source length"
    );
    match t {
        GgmlType::F32 => {
            for (b, o) in src.chunks_exact(4).zip(dst.iter_mut()) {
                *o = f32_at(b, 0);
            }
        }
        GgmlType::F16 => {
            for (b, o) in src.chunks_exact(2).zip(dst.iter_mut()) {
                *o = f16_to_f32(u16_at(b, 0));
            }
        }
        GgmlType::BF16 => {
            for (b, o) in src.chunks_exact(2).zip(dst.iter_mut()) {
                *o = bf16_to_f32(u16_at(b, 0));
            }
        }
        GgmlType::Q8_0 => {
            for (b, y) in src.chunks_exact(Q8_0_BYTES).zip(dst.chunks_exact_mut(QK)) {
                let d = f16_at(b, 0);
                for (o, &q) in y.iter_mut().zip(&b[2..]) {
                    *o = d * (q as i8) as f32;
                }
            }
        }
        GgmlType::Q4_0 => {
            for (b, y) in src.chunks_exact(Q4_0_BYTES).zip(dst.chunks_exact_mut(QK)) {
                let d = f16_at(b, 0);
                let qs = &b[2..18];
                for j in 0..16 {
                    y[j] = d * ((qs[j] & 0xf) as i32 - 8) as f32;
                    y[j + 16] = d * ((qs[j] >> 4) as i32 - 8) as f32;
                }
            }
        }
        GgmlType::Q5_0 => {
            for (b, y) in src.chunks_exact(Q5_0_BYTES).zip(dst.chunks_exact_mut(QK)) {
                let d = f16_at(b, 0);
                let q = q5_0_values(b);
                for (o, &q) in y.iter_mut().zip(&q) {
                    *o = d * (q - 16) as f32;
                }
            }
        }
        GgmlType::Q4_K => {
            for (b, y) in src.chunks_exact(Q4_K_BYTES).zip(dst.chunks_exact_mut(QK_K)) {
                let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
                let (sc, m) = k_scales_mins(&b[4..16]);
                let q = q4_k_values(&b[16..144]);
                for (i, o) in y.iter_mut().enumerate() {
                    let s = i / 32;
                    *o = d * sc[s] as f32 * q[i] as f32 - dmin * m[s] as f32;
                }
            }
        }
        GgmlType::Q5_K => {
            for (b, y) in src.chunks_exact(Q5_K_BYTES).zip(dst.chunks_exact_mut(QK_K)) {
                let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
                let (sc, m) = k_scales_mins(&b[4..16]);
                let q = q5_k_values(&b[16..48], &b[48..176]);
                for (i, o) in y.iter_mut().enumerate() {
                    let s = i / 32;
                    *o = d * sc[s] as f32 * q[i] as f32 - dmin * m[s] as f32;
                }
            }
        }
        GgmlType::Q6_K => {
            for (b, y) in src.chunks_exact(Q6_K_BYTES).zip(dst.chunks_exact_mut(QK_K)) {
                let d = f16_at(b, 208);
                let q = q6_k_values(&b[0..128], &b[128..192]);
                for (i, o) in y.iter_mut().enumerate() {
                    let sc = b[192 + i / 16] as i8;
                    *o = d * sc as f32 * (q[i] - 32) as f32;
                }
            }
        }
        GgmlType::Q8_K => {
            for (b, y) in src.chunks_exact(Q8_K_BYTES).zip(dst.chunks_exact_mut(QK_K)) {
                let d = f32_at(b, 0);
                for (o, &q) in y.iter_mut().zip(&b[4..260]) {
                    *o = d * (q as i8) as f32;
                }
            }
        }
        _ => panic!("dequantize_row: {t} is not supported"),
    }
}

/// Dot product of one weight row `w` (type `t`, `n` elements) with one activation row `a` in
/// `crate::vec_dot_type(t)`. Panics on a length mismatch or an unsupported `t`.
pub fn vec_dot(t: GgmlType, n: usize, w: &[u8], a: &[u8]) -> f32 {
    assert_eq!(w.len(), bytes_for(t, n), "vec_dot: {t} weight row length");
    let at = crate::vec_dot_type(t);
    assert_eq!(
        a.len(),
        bytes_for(at, n),
        "vec_dot: {at} activation row length"
    );
    match t {
        // Float rows: a plain sum of products, accumulated in f64 as ggml's reference does.
        GgmlType::F32 => float_dot(
            w.chunks_exact(4).map(|b| f32_at(b, 0)),
            a.chunks_exact(4).map(|b| f32_at(b, 0)),
        ),
        GgmlType::F16 => float_dot(
            w.chunks_exact(2).map(|b| f16_at(b, 0)),
            a.chunks_exact(2).map(|b| f16_at(b, 0)),
        ),
        GgmlType::BF16 => float_dot(
            w.chunks_exact(2).map(|b| bf16_to_f32(u16_at(b, 0))),
            a.chunks_exact(2).map(|b| bf16_to_f32(u16_at(b, 0))),
        ),
        GgmlType::Q8_0 => dot_blocks(w, a, Q8_0_BYTES, Q8_0_BYTES, dot_block_q8_0),
        GgmlType::Q4_0 => dot_blocks(w, a, Q4_0_BYTES, Q8_0_BYTES, dot_block_q4_0),
        GgmlType::Q5_0 => dot_blocks(w, a, Q5_0_BYTES, Q8_0_BYTES, dot_block_q5_0),
        GgmlType::Q4_K => dot_blocks(w, a, Q4_K_BYTES, Q8_K_BYTES, dot_block_q4_k),
        GgmlType::Q5_K => dot_blocks(w, a, Q5_K_BYTES, Q8_K_BYTES, dot_block_q5_k),
        GgmlType::Q6_K => dot_blocks(w, a, Q6_K_BYTES, Q8_K_BYTES, dot_block_q6_k),
        _ => panic!("vec_dot: {t} is not supported"),
    }
}

fn float_dot(w: impl Iterator<Item = f32>, a: impl Iterator<Item = f32>) -> f32 {
    w.zip(a).map(|(x, y)| x as f64 * y as f64).sum::<f64>() as f32
}

/// Sums `dot(w_block, a_block)` over the blocks of a row.
fn dot_blocks(w: &[u8], a: &[u8], wb: usize, ab: usize, dot: fn(&[u8], &[u8]) -> f32) -> f32 {
    w.chunks_exact(wb)
        .zip(a.chunks_exact(ab))
        .map(|(w, a)| dot(w, a))
        .sum()
}

fn each_block(src: &[f32], dst: &mut [u8], elems: usize, bytes: usize, f: fn(&[f32], &mut [u8])) {
    for (x, y) in src.chunks_exact(elems).zip(dst.chunks_exact_mut(bytes)) {
        f(x, y);
    }
}

// ---------------------------------------------------------------------------------------------
// Unpacking helpers: the integer quants of one block, in element order.

/// The 32 five-bit values (0..32) of a Q5_0 block: low nibble or high nibble of `qs`, plus
/// bit i of `qh` as the fifth bit of element i.
fn q5_0_values(b: &[u8]) -> [i32; 32] {
    let qh = u32_at(b, 2);
    let qs = &b[6..22];
    let mut q = [0i32; 32];
    for j in 0..16 {
        q[j] = (qs[j] & 0xf) as i32 | (((qh >> j) & 1) << 4) as i32;
        q[j + 16] = (qs[j] >> 4) as i32 | (((qh >> (j + 16)) & 1) << 4) as i32;
    }
    q
}

/// The 8 six-bit scales and 8 six-bit mins packed into the 12 `scales` bytes of Q4_K/Q5_K.
/// Sub-blocks 0..4 keep theirs in the low 6 bits of bytes 0..4 (scales) and 4..8 (mins);
/// sub-blocks 4..8 keep their low 4 bits in the nibbles of bytes 8..12 and their top 2 bits in
/// the top 2 bits of bytes 0..8.
pub(crate) fn k_scales_mins(s: &[u8]) -> ([u8; 8], [u8; 8]) {
    let mut sc = [0u8; 8];
    let mut m = [0u8; 8];
    for j in 0..4 {
        sc[j] = s[j] & 63;
        m[j] = s[j + 4] & 63;
        sc[j + 4] = (s[j + 8] & 0xf) | ((s[j] >> 6) << 4);
        m[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4);
    }
    (sc, m)
}

/// The 256 nibbles of a Q4_K block: each 64 elements take 32 bytes, elements 0..32 of the
/// group in the low nibbles and 32..64 in the high nibbles.
fn q4_k_values(qs: &[u8]) -> [i32; 256] {
    let mut q = [0i32; 256];
    for g in 0..4 {
        for l in 0..32 {
            q[64 * g + l] = (qs[32 * g + l] & 0xf) as i32;
            q[64 * g + 32 + l] = (qs[32 * g + l] >> 4) as i32;
        }
    }
    q
}

/// The 256 five-bit values of a Q5_K block: Q4_K's nibbles plus a fifth bit from `qh`, where
/// byte l of `qh` holds the fifth bit of element 32·k + l in bit k.
fn q5_k_values(qh: &[u8], qs: &[u8]) -> [i32; 256] {
    let mut q = q4_k_values(qs);
    for (i, v) in q.iter_mut().enumerate() {
        *v |= (((qh[i % 32] >> (i / 32)) & 1) << 4) as i32;
    }
    q
}

/// The 256 six-bit values (0..64) of a Q6_K block. Each 128 elements take 64 bytes of `ql`
/// and 32 of `qh`: for l in 0..32, element l is the low nibble of ql[l], l+32 the low nibble of
/// ql[l+32], l+64 the high nibble of ql[l], l+96 the high nibble of ql[l+32]; their top two
/// bits are bits 0-1, 2-3, 4-5 and 6-7 of qh[l].
fn q6_k_values(ql: &[u8], qh: &[u8]) -> [i32; 256] {
    let mut q = [0i32; 256];
    for h in 0..2 {
        let (ql, qh, q) = (&ql[64 * h..], &qh[32 * h..], &mut q[128 * h..]);
        for l in 0..32 {
            q[l] = (ql[l] & 0xf) as i32 | ((qh[l] & 3) << 4) as i32;
            q[l + 32] = (ql[l + 32] & 0xf) as i32 | (((qh[l] >> 2) & 3) << 4) as i32;
            q[l + 64] = (ql[l] >> 4) as i32 | (((qh[l] >> 4) & 3) << 4) as i32;
            q[l + 96] = (ql[l + 32] >> 4) as i32 | (((qh[l] >> 6) & 3) << 4) as i32;
        }
    }
    q
}

/// The 16 sums of 16 consecutive quants stored at the end of a Q8_K block.
fn q8_k_bsums(b: &[u8]) -> [i32; 16] {
    std::array::from_fn(|g| i16_at(b, 260 + 2 * g) as i32)
}

// ---------------------------------------------------------------------------------------------
// Dot products of one weight block with one activation block.

/// Q8_0 · Q8_0: (dw·da) · Σ qw·qa.
fn dot_block_q8_0(w: &[u8], a: &[u8]) -> f32 {
    let sumi: i32 = w[2..34]
        .iter()
        .zip(&a[2..34])
        .map(|(&x, &y)| (x as i8) as i32 * (y as i8) as i32)
        .sum();
    sumi as f32 * (f16_at(w, 0) * f16_at(a, 0))
}

/// Q4_0 · Q8_0: (dw·da) · Σ (q - 8)·qa.
fn dot_block_q4_0(w: &[u8], a: &[u8]) -> f32 {
    let mut sumi = 0i32;
    for j in 0..16 {
        let (lo, hi) = ((w[2 + j] & 0xf) as i32 - 8, (w[2 + j] >> 4) as i32 - 8);
        sumi += lo * (a[2 + j] as i8) as i32 + hi * (a[2 + j + 16] as i8) as i32;
    }
    sumi as f32 * (f16_at(w, 0) * f16_at(a, 0))
}

/// Q5_0 · Q8_0: (dw·da) · Σ (q - 16)·qa.
fn dot_block_q5_0(w: &[u8], a: &[u8]) -> f32 {
    let q = q5_0_values(w);
    let sumi: i32 = q
        .iter()
        .zip(&a[2..34])
        .map(|(&q, &y)| (q - 16) * (y as i8) as i32)
        .sum();
    sumi as f32 * (f16_at(w, 0) * f16_at(a, 0))
}

/// Q4_K/Q5_K · Q8_K, from the block's integer quants: with sub-block s of 32 elements,
///   Σ_i (d·sc[s]·q_i − dmin·m[s]) · da·qa_i
///     = d·da · Σ_s sc[s]·(Σ_{i∈s} q_i·qa_i)  −  dmin·da · Σ_s m[s]·(Σ_{i∈s} qa_i),
/// where Σ_{i∈s} qa_i comes from two of the activation's 16-element `bsums`.
fn dot_k_with_mins(w: &[u8], a: &[u8], q: &[i32; 256]) -> f32 {
    let (sc, m) = k_scales_mins(&w[4..16]);
    let bsums = q8_k_bsums(a);
    let qa = &a[4..260];
    let mut sumi = 0i32;
    let mut summ = 0i32;
    for s in 0..8 {
        let part: i32 = (0..32)
            .map(|l| q[32 * s + l] * (qa[32 * s + l] as i8) as i32)
            .sum();
        sumi += sc[s] as i32 * part;
        summ += m[s] as i32 * (bsums[2 * s] + bsums[2 * s + 1]);
    }
    let da = f32_at(a, 0);
    let d = da * f16_at(w, 0);
    let dmin = da * f16_at(w, 2);
    d * sumi as f32 - dmin * summ as f32
}

fn dot_block_q4_k(w: &[u8], a: &[u8]) -> f32 {
    dot_k_with_mins(w, a, &q4_k_values(&w[16..144]))
}

fn dot_block_q5_k(w: &[u8], a: &[u8]) -> f32 {
    dot_k_with_mins(w, a, &q5_k_values(&w[16..48], &w[48..176]))
}

/// Q6_K · Q8_K: (dw·da) · Σ_g sc[g] · Σ_{i∈g} (q_i − 32)·qa_i over 16 groups of 16.
fn dot_block_q6_k(w: &[u8], a: &[u8]) -> f32 {
    let q = q6_k_values(&w[0..128], &w[128..192]);
    let qa = &a[4..260];
    let mut sumi = 0i32;
    for g in 0..16 {
        let part: i32 = (0..16)
            .map(|l| (q[16 * g + l] - 32) * (qa[16 * g + l] as i8) as i32)
            .sum();
        sumi += (w[192 + g] as i8) as i32 * part;
    }
    sumi as f32 * (f32_at(a, 0) * f16_at(w, 208))
}

// ---------------------------------------------------------------------------------------------
// Quantizers. The activation ones (Q8_0, Q8_K) follow ggml exactly, bit for bit; the weight
// ones are simple round-to-nearest versions of ggml's reference quantizers (ggml searches for
// better k-quant scales; any scales give valid blocks).

/// Q8_0 as ggml's AVX2 `quantize_row_q8_0` does it (what llama.cpp runs on x86):
/// d = amax / 127 stored as f16; q = round-half-even(x · 127/amax).
fn quantize_block_q8_0(x: &[f32], y: &mut [u8]) {
    let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
    y[0..2].copy_from_slice(&f32_to_f16(d).to_le_bytes());
    for (o, &v) in y[2..34].iter_mut().zip(x) {
        *o = nearest_int(v * id).clamp(-127, 127) as i8 as u8;
    }
}

/// Q8_K as ggml's `quantize_row_q8_K_ref`: the element of largest magnitude, `max`, maps to
/// −127; d = 1/iscale with iscale = −127/max, and `bsums` holds each 16 quants' sum.
fn quantize_block_q8_k(x: &[f32], y: &mut [u8]) {
    let (mut amax, mut max) = (0.0f32, 0.0f32);
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    if amax == 0.0 {
        y.fill(0);
        return;
    }
    let iscale = -127.0 / max;
    let mut q = [0i8; 256];
    for (q, &v) in q.iter_mut().zip(x) {
        *q = nearest_int(iscale * v).clamp(-127, 127) as i8;
    }
    y[0..4].copy_from_slice(&(1.0 / iscale).to_le_bytes());
    for (o, &q) in y[4..260].iter_mut().zip(&q) {
        *o = q as u8;
    }
    for g in 0..16 {
        let s: i16 = q[16 * g..16 * g + 16].iter().map(|&v| v as i16).sum();
        y[260 + 2 * g..262 + 2 * g].copy_from_slice(&s.to_le_bytes());
    }
}

/// The signed element of largest magnitude (the first one on ties), or 0.
fn signed_max(x: &[f32]) -> f32 {
    let (mut amax, mut max) = (0.0f32, 0.0f32);
    for &v in x {
        if amax < v.abs() {
            amax = v.abs();
            max = v;
        }
    }
    max
}

/// Q4_0 as ggml's reference: d = max / −8 so the largest-magnitude element lands on q = 0;
/// q = min(15, trunc(x/d + 8.5)).
fn quantize_block_q4_0(x: &[f32], y: &mut [u8]) {
    let d = signed_max(x) / -8.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    y[0..2].copy_from_slice(&f32_to_f16(d).to_le_bytes());
    for j in 0..16 {
        let lo = ((x[j] * id + 8.5) as i8).min(15) as u8;
        let hi = ((x[j + 16] * id + 8.5) as i8).min(15) as u8;
        y[2 + j] = lo | (hi << 4);
    }
}

/// Q5_0 as ggml's reference: d = max / −16; q = min(31, trunc(x/d + 16.5)).
fn quantize_block_q5_0(x: &[f32], y: &mut [u8]) {
    let d = signed_max(x) / -16.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    y[0..2].copy_from_slice(&f32_to_f16(d).to_le_bytes());
    let mut qh = 0u32;
    for j in 0..16 {
        let lo = ((x[j] * id + 16.5) as i8).min(31) as u8;
        let hi = ((x[j + 16] * id + 16.5) as i8).min(31) as u8;
        y[6 + j] = (lo & 0xf) | ((hi & 0xf) << 4);
        qh |= ((lo >> 4) as u32) << j;
        qh |= ((hi >> 4) as u32) << (j + 16);
    }
    y[2..6].copy_from_slice(&qh.to_le_bytes());
}

/// Shared by Q4_K and Q5_K (`nmax` = 15 or 31): per sub-block of 32 an affine map
/// x ≈ scale·q − min with min ≥ 0 (ggml clamps the sub-block minimum to at most 0), the 8
/// scales and 8 mins quantized to 6 bits against the super-block's d and dmin, and then the
/// quants recomputed with the scales as stored. Returns the quants and writes d, dmin and
/// the 12 packed scale bytes into `y[0..16]`.
fn quantize_k_with_mins(x: &[f32], y: &mut [u8], nmax: i32) -> [u8; 256] {
    let mut scales = [0.0f32; 8];
    let mut mins = [0.0f32; 8];
    for s in 0..8 {
        let sub = &x[32 * s..32 * s + 32];
        let lo = sub.iter().fold(0.0f32, |m, &v| m.min(v));
        let hi = sub.iter().fold(lo, |m, &v| m.max(v));
        scales[s] = (hi - lo) / nmax as f32;
        mins[s] = -lo;
    }
    let max_scale = scales.iter().fold(0.0f32, |m, &v| m.max(v));
    let max_min = mins.iter().fold(0.0f32, |m, &v| m.max(v));
    let inv_scale = if max_scale > 0.0 {
        63.0 / max_scale
    } else {
        0.0
    };
    let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
    let ls: [u8; 8] =
        std::array::from_fn(|s| nearest_int(inv_scale * scales[s]).clamp(0, 63) as u8);
    let lm: [u8; 8] = std::array::from_fn(|s| nearest_int(inv_min * mins[s]).clamp(0, 63) as u8);
    let d = f32_to_f16(max_scale / 63.0);
    let dmin = f32_to_f16(max_min / 63.0);
    y[0..2].copy_from_slice(&d.to_le_bytes());
    y[2..4].copy_from_slice(&dmin.to_le_bytes());
    // Packing, the inverse of `k_scales_mins`.
    for j in 0..4 {
        y[4 + j] = ls[j] | ((ls[j + 4] >> 4) << 6);
        y[4 + j + 4] = lm[j] | ((lm[j + 4] >> 4) << 6);
        y[4 + j + 8] = (ls[j + 4] & 0xf) | ((lm[j + 4] & 0xf) << 4);
    }
    let (d, dmin) = (f16_to_f32(d), f16_to_f32(dmin));
    let mut q = [0u8; 256];
    for s in 0..8 {
        let dl = d * ls[s] as f32;
        let dm = dmin * lm[s] as f32;
        if dl == 0.0 {
            continue;
        }
        for i in 32 * s..32 * s + 32 {
            q[i] = nearest_int((x[i] + dm) / dl).clamp(0, nmax) as u8;
        }
    }
    q
}

fn quantize_block_q4_k(x: &[f32], y: &mut [u8]) {
    let q = quantize_k_with_mins(x, y, 15);
    for g in 0..4 {
        for l in 0..32 {
            y[16 + 32 * g + l] = q[64 * g + l] | (q[64 * g + 32 + l] << 4);
        }
    }
}

fn quantize_block_q5_k(x: &[f32], y: &mut [u8]) {
    let q = quantize_k_with_mins(x, y, 31);
    let (qh, qs) = y[16..176].split_at_mut(32);
    qh.fill(0);
    for g in 0..4 {
        for l in 0..32 {
            let (lo, hi) = (q[64 * g + l], q[64 * g + 32 + l]);
            qs[32 * g + l] = (lo & 0xf) | ((hi & 0xf) << 4);
            qh[l] |= ((lo >> 4) << (2 * g)) | ((hi >> 4) << (2 * g + 1));
        }
    }
}

/// Q6_K: per group of 16 a scale max/−32 (so the largest element lands on q = 0), the 16
/// scales quantized to i8 against d = max_scale/−128, then q = clamp(round(x/(d·sc)), −32, 31)
/// + 32, as ggml's reference does with its simple scale choice.
fn quantize_block_q6_k(x: &[f32], y: &mut [u8]) {
    let scales: [f32; 16] = std::array::from_fn(|g| signed_max(&x[16 * g..16 * g + 16]) / -32.0);
    let max_scale = signed_max(&scales);
    let mut q = [32u8; 256];
    let mut sc = [0i8; 16];
    let mut d = 0u16;
    if max_scale != 0.0 {
        let iscale = -128.0 / max_scale;
        sc = std::array::from_fn(|g| nearest_int(iscale * scales[g]).clamp(-128, 127) as i8);
        d = f32_to_f16(1.0 / iscale);
        let df = f16_to_f32(d);
        for (g, &s) in sc.iter().enumerate() {
            let dl = df * s as f32;
            if dl == 0.0 {
                continue;
            }
            for i in 16 * g..16 * g + 16 {
                q[i] = (nearest_int(x[i] / dl).clamp(-32, 31) + 32) as u8;
            }
        }
    }
    let (ql, rest) = y.split_at_mut(128);
    let (qh, rest) = rest.split_at_mut(64);
    for h in 0..2 {
        let (q, ql, qh) = (&q[128 * h..], &mut ql[64 * h..], &mut qh[32 * h..]);
        for l in 0..32 {
            ql[l] = (q[l] & 0xf) | ((q[l + 64] & 0xf) << 4);
            ql[l + 32] = (q[l + 32] & 0xf) | ((q[l + 96] & 0xf) << 4);
            qh[l] = (q[l] >> 4)
                | ((q[l + 32] >> 4) << 2)
                | ((q[l + 64] >> 4) << 4)
                | ((q[l + 96] >> 4) << 6);
        }
    }
    for (o, &v) in rest.iter_mut().zip(&sc) {
        *o = v as u8;
    }
    rest[16..18].copy_from_slice(&d.to_le_bytes());
}

#[cfg(test)]
mod tests {
    //! Fixed blocks written by hand, with their values worked out by hand from the layout
    //! table at the top of this module.
    use super::*;

    fn deq(t: GgmlType, block: &[u8]) -> Vec<f32> {
        let n = t.block_elems() as usize;
        let mut out = vec![0.0; n];
        dequantize_row(t, block, &mut out);
        out
    }

    #[test]
    fn q8_0_fixed_block() {
        let mut b = vec![0u8; 34];
        b[0..2].copy_from_slice(&0x3800u16.to_le_bytes()); // d = 0.5
        b[2] = 1;
        b[3] = (-1i8) as u8;
        b[4] = 127;
        b[33] = (-128i8) as u8;
        let y = deq(GgmlType::Q8_0, &b);
        assert_eq!(&y[..4], &[0.5, -0.5, 63.5, 0.0]);
        assert_eq!(y[31], -64.0);
    }

    #[test]
    fn q4_0_fixed_block() {
        let mut b = vec![0x88u8; 18]; // all quants 8 → 0
        b[0..2].copy_from_slice(&0x4000u16.to_le_bytes()); // d = 2
        b[2] = 0x9f; // element 0: 15 → 14, element 16: 9 → 2
        b[17] = 0x01; // element 15: 1 → -14, element 31: 0 → -16
        let y = deq(GgmlType::Q4_0, &b);
        assert_eq!(
            (y[0], y[16], y[15], y[31], y[1]),
            (14.0, 2.0, -14.0, -16.0, 0.0)
        );
    }

    #[test]
    fn q5_0_fixed_block() {
        let mut b = vec![0u8; 22];
        b[0..2].copy_from_slice(&0x3c00u16.to_le_bytes()); // d = 1
                                                           // qh: bits 0 and 16 and 31 set.
        b[2..6].copy_from_slice(&(1u32 | (1 << 16) | (1 << 31)).to_le_bytes());
        b[6] = 0x21; // element 0: 1|16 → 1; element 16: 2|16 → 2
        b[21] = 0xf3; // element 15: 3 (no 5th bit) → -13; element 31: 15|16 → 15
        let y = deq(GgmlType::Q5_0, &b);
        assert_eq!(
            (y[0], y[16], y[15], y[31], y[1]),
            (1.0, 2.0, -13.0, 15.0, -16.0)
        );
    }

    #[test]
    fn q4_k_fixed_block() {
        let mut b = vec![0u8; 144];
        b[0..2].copy_from_slice(&0x3c00u16.to_le_bytes()); // d = 1
        b[2..4].copy_from_slice(&0x3800u16.to_le_bytes()); // dmin = 0.5
                                                           // Sub-block 0: scale 5, min 3. Sub-block 5: scale 0b10_0111 = 39, min 0b11_0010 = 50:
                                                           // low nibbles in byte 8+1 (scale 7 | min 2 << 4), top bits in bytes 1 and 5.
        b[4] = 5;
        b[4 + 4] = 3;
        b[4 + 1] = 0b10 << 6;
        b[4 + 5] = 0b11 << 6;
        b[4 + 9] = 7 | (2 << 4);
        b[16] = 0x4a; // element 0: nibble 10; element 32: nibble 4 (sub-block 1, scale 0, min 0 → 0)
                      // Group g of 64 elements lives in qs[32g..32g + 32]; element 160 = 64·2 + 32 is the high
                      // nibble of qs[64] and element 128 its low nibble.
        b[16 + 64] = 0x90; // element 160: nibble 9; element 128: nibble 0 (sub-block 4: all zero)
        let y = deq(GgmlType::Q4_K, &b);
        assert_eq!(y[0], 5.0 * 10.0 - 0.5 * 3.0); // 48.5
        assert_eq!(y[1], -1.5); // nibble 0 in sub-block 0
        assert_eq!(y[32], 0.0);
        assert_eq!(y[160], 39.0 * 9.0 - 0.5 * 50.0); // 326
        assert_eq!(y[161], -25.0);
        assert_eq!(y[128], 0.0);
    }

    #[test]
    fn q5_k_fixed_block() {
        let mut b = vec![0u8; 176];
        b[0..2].copy_from_slice(&0x4000u16.to_le_bytes()); // d = 2
        b[2..4].copy_from_slice(&0x3c00u16.to_le_bytes()); // dmin = 1
        b[4 + 3] = 2; // sub-block 3: scale 2
        b[4 + 7] = 4; // sub-block 3: min 4
                      // Element 100 = 64·1 + 32 + 4: sub-block 3, high nibble of qs[32 + 4], fifth bit in
                      // bit 3 of qh[4].
        b[16 + 4] = 1 << 3;
        b[48 + 36] = 0x70;
        let y = deq(GgmlType::Q5_K, &b);
        assert_eq!(y[100], 2.0 * 2.0 * (7.0 + 16.0) - 4.0); // 88
        assert_eq!(y[101], -4.0);
        assert_eq!(y[0], 0.0);
    }

    #[test]
    fn q6_k_fixed_block() {
        let mut b = vec![0u8; 210];
        b[208..210].copy_from_slice(&0x3800u16.to_le_bytes()); // d = 0.5
        for g in 0..16 {
            b[192 + g] = (g as i8 - 8) as u8; // scales -8..7
        }
        // Element 0: ql[0] low nibble 5, qh[0] bits 0-1 = 2 → q = 37 → +5; group 0, scale -8.
        // Element 64: ql[0] high nibble 15, qh[0] bits 4-5 = 3 → q = 63 → +31; group 4, scale -4.
        b[0] = 0xf5;
        b[128] = 2 | (3 << 4);
        // Element 200 = 128 + 64 + 8: high nibble of ql[64 + 8], bits 4-5 of qh[32 + 8]; group 12 (scale 4).
        b[72] = 0x10;
        let y = deq(GgmlType::Q6_K, &b);
        assert_eq!(y[0], 0.5 * -8.0 * 5.0);
        assert_eq!(y[64], 0.5 * -4.0 * 31.0);
        assert_eq!(y[200], 0.5 * 4.0 * (1.0 - 32.0));
        assert_eq!(y[1], 0.5 * -8.0 * -32.0);
    }

    #[test]
    fn q8_k_fixed_block() {
        let mut b = vec![0u8; 292];
        b[0..4].copy_from_slice(&0.25f32.to_le_bytes());
        b[4] = 100;
        b[259] = (-4i8) as u8;
        let y = deq(GgmlType::Q8_K, &b);
        assert_eq!((y[0], y[255], y[1]), (25.0, -1.0, 0.0));
    }

    #[test]
    fn float_fixed_rows() {
        let f32_row = [1.5f32.to_le_bytes(), (-2.0f32).to_le_bytes()].concat();
        let mut y = [0.0; 2];
        dequantize_row(GgmlType::F32, &f32_row, &mut y);
        assert_eq!(y, [1.5, -2.0]);
        dequantize_row(GgmlType::F16, &[0x00, 0x3e, 0x00, 0xc0], &mut y); // 1.5, -2
        assert_eq!(y, [1.5, -2.0]);
        dequantize_row(GgmlType::BF16, &[0xc0, 0x3f, 0x00, 0xc0], &mut y); // 1.5, -2
        assert_eq!(y, [1.5, -2.0]);
    }

    #[test]
    fn q8_0_quantizer_rounds_half_to_even() {
        // amax = 127 so id = 1 and x·id is exact: 2.5 → 2, 3.5 → 4, -0.5 → 0.
        let mut x = [0.0f32; 32];
        x[0] = 127.0;
        x[1] = 2.5;
        x[2] = 3.5;
        x[3] = -0.5;
        let mut b = [0u8; 34];
        quantize_row(GgmlType::Q8_0, &x, &mut b);
        assert_eq!(&b[2..6], &[127, 2, 4, 0]);
        assert_eq!(u16_at(&b, 0), 0x3c00); // d = 1
    }

    #[test]
    fn q8_k_quantizer_maps_signed_max_to_minus_127() {
        let mut x = [0.0f32; 256];
        x[0] = 2.0;
        x[17] = -4.0;
        let mut b = [0u8; 292];
        quantize_row(GgmlType::Q8_K, &x, &mut b);
        // iscale = -127 / -4 = 31.75 and d = 1/iscale.
        assert_eq!(f32_at(&b, 0), 1.0 / 31.75);
        // x[0]·iscale = 63.5 → 64 (half to even); x[17]·iscale = -127.
        assert_eq!((b[4] as i8, b[4 + 17] as i8), (64, -127));
        assert_eq!((i16_at(&b, 260), i16_at(&b, 262)), (64, -127));
    }
}

/// The reference for [`crate::f16_fma_cells`]: the accumulators zeroed, then cell by cell,
/// each head's row of its lane's accumulators gets `fma(p, v, acc)` element by element.
#[allow(clippy::too_many_arguments)]
pub fn f16_fma_cells(p: &[f32], heads: usize, v: &[u8], stride: usize, n: usize, cells: usize, lanes: usize, lane0: usize, acc: &mut [f32]) {
    acc.fill(0.0);
    for j in 0..cells {
        let lane = (lane0 + j) % lanes;
        let row = &v[2 * j * stride..2 * (j * stride + n)];
        for h in 0..heads {
            let ph = p[h * cells + j];
            let out = &mut acc[(lane * heads + h) * n..][..n];
            for (d, o) in out.iter_mut().enumerate() {
                let x = crate::fp::f16_to_f32(u16::from_le_bytes([row[2 * d], row[2 * d + 1]]));
                *o = ph.mul_add(x, *o);
            }
        }
    }
}

/// The sum of 8 lane accumulators as llama.cpp's `hsum_float_8` adds them: the upper four
/// onto the lower four, then 2 + 2, then 1 + 1.
pub fn reduce_lanes8(x: &[f32; 8]) -> f32 {
    let r: [f32; 4] = std::array::from_fn(|i| x[i + 4] + x[i]);
    (r[0] + r[2]) + (r[1] + r[3])
}

/// The sum of 32 lane accumulators (4 vectors of 8, lane i in vector i / 8) as llama.cpp's
/// `GGML_F32x8_REDUCE` adds them: vectors 2, 3 onto 0, 1, then 1 onto 0, then within the
/// vector the upper half onto the lower and two horizontal pair additions.
pub fn reduce_lanes32(x: &[f32; 32]) -> f32 {
    let z: [f32; 8] = std::array::from_fn(|i| (x[i] + x[16 + i]) + (x[8 + i] + x[24 + i]));
    let t: [f32; 4] = std::array::from_fn(|i| z[i] + z[i + 4]);
    (t[0] + t[1]) + (t[2] + t[3])
}

/// Dot product of two rows of half floats with one fused multiply-add chain per lane (the
/// reference for [`crate::f16_dot_ordered`]).
pub fn f16_dot_ordered(order: crate::LaneOrder, x: &[u8], y: &[u8]) -> f32 {
    let lanes = order.lanes();
    let mut acc = [0f32; 32];
    let half = |b: &[u8], i: usize| crate::fp::f16_to_f32(u16::from_le_bytes([b[2 * i], b[2 * i + 1]]));
    for i in 0..x.len() / 2 {
        acc[i % lanes] = half(x, i).mul_add(half(y, i), acc[i % lanes]);
    }
    order.reduce(&acc[..lanes])
}
