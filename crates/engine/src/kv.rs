//! The key/value cache: per-sequence slots holding every layer's keys and values in half
//! precision, grown as the sequence grows (so memory follows the context actually used), and
//! forked or freed per sequence (n samples and beams share a prompt by forking its slot).

use half::f16;

use crate::EngineError;

/// Handle of a sequence slot in a [`KvCache`].
pub type SeqId = usize;

#[derive(Clone)]
struct SeqKv {
    /// Tokens stored so far (= the position of the next token).
    len: usize,
    /// Per layer: keys, `len × kv_dim` half floats, position-major.
    k: Vec<Vec<f16>>,
    /// Per layer: values, `len × v_dim` half floats, position-major.
    v: Vec<Vec<f16>>,
}

pub struct KvCache {
    slots: Vec<Option<SeqKv>>,
    n_layer: usize,
    kv_dim: usize,
    v_dim: usize,
    max_len: usize,
}

impl KvCache {
    /// A cache for a model with `n_layer` layers whose sequences may grow to `max_len` tokens.
    pub fn new(n_layer: usize, kv_dim: usize, v_dim: usize, max_len: usize) -> KvCache {
        KvCache {
            slots: Vec::new(),
            n_layer,
            kv_dim,
            v_dim,
            max_len,
        }
    }

    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Opens an empty sequence slot.
    pub fn new_seq(&mut self) -> SeqId {
        let seq = SeqKv {
            len: 0,
            k: vec![Vec::new(); self.n_layer],
            v: vec![Vec::new(); self.n_layer],
        };
        match self.slots.iter().position(Option::is_none) {
            Some(i) => {
                self.slots[i] = Some(seq);
                i
            }
            None => {
                self.slots.push(Some(seq));
                self.slots.len() - 1
            }
        }
    }

    /// A new slot holding a copy of `src`'s keys and values.
    pub fn fork(&mut self, src: SeqId) -> Result<SeqId, EngineError> {
        let copy = self.slot(src)?.clone();
        let id = self.new_seq();
        self.slots[id] = Some(copy);
        Ok(id)
    }

    /// Frees a slot; its id may be reused.
    pub fn free(&mut self, id: SeqId) {
        if let Some(s) = self.slots.get_mut(id) {
            *s = None;
        }
    }

    /// Number of tokens stored for `id` (the position its next token takes).
    pub fn seq_len(&self, id: SeqId) -> Result<usize, EngineError> {
        Ok(self.slot(id)?.len)
    }

    /// Forgets everything after the first `len` tokens of `id`.
    pub fn truncate(&mut self, id: SeqId, len: usize) -> Result<(), EngineError> {
        let (kv_dim, v_dim) = (self.kv_dim, self.v_dim);
        let s = self.slot_mut(id)?;
        if len < s.len {
            s.len = len;
            for k in &mut s.k {
                k.truncate(len * kv_dim);
            }
            for v in &mut s.v {
                v.truncate(len * v_dim);
            }
        }
        Ok(())
    }

    /// Bytes held by all live slots.
    pub fn memory_bytes(&self) -> usize {
        self.slots
            .iter()
            .flatten()
            .map(|s| s.k.iter().chain(&s.v).map(|l| l.capacity() * 2).sum::<usize>())
            .sum()
    }

    fn slot(&self, id: SeqId) -> Result<&SeqKv, EngineError> {
        self.slots
            .get(id)
            .and_then(Option::as_ref)
            .ok_or(EngineError::NoSuchSequence(id))
    }

    fn slot_mut(&mut self, id: SeqId) -> Result<&mut SeqKv, EngineError> {
        self.slots
            .get_mut(id)
            .and_then(Option::as_mut)
            .ok_or(EngineError::NoSuchSequence(id))
    }

    /// Checks that `n` more tokens fit in sequence `id`.
    pub(crate) fn check_room(&self, id: SeqId, n: usize) -> Result<usize, EngineError> {
        let len = self.slot(id)?.len;
        if len + n > self.max_len {
            return Err(EngineError::ContextFull {
                needed: len + n,
                limit: self.max_len,
            });
        }
        Ok(len)
    }

    /// Appends one position's key and value for `layer` (the caller appends every layer, then
    /// calls [`KvCache::advance`]).
    pub(crate) fn push(&mut self, id: SeqId, layer: usize, k: &[f32], v: &[f32]) {
        let s = self.slots[id].as_mut().expect("checked by check_room");
        s.k[layer].extend(k.iter().map(|&x| f16::from_f32(x)));
        s.v[layer].extend(v.iter().map(|&x| f16::from_f32(x)));
    }

    pub(crate) fn advance(&mut self, id: SeqId, n: usize) {
        let s = self.slots[id].as_mut().expect("checked by check_room");
        s.len += n;
    }

    /// Keys and values of `layer` for sequence `id`: every position pushed so far.
    pub(crate) fn layer(&self, id: SeqId, layer: usize) -> (&[f16], &[f16]) {
        let s = self.slots[id].as_ref().expect("checked by check_room");
        (&s.k[layer], &s.v[layer])
    }
}
