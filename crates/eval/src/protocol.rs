//! The Codex paper's HumanEval generation protocol.

/// Generation stops at the first of these: the start of another top-level statement.
pub const STOP_SEQUENCES: [&str; 5] = ["\nclass", "\ndef", "\n#", "\nif", "\nprint"];

/// Nucleus sampling mass used for every temperature.
pub const TOP_P: f32 = 0.95;

/// Cuts a completion at the earliest stop sequence (servers accept at most four stops, so
/// the fifth is applied here; applying all five again is harmless).
pub fn truncate_at_stop(completion: &str) -> &str {
    let end = STOP_SEQUENCES
        .iter()
        .filter_map(|s| completion.find(s))
        .min()
        .unwrap_or(completion.len());
    &completion[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_the_earliest_stop() {
        assert_eq!(truncate_at_stop("    return 1\n\nprint(f())"), "    return 1\n");
        assert_eq!(truncate_at_stop("    x = 1\n# note\ndef g(): pass"), "    x = 1");
        assert_eq!(truncate_at_stop("    return 2\n"), "    return 2\n");
        // Indented keywords are part of the body.
        assert_eq!(truncate_at_stop("    if x:\n        return 1\n"), "    if x:\n        return 1\n");
    }
}
