//! Half-precision conversions and little-endian field access shared by the scalar and SIMD code.

/// IEEE binary16 bits → f32 (exact).
#[inline]
pub(crate) fn f16_to_f32(bits: u16) -> f32 {
    half::f16::from_bits(bits).to_f32()
}

/// f32 → IEEE binary16 bits, rounding to nearest even (what F16C's `vcvtps2ph` and ggml do).
#[inline]
pub(crate) fn f32_to_f16(x: f32) -> u16 {
    half::f16::from_f32(x).to_bits()
}

/// bfloat16 bits → f32 (exact: a bf16 is the top half of an f32).
#[inline]
pub(crate) fn bf16_to_f32(bits: u16) -> f32 {
    f32::from_bits((bits as u32) << 16)
}

/// f32 → bfloat16 bits as ggml rounds them: to nearest even on the dropped 16 bits, NaN kept
/// a quiet NaN.
#[inline]
pub(crate) fn f32_to_bf16(x: f32) -> u16 {
    let u = x.to_bits();
    if (u & 0x7fff_ffff) > 0x7f80_0000 {
        return ((u >> 16) | 64) as u16;
    }
    // Adding 0x7fff plus the lowest kept bit rounds half-way cases to the even neighbour.
    ((u + (0x7fff + ((u >> 16) & 1))) >> 16) as u16
}

/// Reads the little-endian u16 at `b[off..off + 2]`.
#[inline]
pub(crate) fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

/// Reads the binary16 at `b[off..off + 2]` as f32.
#[inline]
pub(crate) fn f16_at(b: &[u8], off: usize) -> f32 {
    f16_to_f32(u16_at(b, off))
}

/// Reads the little-endian f32 at `b[off..off + 4]`.
#[inline]
pub(crate) fn f32_at(b: &[u8], off: usize) -> f32 {
    f32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Reads the little-endian u32 at `b[off..off + 4]`.
#[inline]
pub(crate) fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Reads the little-endian i16 at `b[off..off + 2]`.
#[inline]
pub(crate) fn i16_at(b: &[u8], off: usize) -> i16 {
    i16::from_le_bytes([b[off], b[off + 1]])
}

/// ggml's `nearest_int`: rounds to the nearest integer, ties to even. Adding 1.5·2²³ leaves
/// the integer part of x in the low mantissa bits, rounded half to even by the addition
/// itself; valid for |x| < 2²² (callers pass quantizer outputs, far smaller). This is also
/// much faster than `f32::round_ties_even`, which is a library call on baseline x86-64.
#[inline]
pub(crate) fn nearest_int(x: f32) -> i32 {
    let v = x + 12_582_912.0;
    (v.to_bits() & 0x007f_ffff) as i32 - 0x0040_0000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_rounds_to_nearest_even() {
        // 1.0 + 2^-8 is exactly half-way between two bf16 values: ties go to the even one (1.0).
        assert_eq!(f32_to_bf16(1.0 + 1.0 / 256.0), 0x3f80);
        // 1.0 + 3·2^-8 is half-way too; the even neighbour is 1.0 + 2^-6 (0x3f82).
        assert_eq!(f32_to_bf16(1.0 + 3.0 / 256.0), 0x3f82);
        assert_eq!(bf16_to_f32(0xc000), -2.0);
        assert!(bf16_to_f32(f32_to_bf16(f32::NAN)).is_nan());
    }

    #[test]
    fn f16_round_trip_of_exact_values() {
        assert_eq!(f32_to_f16(1.0), 0x3c00);
        assert_eq!(f32_to_f16(-0.5), 0xb800);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
    }

    #[test]
    fn nearest_int_ties_to_even() {
        assert_eq!(nearest_int(2.5), 2);
        assert_eq!(nearest_int(3.5), 4);
        assert_eq!(nearest_int(-2.5), -2);
        assert_eq!(nearest_int(-2.6), -3);
        assert_eq!(nearest_int(126.5), 126);
        assert_eq!(nearest_int(-127.4), -127);
        assert_eq!(nearest_int(0.0), 0);
    }
}
