//! Streaming detokenization: text out as soon as it is whole.

use crate::Tokenizer;

/// Turns ids into text one at a time, for streaming. A character split over several tokens
/// (an emoji spelled as four `<0xNN>` byte tokens, or a byte-level BPE token ending mid-character)
/// is held back until its last byte arrives, so every returned string is complete UTF-8 and
/// the concatenation of all of them equals [`Tokenizer::decode`] of the same ids.
///
/// ```no_run
/// # fn demo(tok: &ferrocodex_tokenizer::Tokenizer, ids: &[u32]) {
/// let mut stream = ferrocodex_tokenizer::StreamDecoder::new(tok);
/// for &id in ids {
///     print!("{}", stream.push(id));
/// }
/// print!("{}", stream.finish());
/// # }
/// ```
pub struct StreamDecoder<'a> {
    tok: &'a Tokenizer,
    /// Bytes received but not yet returned: at most an incomplete character's first bytes.
    pending: Vec<u8>,
}

impl<'a> StreamDecoder<'a> {
    pub fn new(tok: &'a Tokenizer) -> Self {
        StreamDecoder {
            tok,
            pending: Vec::new(),
        }
    }

    /// Adds one token and returns the text that is now complete (possibly empty). Control
    /// tokens add nothing.
    pub fn push(&mut self, id: u32) -> String {
        self.pending.extend_from_slice(self.tok.piece(id, false));
        self.take_complete()
    }

    /// Returns whatever is still held back, with U+FFFD for bytes that never formed a character.
    pub fn finish(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }

    /// Emits the valid UTF-8 at the front of `pending`, replacing bytes that can never become
    /// a character with U+FFFD, and keeps an incomplete trailing character for later.
    fn take_complete(&mut self) -> String {
        let mut out = String::new();
        let mut start = 0;
        loop {
            match std::str::from_utf8(&self.pending[start..]) {
                Ok(s) => {
                    out.push_str(s);
                    start = self.pending.len();
                    break;
                }
                Err(e) => {
                    let valid = start + e.valid_up_to();
                    // The bytes up to `valid` were just checked.
                    out.push_str(&String::from_utf8_lossy(&self.pending[start..valid]));
                    match e.error_len() {
                        Some(bad) => {
                            out.push('\u{FFFD}');
                            start = valid + bad;
                        }
                        None => {
                            start = valid;
                            break;
                        }
                    }
                }
            }
        }
        self.pending.drain(..start);
        out
    }
}
