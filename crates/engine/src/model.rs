//! The model: configuration, weights, tokenizer, and the forward pass of one configurable
//! decoder block over a batch of sequences.
//!
//! Data flow of [`Model::forward`] for a batch of N tokens (from any number of sequences, each
//! at its own position):
//!
//! ```text
//! x[N, d]      = embed(tokens) (· √d for Gemma)
//! per layer:
//!   h          = norm(x)                                  attn_norm (RMS or Layer)
//!   q[N, H·hd] = h·Wqᵀ (+bq)   k, v[N, Hkv·hd] likewise   (per-head RMSNorm of q, k for Gemma)
//!   q, k       = rope(q, k, pos)                          append k, v to the sequence's cache
//!   a[N, H·hd] = softmax(q·Kᵀ·scale + causal/window mask)·V   (per head; Hkv heads shared)
//!   x         += post_norm(a·Woᵀ (+bo))
//!   h          = norm(x)                                  ffn_norm
//!   x         += post_norm(down(act(gate(h)) · up(h)))    or down(act(up(h))) without a gate
//! logits       = norm(x)·Woutᵀ                            only for the rows asked for
//! ```

use std::path::Path;
use std::sync::Arc;

use ferrocodex_gguf::GgufFile;
use ferrocodex_tokenizer::Tokenizer;
use ferrocodex_quant::{f16_dot_ordered_many, f16_fma_cells, vec_dot, GgmlType, LaneOrder};
use half::f16;
use half::slice::HalfFloatSliceExt;
use rayon::prelude::*;

use crate::config::{Activation, ModelConfig, NormKind, RopeLayout};
use crate::kv::{KvCache, SeqId};
use crate::matmul::{matmul, Scratch};
use crate::ops;
use crate::trace::Trace;
use crate::weights::Weights;
use crate::EngineError;

/// Which positions of a sequence's new tokens need logits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogitsFor {
    None,
    Last,
    All,
}

/// New tokens for one sequence.
#[derive(Clone, Copy, Debug)]
pub struct SeqInput<'a> {
    pub seq: SeqId,
    pub tokens: &'a [u32],
    pub logits: LogitsFor,
}

/// Logits rows produced by a forward pass, in batch order: for each input in turn, a row for
/// each position it asked for.
pub struct Logits {
    pub vocab: usize,
    pub data: Vec<f32>,
    /// (input index, token index within that input) of each row.
    pub rows: Vec<(usize, usize)>,
}

impl Logits {
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.vocab..(i + 1) * self.vocab]
    }

    pub fn n_rows(&self) -> usize {
        self.rows.len()
    }

    /// The row for token `tok` of input `input`, if it was asked for.
    pub fn find(&self, input: usize, tok: usize) -> Option<&[f32]> {
        self.rows.iter().position(|&r| r == (input, tok)).map(|i| self.row(i))
    }
}

#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Worker threads for the forward pass (default: the machine's available parallelism).
    pub threads: Option<usize>,
}

/// Most tokens processed in one internal pass; longer inputs are prefilled in chunks.
pub const MAX_BATCH_TOKENS: usize = 512;

pub struct Model {
    config: ModelConfig,
    weights: Weights,
    tokenizer: Arc<Tokenizer>,
    file: GgufFile,
    pool: rayon::ThreadPool,
    /// A logits buffer handed back with [`Model::recycle_logits`], reused by the next pass: a
    /// batch's logits (262,144 floats a row for the default model) would otherwise be fresh
    /// pages of memory, faulted in and cleared, on every decoding step.
    spare_logits: std::sync::Mutex<Vec<f32>>,
}

impl Model {
    /// Loads a GGUF model: validates the file, reads the configuration, maps the weights and
    /// builds the tokenizer.
    pub fn load(path: &Path, opts: &LoadOptions) -> Result<Model, EngineError> {
        let file = GgufFile::open(path)?;
        Self::from_gguf(file, opts)
    }

