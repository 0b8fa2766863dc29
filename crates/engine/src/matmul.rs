//! Matrix × activations on the thread pool: `out[t][r] = W[r] · x[t]`.
//!
//! The activations are first converted to the format the weight type's dot product consumes
//! (8-bit blocks for quantized weights, as the reference does), once per call. Rows of W are
//! split among threads; each thread walks its rows in small blocks against tiles of tokens, so
//! a block of weight rows is read from memory once and reused from cache for every token.
//! In decode (one token) this is a pure stream over the weights — the memory-bound case.

use ferrocodex_quant::{quantize_row, vec_dot_many_at, vec_dot_type, BatchPlace};
use rayon::prelude::*;

use crate::weights::QMatrix;

/// Weight rows per `vec_dot_many` call at most (the kernels convert the activations' block
/// scales once per call).
const ROW_BLOCK: usize = 256;
/// Tokens per `vec_dot_many` call.
const TOKEN_TILE: usize = 16;

#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: every task writes a disjoint set of output elements (its own rows).
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

/// Reusable buffer for the converted activations.
#[derive(Default)]
pub struct Scratch {
    xq: Vec<u8>,
}

/// `out` (n × w.rows, token-major) ← x (n × w.cols, token-major) · Wᵀ.
/// `segments` are the lengths of the consecutive runs of rows that belong to one sequence's
/// input in this pass (they sum to `n`). A row is multiplied as the reference would multiply
/// it if its sequence's input were the whole pass ([`BatchPlace`]), so a sequence's results do
/// not depend on what else shares the pass, and a single sequence gets the reference's bits.
pub fn matmul(
    pool: &rayon::ThreadPool,
    w: &QMatrix,
    x: &[f32],
    n: usize,
    segments: &[usize],
    out: &mut [f32],
    scratch: &mut Scratch,
) {
    let cols = w.cols;
    let rows = w.rows;
    assert_eq!(x.len(), n * cols);
    assert_eq!(out.len(), n * rows);
    let act_type = vec_dot_type(w.dtype);
    let row_q = act_type
        .bytes_for(cols as u64)
        .expect("row length checked at load") as usize;
    scratch.xq.resize(n * row_q, 0);
    let threads = pool.current_num_threads().max(1);
    // Tokens are converted on every thread when there are several (a prompt): done on one,
    // the others would wait for it before every product.
    let convert = |(xt, qt): (&[f32], &mut [u8])| quantize_row(act_type, xt, qt);
    let tokens = x.chunks_exact(cols).zip(scratch.xq.chunks_exact_mut(row_q));
    if n >= 2 * threads && threads > 1 {
        let tokens = x.par_chunks_exact(cols).zip(scratch.xq.par_chunks_exact_mut(row_q));
        pool.install(|| tokens.with_min_len(4).for_each(convert));
    } else {
        tokens.for_each(convert);
    }
    let xq = &scratch.xq[..];

    // Enough chunks to balance load, few enough that per-task overhead stays negligible. A
    // prompt's tasks are long enough to balance in fewer, larger chunks, and each chunk
    // converts every tile of tokens for its kernels once (see `vec_dot_many_at`).
    let target_chunks = if n >= 64 { threads * 4 } else { threads * 8 };
    let chunk = (rows.div_ceil(target_chunks)).div_ceil(4) * 4;
    let n_chunks = rows.div_ceil(chunk);
    let out_ptr = SendPtr(out.as_mut_ptr());
    let dtype = w.dtype;
    debug_assert_eq!(segments.iter().sum::<usize>(), n);
    // Runs of rows with the same place, split so that no tile mixes places: rows of one place
    // go through the same operations whatever else shares their tile.
    let mut runs: Vec<(usize, usize, BatchPlace)> = Vec::new();
    let mut start = 0;
    for &len in segments.iter().filter(|&&l| l > 0) {
        let fours_end = start + len - len % 4;
        for (a, b, in_fours) in [(start, fours_end, true), (fours_end, start + len, false)] {
            if a == b {
                continue;
            }
            let place = BatchPlace {
                batch: len,
                in_fours,
                matrix_rows: rows,
            };
            match runs.last_mut() {
                Some(last) if last.2 == place && last.1 == a => last.1 = b,
                _ => runs.push((a, b, place)),
            }
        }
        start += len;
    }
    let runs = &runs[..];

    let work = |c: usize| {
        let out_ptr = out_ptr;
        let r_start = c * chunk;
        let r_end = (r_start + chunk).min(rows);
        let mut tmp = [0f32; ROW_BLOCK * TOKEN_TILE];
        // A block of weight rows against every token before the next block: the block is read
        // from memory once and reused from cache, however many token tiles there are.
        let mut r0 = r_start;
        while r0 < r_end {
            let rn = (r_end - r0).min(ROW_BLOCK);
            let wd = w.rows_data(r0, r0 + rn);
            for &(run_start, run_end, place) in runs {
                let mut t0 = run_start;
                while t0 < run_end {
                    let tn = (run_end - t0).min(TOKEN_TILE);
                    let a = &xq[t0 * row_q..(t0 + tn) * row_q];
                    vec_dot_many_at(dtype, cols, wd, rn, a, tn, place, &mut tmp[..rn * tn]);
                    // Token by token, so that each token's outputs are written as one run.
                    for ti in 0..tn {
                        // SAFETY: (t0 + ti, r0..r0 + rn) is inside `out` and only this task owns
                        // rows r0..r0 + rn.
                        let dst = unsafe { out_ptr.0.add((t0 + ti) * rows + r0) };
                        for ri in 0..rn {
                            unsafe { *dst.add(ri) = tmp[ri * tn + ti] };
                        }
                    }
                    t0 += tn;
                }
            }
            r0 += rn;
        }
    };
    if n_chunks == 1 || threads == 1 {
        (0..n_chunks).for_each(work);
    } else {
        pool.install(|| (0..n_chunks).into_par_iter().for_each(work));
    }
}
