//! Single-thread speed of `vec_dot_many` on the default model's matrix shapes, in GB/s of
//! weight bytes streamed (decode: one activation row) and in weight-row·activation-row dot
//! products per second (prompt: 16 activation rows).
//!
//!     CARGO_TARGET_DIR=/work/targets/quant cargo run --release -p ferrocodex-quant --example bandwidth
//!
//! The weights are random bytes with sane scales: the kernels' speed does not depend on the
//! values. `BANDWIDTH_ROWS=8,12,32` adds Q8_0 and Q5_0 runs against those numbers of
//! activation rows (how the kernels' row groups fare at other batch sizes).

use std::time::Instant;

use ferrocodex_quant::{kernel_isa, quantize_row, vec_dot_many, vec_dot_type, GgmlType};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// `rows` × `n` weights of `t`: random bytes, each block's f16 scale fields set to 0.01.
fn weights(t: GgmlType, rows: usize, n: usize, rng: &mut Lcg) -> Vec<u8> {
    let bytes = t.bytes_for((rows * n) as u64).expect("whole blocks") as usize;
    let mut w: Vec<u8> = (0..bytes).map(|_| rng.next() as u8).collect();
    if t == GgmlType::F16 {
        // Random bits include NaNs: use halves in -1..1 instead.
        for h in w.chunks_exact_mut(2) {
            let v = (rng.next() % 2001) as f32 / 1000.0 - 1.0;
            h.copy_from_slice(&half::f16::from_f32(v).to_bits().to_le_bytes());
        }
    }
    let scale = half::f16::from_f32(0.01).to_bits().to_le_bytes();
    let block = t.block_bytes() as usize;
    let scale_offsets: &[usize] = match t {
        GgmlType::Q8_0 | GgmlType::Q4_0 | GgmlType::Q5_0 => &[0],
        GgmlType::Q4_K | GgmlType::Q5_K => &[0, 2],
        GgmlType::Q6_K => &[208],
        _ => &[],
    };
    for b in w.chunks_exact_mut(block) {
        for &o in scale_offsets {
            b[o..o + 2].copy_from_slice(&scale);
        }
    }
    w
}

fn activations(t: GgmlType, rows: usize, n: usize, rng: &mut Lcg) -> Vec<u8> {
    let at = vec_dot_type(t);
    let x: Vec<f32> = (0..rows * n)
        .map(|_| (rng.next() % 2001) as f32 / 1000.0 - 1.0)
        .collect();
    let mut a = vec![0u8; at.bytes_for((rows * n) as u64).expect("whole blocks") as usize];
    quantize_row(at, &x, &mut a);
    a
}

/// Times `vec_dot_many` over the matrix in slices of about 64 KB of weights for two seconds
/// and reports the rate of the fastest 5% of the slices. On a shared machine most slices are interrupted
/// or slowed by other processes; the fast ones show what the kernel does when it has the
/// core. Slices of a matrix larger than the caches still come from memory on every pass.
fn bench(t: GgmlType, rows: usize, n: usize, a_rows: usize) {
    let mut rng = Lcg(42);
    let w = weights(t, rows, n, &mut rng);
    let a = activations(t, a_rows, n, &mut rng);
    let row_bytes = w.len() / rows;
    let slice_rows = (64 * 1024 / row_bytes).clamp(1, rows);
    let mut out = vec![0.0f32; slice_rows * a_rows];
    let mut times = Vec::new();
    let start = Instant::now();
    let mut pass = 0;
    while pass < 3 || start.elapsed().as_secs_f64() < 2.0 {
        for r0 in (0..rows).step_by(slice_rows) {
            let r1 = (r0 + slice_rows).min(rows);
            let ws = &w[r0 * row_bytes..r1 * row_bytes];
            let out = &mut out[..(r1 - r0) * a_rows];
            let t0 = Instant::now();
            vec_dot_many(t, n, ws, r1 - r0, &a, a_rows, out);
            // The first pass warms the caches for small matrices; keep only later ones.
            if pass > 0 {
                times.push((t0.elapsed().as_secs_f64(), r1 - r0));
            }
        }
        pass += 1;
    }
    times.sort_by(|x, y| (x.0 / x.1 as f64).total_cmp(&(y.0 / y.1 as f64)));
    let fast = &times[..times.len().div_ceil(20)];
    let secs_per_row = fast.iter().map(|(s, r)| s / *r as f64).sum::<f64>() / fast.len() as f64;
    let gbs = row_bytes as f64 / secs_per_row / 1e9;
    let dots = a_rows as f64 / secs_per_row / 1e6;
    println!(
        "{t:>5} {rows:>6} x {n:<5} ({:>6.1} MB) a_rows {a_rows:>2}: {:>7.2} GB/s of weights  {dots:>7.1} M dots/s  (matrix in {:.3} ms)",
        w.len() as f64 / 1e6,
        gbs,
        secs_per_row * rows as f64 * 1e3,
    );
}