    pub fn from_gguf(file: GgufFile, opts: &LoadOptions) -> Result<Model, EngineError> {
        let config = ModelConfig::from_gguf(&file)?;
        // The tokenizer (most of the load time) builds while the weights are mapped.
        let (tokenizer, weights) = std::thread::scope(|scope| {
            let tokenizer = scope.spawn(|| Tokenizer::from_gguf(&file));
            let weights = Weights::load(&file, &config);
            (tokenizer.join().expect("tokenizer loader panicked"), weights)
        });
        let tokenizer = tokenizer.map_err(EngineError::Tokenizer)?;
        release_freed_memory();
        if tokenizer.vocab_size() != config.vocab_size {
            return Err(EngineError::Model(format!(
                "the tokenizer has {} tokens but the model {}",
                tokenizer.vocab_size(),
                config.vocab_size
            )));
        }
        let weights = weights?;
        let threads = opts
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("ferrocodex-worker-{i}"))
            .build()
            .map_err(|e| EngineError::Model(format!("cannot start {threads} worker threads: {e}")))?;
        Ok(Model {
            config,
            weights,
            tokenizer: Arc::new(tokenizer),
            file,
            pool,
            spare_logits: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Hands back a [`Logits`] the caller is done with, so that its memory serves the next
    /// pass (optional: a pass allocates when there is nothing to reuse).
    pub fn recycle_logits(&self, logits: Logits) {
        let mut spare = self.spare_logits.lock().unwrap_or_else(|e| e.into_inner());
        if logits.data.capacity() > spare.capacity() {
            *spare = logits.data;
        }
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    pub fn tokenizer(&self) -> &Arc<Tokenizer> {
        &self.tokenizer
    }

    pub fn gguf(&self) -> &GgufFile {
        &self.file
    }

    /// The model's worker threads, for work between forward passes (sampling many sequences).
    pub fn pool(&self) -> &rayon::ThreadPool {
        &self.pool
    }

    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// A KV cache whose sequences may hold up to `max_len` tokens (capped at the trained context).
    pub fn new_cache(&self, max_len: usize) -> KvCache {
        let c = &self.config;
        KvCache::new(c.n_layer, c.kv_dim(), c.v_dim(), max_len.min(c.n_ctx_train))
    }

    /// Runs new tokens of one or more sequences through the model, appending them to their
    /// cache slots, and returns the logits asked for. Inputs longer than [`MAX_BATCH_TOKENS`]
    /// in total are processed in chunks.
    pub fn forward(&self, cache: &mut KvCache, inputs: &[SeqInput]) -> Result<Logits, EngineError> {
        // Validate everything before touching the cache, so an error leaves it unchanged.
        for (i, inp) in inputs.iter().enumerate() {
            if inputs[..i].iter().any(|o| o.seq == inp.seq) {
                return Err(EngineError::Model(format!("sequence {} appears twice in one batch", inp.seq)));
            }
            cache.check_room(inp.seq, inp.tokens.len())?;
            if let Some(&t) = inp.tokens.iter().find(|&&t| t as usize >= self.config.vocab_size) {
                return Err(EngineError::BadToken {
                    token: t,
                    vocab: self.config.vocab_size,
                });
            }
        }
        let total: usize = inputs.iter().map(|i| i.tokens.len()).sum();
        if total <= MAX_BATCH_TOKENS {
            return self.forward_pass(cache, inputs);
        }
        // Chunked: split the inputs' tokens into passes of at most MAX_BATCH_TOKENS.
        let mut out = Logits {
            vocab: self.config.vocab_size,
            data: Vec::new(),
            rows: Vec::new(),
        };
        let mut done = vec![0usize; inputs.len()];
        loop {
            let mut budget = MAX_BATCH_TOKENS;
            let mut pass = Vec::new();
            let mut origin = Vec::new();
            for (i, inp) in inputs.iter().enumerate() {
                let left = inp.tokens.len() - done[i];
                if left == 0 || budget == 0 {
                    continue;
                }
                let take = left.min(budget);
                budget -= take;
                let is_end = done[i] + take == inp.tokens.len();
                let logits = match inp.logits {
                    LogitsFor::All => LogitsFor::All,
                    LogitsFor::Last if is_end => LogitsFor::Last,
                    _ => LogitsFor::None,
                };
                pass.push(SeqInput {
                    seq: inp.seq,
                    tokens: &inp.tokens[done[i]..done[i] + take],
                    logits,
                });
                origin.push((i, done[i]));
                done[i] += take;
            }
            if pass.is_empty() {
                break;
            }
            let part = self.forward_pass(cache, &pass)?;
            out.data.extend_from_slice(&part.data);
            out.rows
                .extend(part.rows.iter().map(|&(pi, t)| (origin[pi].0, origin[pi].1 + t)));
        }
        Ok(out)
    }

    /// One pass, run on one of the pool's own threads: the parallel operations inside then hand
    /// work to the other threads directly, where from an outside thread each of them (some 150
    /// per token) would be injected into the pool and waited for.
    fn forward_pass(&self, cache: &mut KvCache, inputs: &[SeqInput]) -> Result<Logits, EngineError> {
        self.pool.install(|| self.forward_pass_on_pool(cache, inputs))
    }

    fn forward_pass_on_pool(&self, cache: &mut KvCache, inputs: &[SeqInput]) -> Result<Logits, EngineError> {
        let c = &self.config;
        let w = &self.weights;
        let d = c.n_embd;
        let hd = c.head_dim;
        let hd_v = c.head_dim_v;
        let qd = c.q_dim();
        let kvd = c.kv_dim();
        let vd = c.v_dim();

        // Row bookkeeping: (sequence, position) of every token in the pass.
        let mut row_seq = Vec::new();
        let mut row_pos = Vec::new();
        let mut want = Vec::new();
        for (i, inp) in inputs.iter().enumerate() {
            let start = cache.seq_len(inp.seq)?;
            for (j, _) in inp.tokens.iter().enumerate() {
                row_seq.push(inp.seq);
                row_pos.push(start + j);
                let wanted = match inp.logits {
                    LogitsFor::All => true,
                    LogitsFor::Last => j + 1 == inp.tokens.len(),
                    LogitsFor::None => false,
                };
                if wanted {
                    want.push((row_seq.len() - 1, (i, j)));
                }
            }
        }
        let n = row_seq.len();
        // Rows still carried through the layers (fewer in the last layer, see there), and the
        // lengths of the runs of them that belong to one input (see `matmul`).
        let mut live = n;
        let segments: Vec<usize> = inputs.iter().map(|i| i.tokens.len()).collect();
        let mut live_segments = segments.clone();
        // Each row's input length: the reference multiplies a single token and a batch of
        // tokens differently, and each sequence is computed as if its input were alone.
        let row_input_len: Vec<usize> = inputs.iter().flat_map(|i| std::iter::repeat_n(i.tokens.len(), i.tokens.len())).collect();
        let mut scratch = Scratch::default();
        let tr = Trace::start();

        // x[N, d]: token embeddings.
        let mut x = vec![0f32; n * d];
        for (r, &tok) in inputs.iter().flat_map(|i| i.tokens).enumerate() {
            let row = &mut x[r * d..(r + 1) * d];
            w.token_embd.dequantize_row(tok as usize, row);
            if let Some(s) = c.embed_scale {
                row.iter_mut().for_each(|v| *v *= s);
            }
        }
        tr.dump("inp_scaled", None, &x);

        let mut h = vec![0f32; n * d];
        let mut q = vec![0f32; n * qd];
        let mut k = vec![0f32; n * kvd];
        let mut v = vec![0f32; n * vd];
        let mut attn = vec![0f32; n * c.n_head * hd_v];
        let mut o = vec![0f32; n * d];
        let mut gate = vec![0f32; n * c.n_ff];
        let mut up = vec![0f32; n * c.n_ff];
        // Rotary angles of every row's position, for each of the two bases, made once per
        // pass rather than once per layer.
        let angle_table = |base: f32| {
            let mut table = Vec::with_capacity(n * c.rope_dim / 2);
            let mut angles = Vec::new();
            for &pos in &row_pos {
                ops::rope_angles(pos, c.rope_dim, base, c.rope_freq_scale, &mut angles);
                table.extend_from_slice(&angles);
            }
            table
        };
        let angles_global = angle_table(c.rope_base);
        let angles_swa = if c.swa_layers.iter().any(|&s| s) { angle_table(c.rope_base_swa) } else { Vec::new() };

        for (l, lw) in w.layers.iter().enumerate() {
            // --- attention ---
            rows_from(&mut h, &x, d, |row, src| {
                row.copy_from_slice(src);
                self.norm(row, &lw.attn_norm, lw.attn_norm_b.as_deref());
            });
            tr.dump("attn_norm", Some(l), &h);
            matmul(&self.pool, &lw.wq, &h, n, &segments, &mut q, &mut scratch);
            matmul(&self.pool, &lw.wk, &h, n, &segments, &mut k, &mut scratch);
            matmul(&self.pool, &lw.wv, &h, n, &segments, &mut v, &mut scratch);
            add_bias(&mut q, lw.bq.as_deref());
            add_bias(&mut k, lw.bk.as_deref());
            add_bias(&mut v, lw.bv.as_deref());
            tr.dump("Qcur", Some(l), &q);
            tr.dump("Kcur", Some(l), &k);
            tr.dump("Vcur", Some(l), &v);
            if let (Some(qn), Some(kn)) = (&lw.q_norm, &lw.k_norm) {
                rows(&mut q, qd, |row| row.chunks_exact_mut(hd).for_each(|head| ops::rms_norm(head, qn, c.norm_eps)));
                rows(&mut k, kvd, |row| row.chunks_exact_mut(hd).for_each(|head| ops::rms_norm(head, kn, c.norm_eps)));
                tr.dump("Qcur_normed", Some(l), &q);
                tr.dump("Kcur_normed", Some(l), &k);
            }
            let swa = c.swa_layers[l];
            let angles = if swa { &angles_swa } else { &angles_global };
            let half = c.rope_dim / 2;
            let rope = |row: &mut [f32], r: usize| {
                let angles = &angles[r * half..(r + 1) * half];
                row.chunks_exact_mut(hd).for_each(|head| match c.rope_layout {
                    RopeLayout::Halves => ops::rope_halves(&mut head[..c.rope_dim], angles),
                    RopeLayout::Adjacent => ops::rope_adjacent(&mut head[..c.rope_dim], angles),
                });
            };
            rows_indexed(&mut q, qd, rope);
            rows_indexed(&mut k, kvd, rope);
            tr.dump("Qcur_rope", Some(l), &q);
            tr.dump("Kcur_rope", Some(l), &k);
            if let Some(s) = c.query_scale {
                rows(&mut q, qd, |row| row.iter_mut().for_each(|v| *v *= s));
            }
            for r in 0..n {
                cache.push(row_seq[r], l, &k[r * kvd..(r + 1) * kvd], &v[r * vd..(r + 1) * vd]);
            }
            let window = if swa { c.sliding_window } else { None };
            self.attention(cache, l, &q, &row_seq, &row_pos, &row_input_len, window, &mut attn);
            tr.dump("kqv_out", Some(l), &attn);
            matmul(&self.pool, &lw.wo, &attn, n, &segments, &mut o, &mut scratch);
            add_bias(&mut o, lw.bo.as_deref());
            tr.dump("attn_out", Some(l), &o);
            if l + 1 == w.layers.len() && want.len() < live {
                // The rest of the last layer only matters for the rows that give logits; the
                // reference drops the others here too, so its feed-forward (and the kernel
                // its batch size selects) sees just these rows.
                let keep: Vec<usize> = want.iter().map(|&(r, _)| r).collect();
                x = gather_rows(&x, &keep, d);
                o = gather_rows(&o, &keep, d);
                live = keep.len();
                h.truncate(live * d);
                gate.truncate(live * c.n_ff);
                up.truncate(live * c.n_ff);
                for (i, wanted) in want.iter_mut().enumerate() {
                    wanted.0 = i;
                }
                live_segments = vec![0; inputs.len()];
                for &(_, (input, _)) in &want {
                    live_segments[input] += 1;
                }
            }
            residual(&mut x, &mut o, d, lw.post_attn_norm.as_deref(), c.norm_eps);
            if lw.post_attn_norm.is_some() {
                tr.dump("attn_post_norm", Some(l), &o);
            }
            tr.dump("sa_out", Some(l), &x);

            // --- feed-forward ---
            rows_from(&mut h, &x, d, |row, src| {
                row.copy_from_slice(src);
                self.norm(row, &lw.ffn_norm, lw.ffn_norm_b.as_deref());
            });
            tr.dump("ffn_norm", Some(l), &h);
            let act = |v: f32| match c.activation {
                Activation::Silu => ops::silu(v),
                Activation::GeluTanh => ops::gelu(v),
            };
            matmul(&self.pool, &lw.w_up, &h, live, &live_segments, &mut up, &mut scratch);
            add_bias(&mut up, lw.b_up.as_deref());
            match &lw.w_gate {
                Some(wg) => {
                    matmul(&self.pool, wg, &h, live, &live_segments, &mut gate, &mut scratch);
                    tr.dump("ffn_gate", Some(l), &gate);
                    tr.dump("ffn_up", Some(l), &up);
                    rows_from(&mut gate, &up, c.n_ff, |g, u| g.iter_mut().zip(u).for_each(|(g, u)| *g = act(*g) * u));
                }
                None => rows_from(&mut gate, &up, c.n_ff, |g, u| g.iter_mut().zip(u).for_each(|(g, u)| *g = act(*u))),
            }
            tr.dump("ffn_act", Some(l), &gate);
            matmul(&self.pool, &lw.w_down, &gate, live, &live_segments, &mut o, &mut scratch);
            add_bias(&mut o, lw.b_down.as_deref());
            tr.dump("ffn_out", Some(l), &o);
            residual(&mut x, &mut o, d, lw.post_ffn_norm.as_deref(), c.norm_eps);
            if lw.post_ffn_norm.is_some() {
                tr.dump("ffn_post_norm", Some(l), &o);
            }
            tr.dump("l_out", Some(l), &x);
        }
        for r in 0..n {
            cache.advance(row_seq[r], 1);
        }

        // Logits only for the rows asked for.
        let m = want.len();
        let mut sel = vec![0f32; m * d];
        for (i, &(r, _)) in want.iter().enumerate() {
            let row = &mut sel[i * d..(i + 1) * d];
            row.copy_from_slice(&x[r * d..(r + 1) * d]);
            self.norm(row, &w.output_norm, w.output_norm_b.as_deref());
        }
        tr.dump("result_norm", None, &sel);
        // Every element is written by the product below; a recycled buffer keeps its old
        // (initialised) contents and is only extended where it is too short.
        let mut data = std::mem::take(&mut *self.spare_logits.lock().unwrap_or_else(|e| e.into_inner()));
        data.truncate(m * c.vocab_size);
        data.resize(m * c.vocab_size, 0.0);
        if m > 0 {
            matmul(&self.pool, &w.output, &sel, m, &live_segments, &mut data, &mut scratch);
        }
        tr.dump("result_output", None, &data);
        Ok(Logits {
            vocab: c.vocab_size,
            data,
            rows: want.into_iter().map(|(_, id)| id).collect(),
        })
    }

    fn norm(&self, row: &mut [f32], w: &[f32], b: Option<&[f32]>) {
        match self.config.norm {
            NormKind::Rms => ops::rms_norm(row, w, self.config.norm_eps),
            NormKind::Layer => ops::layer_norm(row, w, b, self.config.norm_eps),
        }
    }

    /// Causal (and optionally sliding-window) attention of every row's query heads over its
    /// own sequence's cached keys and values, computed as the reference does, bit for bit:
    /// keys and values are half precision; the query and the attention weights are rounded to
    /// half precision for the products; each product is a fused multiply-add chain per lane
    /// whose order depends on whether the pass is batched ([`LaneOrder`]); and the softmax is
    /// [`ops::softmax_cells`].
    #[allow(clippy::too_many_arguments)]
    fn attention(
        &self,
        cache: &KvCache,
        layer: usize,
        q: &[f32],
        row_seq: &[SeqId],
        row_pos: &[usize],
        row_input_len: &[usize],
        window: Option<usize>,
        out: &mut [f32],
    ) {
        let c = &self.config;
        let (hd, hd_v, n_head) = (c.head_dim, c.head_dim_v, c.n_head);
        let kvd = c.kv_dim();
        let vd = c.v_dim();
        let group = n_head / c.n_head_kv;
        let scale = if c.query_scale.is_some() { 1.0 } else { c.kq_scale };
        let rows = row_seq.len();
        // The reference multiplies a batch through its tiled product (8 lanes) and a single
        // token through its vector dot product (32 lanes), decided here by the row's own
        // input; a head size that is not a whole number of lanes falls back to lanes of 8 or,
        // failing that, the plain f16 dot product (such models are only compared loosely).
        let orders = |r: usize| {
            let order = if row_input_len[r] >= 2 { LaneOrder::Lanes8 } else { LaneOrder::Lanes32 };
            let dot_order = if hd % order.lanes() == 0 { order } else { LaneOrder::Lanes8 };
            (order, dot_order)
        };
        // Tasks take `sg` query heads of one key/value group at a time, so each key and value
        // row is read once for all of them; the group is split only as far as needed to give
        // every thread work (a single decoding sequence still uses all threads).
        let threads = self.pool.current_num_threads().max(1);
        let sg = (1..=group)
            .rev()
            .find(|&sg| group % sg == 0 && rows * n_head / sg >= threads)
            .unwrap_or(1);
        let per_row = n_head / sg;
        let task = |(idx, out_sub): (usize, &mut [f32])| {
            let (r, h0) = (idx / per_row, (idx % per_row) * sg);
            let (order, dot_order) = orders(r);
            let lanes = order.lanes();
            let kvh = h0 / group;
            let pos = row_pos[r];
            let (keys, values) = cache.layer(row_seq[r], layer);
            let first = window.map_or(0, |w| (pos + 1).saturating_sub(w));
            let npos = pos + 1 - first;
            ATTENTION_SCRATCH.with_borrow_mut(|scratch| {
                let AttentionScratch { qh, raw, probs, acc } = scratch;
                // Every buffer is wholly written below before it is read.
                qh.resize(sg * hd, f16::ZERO);
                raw.resize(npos * sg, 0.0);
                probs.resize(sg * npos, 0.0);
                acc.resize(lanes * sg * hd_v, 0.0);
                qh.convert_from_f32_slice(&q[r * n_head * hd + h0 * hd..][..sg * hd]);
                let qb = f16_bytes(qh);
                if hd % 8 == 0 {
                    let k = f16_bytes(&keys[first * kvd + kvh * hd..pos * kvd + kvh * hd + hd]);
                    f16_dot_ordered_many(dot_order, hd, k, kvd, npos, qb, raw);
                } else {
                    for (j, cell) in (first..=pos).enumerate() {
                        let k = f16_bytes(&keys[cell * kvd + kvh * hd..][..hd]);
                        for i in 0..sg {
                            raw[j * sg + i] = vec_dot(GgmlType::F16, hd, k, &qb[2 * i * hd..2 * (i + 1) * hd]);
                        }
                    }
                }
                for (j, r) in raw.chunks_exact(sg).enumerate() {
                    for (i, &v) in r.iter().enumerate() {
                        probs[i * npos + j] = v * scale;
                    }
                }
                for ph in probs.chunks_exact_mut(npos) {
                    ops::softmax_cells(ph, first);
                    // The reference rounds the weights to half precision before the values.
                    for p in ph.iter_mut() {
                        *p = f16::from_f32(*p).to_f32();
                    }
                }
                // Lane accumulators, laid out [lane][head][dim]: cell j goes to lane j mod lanes.
                let v = f16_bytes(&values[first * vd + kvh * hd_v..pos * vd + kvh * hd_v + hd_v]);
                f16_fma_cells(probs, sg, v, vd, hd_v, npos, lanes, first % lanes, acc);
                for i in 0..sg {
                    let lane = |l: usize| &acc[(l * sg + i) * hd_v..][..hd_v];
                    reduce_lanes(order, &lane, &mut out_sub[i * hd_v..(i + 1) * hd_v]);
                }
            });
        };
        if rows * per_row == 1 {
            out.chunks_exact_mut(sg * hd_v).enumerate().for_each(task);
        } else {
            self.pool
                .install(|| out.par_chunks_exact_mut(sg * hd_v).enumerate().for_each(task));
        }
    }
}

/// One thread's working buffers for [`Model::attention`], kept from task to task so that a
/// pass does not allocate and clear them for every row and head group.
#[derive(Default)]
struct AttentionScratch {
    qh: Vec<f16>,
    raw: Vec<f32>,
    probs: Vec<f32>,
    acc: Vec<f32>,
}

thread_local! {
    static ATTENTION_SCRATCH: std::cell::RefCell<AttentionScratch> = Default::default();
}

/// Hands memory freed by the tokenizer build (tens of megabytes of merge strings, freed on its
/// own thread's heap, which later allocations on other threads would not reuse) back to the
/// system, so that it does not add to the process's peak memory.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: glibc's malloc_trim only releases free pages of its heaps; it is safe to call
        // at any time from any thread.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// `out[d]` = the lanes `lane(0..lanes)[d]` summed in `order`'s tree
/// ([`LaneOrder::reduce`]), a chunk of elements at a time with every row sliced to the
/// chunk's length, so that each step is a plain element-wise loop that vectorises.
fn reduce_lanes<'a>(order: LaneOrder, lane: &impl Fn(usize) -> &'a [f32], out: &mut [f32]) {
    const CHUNK: usize = 64;
    let n = out.len();
    match order {
        LaneOrder::Lanes8 => {
            let x: [&[f32]; 8] = std::array::from_fn(|l| &lane(l)[..n]);
            for c in (0..n).step_by(CHUNK) {
                let m = CHUNK.min(n - c);
                let r: [&[f32]; 8] = std::array::from_fn(|l| &x[l][c..c + m]);
                for (d, o) in out[c..c + m].iter_mut().enumerate() {
                    *o = ((r[4][d] + r[0][d]) + (r[6][d] + r[2][d])) + ((r[5][d] + r[1][d]) + (r[7][d] + r[3][d]));
                }
            }
        }
        LaneOrder::Lanes32 => {
            let x: [&[f32]; 32] = std::array::from_fn(|l| &lane(l)[..n]);
            let mut z = [[0f32; CHUNK]; 8];
            for c in (0..n).step_by(CHUNK) {
                let m = CHUNK.min(n - c);
                for (l, zl) in z.iter_mut().enumerate() {
                    let (a, b) = (&x[l][c..c + m], &x[16 + l][c..c + m]);
                    let (e, f) = (&x[8 + l][c..c + m], &x[24 + l][c..c + m]);
                    for (d, v) in zl[..m].iter_mut().enumerate() {
                        *v = (a[d] + b[d]) + (e[d] + f[d]);
                    }
                }
                for (d, o) in out[c..c + m].iter_mut().enumerate() {
                    let t = [z[0][d] + z[4][d], z[1][d] + z[5][d], z[2][d] + z[6][d], z[3][d] + z[7][d]];
                    *o = (t[0] + t[1]) + (t[2] + t[3]);
                }
            }
        }
    }
}

/// The rows `keep` of a row-major matrix with rows of `d` values.
fn gather_rows(x: &[f32], keep: &[usize], d: usize) -> Vec<f32> {
    keep.iter().flat_map(|&r| &x[r * d..(r + 1) * d]).copied().collect()
}

fn add_bias(x: &mut [f32], b: Option<&[f32]>) {
    if let Some(b) = b {
        for row in x.chunks_exact_mut(b.len()) {
            row.iter_mut().zip(b).for_each(|(v, bb)| *v += bb);
        }
    }
}

/// The bytes of half floats, as the dot-product kernels take them.
fn f16_bytes(h: &[f16]) -> &[u8] {
    // SAFETY: f16 is a plain 2-byte value with no padding; any byte view of it is valid.
    unsafe { std::slice::from_raw_parts(h.as_ptr().cast::<u8>(), std::mem::size_of_val(h)) }
}

/// Passes whose per-row work spans at least this many elements run it on the pool; smaller
/// ones (decoding a few sequences) stay on the calling thread, where a fork would cost more
/// than it saves.
const PAR_MIN_ELEMENTS: usize = 1 << 15;

/// Rows handed to one task: about this many elements each.
fn rows_per_task(width: usize) -> usize {
    (8192 / width.max(1)).max(1)
}

/// `f(row)` for each `width`-element row of `data`. Every row goes through the same
/// operations wherever it runs, so the result does not depend on the split.
fn rows(data: &mut [f32], width: usize, f: impl Fn(&mut [f32]) + Sync) {
    rows_indexed(data, width, |row, _| f(row));
}

/// `f(row, r)` for each `width`-element row `r` of `data` (see [`rows`]).
fn rows_indexed(data: &mut [f32], width: usize, f: impl Fn(&mut [f32], usize) + Sync) {
    if data.len() < PAR_MIN_ELEMENTS {
        data.chunks_exact_mut(width).enumerate().for_each(|(r, row)| f(row, r));
        return;
    }
    let per = rows_per_task(width);
    data.par_chunks_mut(per * width).enumerate().for_each(|(t, chunk)| {
        for (i, row) in chunk.chunks_exact_mut(width).enumerate() {
            f(row, t * per + i);
        }
    });
}

/// `f(row, src row)` for each `width`-element row of `data` and the same row of `src`
/// (see [`rows`]).
fn rows_from(data: &mut [f32], src: &[f32], width: usize, f: impl Fn(&mut [f32], &[f32]) + Sync) {
    let src = &src[..data.len()];
    if data.len() < PAR_MIN_ELEMENTS {
        data.chunks_exact_mut(width).zip(src.chunks_exact(width)).for_each(|(row, s)| f(row, s));
        return;
    }
    let per = rows_per_task(width) * width;
    data.par_chunks_mut(per).zip(src.par_chunks(per)).for_each(|(chunk, s)| {
        chunk.chunks_exact_mut(width).zip(s.chunks_exact(width)).for_each(|(row, s)| f(row, s));
    });
}

/// The residual step: each row of `o` RMS-normalised by `norm` where there is one, then added
/// to the same row of `x`.
fn residual(x: &mut [f32], o: &mut [f32], d: usize, norm: Option<&[f32]>, eps: f32) {
    if let Some(w) = norm {
        rows(o, d, |row| ops::rms_norm(row, w, eps));
    }
    rows_from(x, o, d, |xr, or| xr.iter_mut().zip(or).for_each(|(a, b)| *a += b));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocodex_quant::scalar::{reduce_lanes32, reduce_lanes8};

    /// The chunked, vectorisable lane sums give the reference tree's bits element by element,
    /// for lengths that are and are not whole chunks.
    #[test]
    fn reduce_lanes_matches_the_reference_trees() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Mixed magnitudes, so that the order of additions shows in the bits.
            ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 10f32.powi((state % 7) as i32 - 3)
        };
        for n in [1usize, 7, 64, 65, 130, 256] {
            let lanes: Vec<Vec<f32>> = (0..32).map(|_| (0..n).map(|_| next()).collect()).collect();
            let lane = |l: usize| lanes[l].as_slice();
            let mut out = vec![0f32; n];
            reduce_lanes(LaneOrder::Lanes8, &lane, &mut out);
            for (d, &o) in out.iter().enumerate() {
                let x: [f32; 8] = std::array::from_fn(|l| lanes[l][d]);
                assert_eq!(o.to_bits(), reduce_lanes8(&x).to_bits(), "8 lanes, n {n}, element {d}");
            }
            reduce_lanes(LaneOrder::Lanes32, &lane, &mut out);
            for (d, &o) in out.iter().enumerate() {
                let x: [f32; 32] = std::array::from_fn(|l| lanes[l][d]);
                assert_eq!(o.to_bits(), reduce_lanes32(&x).to_bits(), "32 lanes, n {n}, element {d}");
            }
        }
    }
}
