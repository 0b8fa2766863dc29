//! Stop strings matched on text across token boundaries.

/// Watches generated text for stop strings. Text is released only once it can no longer be
/// the beginning of a stop string; when a stop string appears, the text before it is released
/// and the rest discarded.
pub struct StopMatcher {
    stops: Vec<String>,
    /// Text received but not yet released.
    held: String,
    matched: bool,
    /// Index (in the list given to `new`) of the stop string that was found.
    which: Option<usize>,
}

impl StopMatcher {
    pub fn new(stops: &[String]) -> StopMatcher {
        StopMatcher {
            stops: stops.to_vec(),
            held: String::new(),
            matched: false,
            which: None,
        }
    }

    /// Whether a stop string has been seen.
    pub fn matched(&self) -> bool {
        self.matched
    }

    /// Which stop string was found (its index in the list given to [`StopMatcher::new`]).
    pub fn which(&self) -> Option<usize> {
        self.which
    }

    /// Adds text; returns the text that is now final and whether a stop string was reached.
    pub fn push(&mut self, piece: &str) -> (String, bool) {
        if self.matched {
            return (String::new(), true);
        }
        self.held.push_str(piece);
        // The earliest stop occurrence wins.
        let first = self
            .stops
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.is_empty())
            .filter_map(|(i, s)| self.held.find(s.as_str()).map(|at| (at, i)))
            .min();
        if let Some((at, i)) = first {
            self.matched = true;
            self.which = Some(i);
            let out = self.held[..at].to_string();
            self.held.clear();
            return (out, true);
        }
        // Hold back the longest suffix that is a proper prefix of some stop string.
        let keep = self
            .stops
            .iter()
            .map(|s| longest_suffix_prefix(&self.held, s))
            .max()
            .unwrap_or(0);
        let cut = self.held.len() - keep;
        let out = self.held[..cut].to_string();
        self.held.drain(..cut);
        (out, false)
    }

    /// Releases whatever is held (at the end of generation).
    pub fn flush(&mut self) -> String {
        std::mem::take(&mut self.held)
    }
}

/// Length in bytes of the longest suffix of `text` that is a proper prefix of `stop`, cut at a
/// character boundary of `text`.
fn longest_suffix_prefix(text: &str, stop: &str) -> usize {
    let max = (stop.len().saturating_sub(1)).min(text.len());
    (1..=max)
        .rev()
        .find(|&n| text.is_char_boundary(text.len() - n) && stop.as_bytes().starts_with(&text.as_bytes()[text.len() - n..]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (String, bool) {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut m = StopMatcher::new(&stops);
        let mut out = String::new();
        for p in pieces {
            let (t, hit) = m.push(p);
            out.push_str(&t);
            if hit {
                return (out, true);
            }
        }
        out.push_str(&m.flush());
        (out, false)
    }

    #[test]
    fn stop_split_across_pieces_is_found_and_trimmed() {
        assert_eq!(run(&["\ndef"], &["return x", "\n", "de", "f foo"]), ("return x".into(), true));
    }

    #[test]
    fn text_is_held_only_while_it_could_start_a_stop() {
        let stops = vec!["\nclass".to_string()];
        let mut m = StopMatcher::new(&stops);
        assert_eq!(m.push("a\n"), ("a".into(), false));
        assert_eq!(m.push("cl"), ("".into(), false));
        assert_eq!(m.push("ose"), ("\nclose".into(), false));
    }

    #[test]
    fn overlapping_stops_take_the_earliest() {
        // "abcd" starts at 1, before "bc" at 2: the text ends at "x".
        assert_eq!(run(&["bc", "abcd"], &["xab", "cd"]), ("x".into(), true));
    }

    #[test]
    fn stop_at_the_very_start_gives_empty_text() {
        assert_eq!(run(&["\n"], &["\nfoo"]), ("".into(), true));
    }

    #[test]
    fn no_stop_releases_everything() {
        assert_eq!(run(&["zz"], &["abz", "q"]), ("abzq".into(), false));
    }

    #[test]
    fn multibyte_text_is_never_split() {
        assert_eq!(run(&["é!"], &["café", "?"]), ("café?".into(), false));
    }
}
