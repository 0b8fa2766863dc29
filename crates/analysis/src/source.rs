//! Byte offsets to lines and columns, and the code frames shown under a finding.

use crate::finding::Position;

/// The start offset of every line of one file.
pub struct LineIndex<'s> {
    text: &'s str,
    starts: Vec<usize>,
}

impl<'s> LineIndex<'s> {
    pub fn new(text: &'s str) -> Self {
        let mut starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                starts.push(i + 1);
            }
        }
        LineIndex { text, starts }
    }

    /// The one-based line and character column of a byte offset (clamped to the file).
    pub fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        let prefix = self.text.get(start..offset).unwrap_or("");
        Position {
            line: line + 1,
            column: prefix.chars().count() + 1,
        }
    }

    /// The text of a one-based line, without its line ending.
    pub fn line_text(&self, line: usize) -> &'s str {
        let Some(&start) = self.starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let end = self.starts.get(line).copied().unwrap_or(self.text.len());
        self.text
            .get(start..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }
}

/// A few lines of source around a finding, with a caret line under its first line.
pub fn code_frame(source: &str, start: Position, end: Position) -> String {
    let index = LineIndex::new(source);
    let line = index.line_text(start.line);
    let width = start.line.to_string().len().max(2);
    let mut out = String::new();
    if start.line > 1 {
        out.push_str(&format!(
            "{:>width$} | {}\n",
            start.line - 1,
            index.line_text(start.line - 1)
        ));
    }
    out.push_str(&format!("{:>width$} | {}\n", start.line, line));
    let line_chars = line.chars().count();
    let from = start.column.saturating_sub(1).min(line_chars);
    let to = if end.line == start.line {
        end.column.saturating_sub(1)
    } else {
        line_chars
    };
    let carets = to.saturating_sub(from).max(1);
    // Tabs keep their width in the caret line so the carets land under the code.
    let pad: String = line
        .chars()
        .take(from)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    out.push_str(&format!("{:>width$} | {}{}\n", "", pad, "^".repeat(carets)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters() {
        let index = LineIndex::new("ab\né x\n");
        assert_eq!(index.position(0), Position { line: 1, column: 1 });
        assert_eq!(index.position(3), Position { line: 2, column: 1 });
        assert_eq!(index.position(6), Position { line: 2, column: 3 });
        assert_eq!(index.line_text(2), "é x");
        assert_eq!(index.line_text(9), "");
    }
}