/// The same slice timing for a plain sum of `bytes` bytes of memory: the ceiling a
/// memory-bound kernel can reach on this machine at this moment.
fn bench_read(bytes: usize) {
    let data: Vec<u64> = (0..bytes / 8).map(|i| i as u64).collect();
    let slice = 64 * 1024 / 8;
    let mut times = Vec::new();
    let mut total = 0u64;
    let start = Instant::now();
    let mut pass = 0;
    while pass < 3 || start.elapsed().as_secs_f64() < 2.0 {
        for s in data.chunks(slice) {
            let t0 = Instant::now();
            total = total.wrapping_add(s.iter().fold(0u64, |a, &v| a.wrapping_add(v)));
            if pass > 0 {
                times.push(t0.elapsed().as_secs_f64() / s.len() as f64);
            }
        }
        pass += 1;
    }
    times.sort_by(f64::total_cmp);
    let fast = &times[..times.len().div_ceil(20)];
    let secs_per_word = fast.iter().sum::<f64>() / fast.len() as f64;
    println!(
        "plain read of {:.1} MB: {:.2} GB/s (checksum {total})",
        bytes as f64 / 1e6,
        8.0 / secs_per_word / 1e9
    );
}

/// Speed of converting activations: `rows` rows of `n` f32 to `t`, in elements per ns.
fn bench_quantize(t: GgmlType, rows: usize, n: usize) {
    let mut rng = Lcg(7);
    let x: Vec<f32> = (0..rows * n)
        .map(|_| (rng.next() % 2001) as f32 / 1000.0 - 1.0)
        .collect();
    let mut q = vec![0u8; t.bytes_for((rows * n) as u64).expect("whole blocks") as usize];
    let mut best = f64::MAX;
    for _ in 0..50 {
        let t0 = Instant::now();
        quantize_row(t, &x, &mut q);
        best = best.min(t0.elapsed().as_secs_f64());
    }
    println!(
        "quantize_row {t:>5}: {rows} x {n}: {:.3} ms, {:.2} elements/ns",
        best * 1e3,
        (rows * n) as f64 / best / 1e9
    );
}

fn main() {
    println!("kernels: {}", kernel_isa());
    bench_read(178 << 20);
    bench(GgmlType::Q8_0, 2048, 640, 1);
    // Decode: the output matrix (tied embedding) and the per-layer projections.
    bench(GgmlType::Q8_0, 262_144, 640, 1);
    bench(GgmlType::Q5_0, 2048, 640, 1);
    bench(GgmlType::Q5_0, 65_536, 640, 1);
    bench(GgmlType::Q4_K, 640, 2048, 1);
    bench(GgmlType::Q4_K, 16_384, 2048, 1);
    bench(GgmlType::Q6_K, 640, 2048, 1);
    bench(GgmlType::Q6_K, 16_384, 2048, 1);
    bench(GgmlType::Q4_0, 65_536, 640, 1);
    bench(GgmlType::Q5_K, 16_384, 2048, 1);
    bench(GgmlType::F16, 8192, 640, 1);
    // Prompt processing: each weight row against 16 activation rows.
    bench(GgmlType::Q8_0, 16_384, 640, 16);
    bench(GgmlType::Q5_0, 2048, 640, 16);
    bench(GgmlType::Q4_K, 640, 2048, 16);
    bench(GgmlType::Q6_K, 640, 2048, 16);
    for a_rows in std::env::var("BANDWIDTH_ROWS").unwrap_or_default().split(',').filter_map(|r| r.trim().parse().ok()) {
        bench(GgmlType::Q8_0, 16_384, 640, a_rows);
        bench(GgmlType::Q5_0, 2048, 640, a_rows);
    }
    // Activation conversion for a 512-token prompt.
    bench_quantize(GgmlType::Q8_0, 512, 640);
    bench_quantize(GgmlType::Q8_K, 512, 2048);
}
