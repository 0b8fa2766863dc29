//! A linear pre-scan that bounds how deeply a file nests before it is parsed.
//!
//! The parser and every pass over the tree recurse once per level of nesting, so a file of
//! a few kilobytes (`x = ------…1`, `[[[[…`, `a.b.b.b…`) could exhaust any stack. This scan
//! reads the text once, skipping strings and comments, and estimates the depth of the tree
//! the parser would build: each open bracket, each indented block, and each operator,
//! attribute dot, call or subscript in a chain since the last `,` `:` `;` or `=` at the same
//! bracket level counts as one level. The estimate is never below the real depth of an
//! expression chain; it can be above it (a flat `a and b and c` counts three), which only
//! matters past [`MAX_NESTING`], far beyond what hand-written code reaches.

/// The deepest nesting a file may reach and still be analysed.
pub const MAX_NESTING: usize = 500;

/// The first place where the estimated nesting passes `limit`: its byte offset.
pub(crate) fn too_deep(source: &str, limit: usize) -> Option<usize> {
    let bytes = source.as_bytes();
    // Per open bracket level: the chain length since the last separator at that level.
    let mut chains: Vec<usize> = vec![0];
    // Sum over `chains` plus one per open bracket, kept up to date.
    let mut depth = 0usize;
    let mut indents: Vec<usize> = Vec::new();
    let mut at_line_start = true;
    let mut continued = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if at_line_start && chains.len() == 1 && !continued {
            // A new logical line at the outer level: measure its indentation.
            let mut col = 0;
            let mut j = i;
            while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
                col += 1;
                j += 1;
            }
            let blank = j >= bytes.len() || matches!(bytes[j], b'\n' | b'\r' | b'#');
            if !blank {
                while indents.last().is_some_and(|&top| top >= col) {
                    indents.pop();
                }
                if col > 0 {
                    indents.push(col);
                }
                depth -= chains[0];
                chains[0] = 0;
                if indents.len() > limit {
                    return Some(j);
                }
            }
            at_line_start = false;
            i = j;
            continue;
        }
        let bump = |chains: &mut Vec<usize>, depth: &mut usize| {
            if let Some(top) = chains.last_mut() {
                *top += 1;
            }
            *depth += 1;
        };
        match b {
            b'\n' => {
                at_line_start = true;
                continued = i > 0 && bytes[i - 1] == b'\\'
                    || i > 1 && bytes[i - 1] == b'\r' && bytes[i - 2] == b'\\';
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' => {
                i = skip_string(bytes, i);
                continue;
            }
            b'(' | b'[' | b'{' => {
                // A call or subscript after an operand adds a level to the chain as well.
                bump(&mut chains, &mut depth);
                chains.push(0);
                depth += 1;
            }
            b')' | b']' | b'}' => {
                if chains.len() > 1 {
                    let chain = chains.pop().unwrap_or(0);
                    depth -= chain + 1;
                }
            }
            b',' | b';' | b':' => {
                if let Some(top) = chains.last_mut() {
                    depth -= *top;
                    *top = 0;
                }
            }
            b'=' => {
                let compare = i + 1 < bytes.len() && bytes[i + 1] == b'='
                    || i > 0 && matches!(bytes[i - 1], b'=' | b'!' | b'<' | b'>');
                if compare {
                    bump(&mut chains, &mut depth);
                } else if let Some(top) = chains.last_mut() {
                    depth -= *top;
                    *top = 0;
                }
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'@' | b'&' | b'|' | b'^' | b'~' | b'<' | b'>'
            | b'!' => bump(&mut chains, &mut depth),
            b'.' => {
                let number = i + 1 < bytes.len() && bytes[i + 1].is_ascii_digit()
                    || i > 0 && bytes[i - 1].is_ascii_digit() && !word_before_is_name(bytes, i);
                if !number {
                    bump(&mut chains, &mut depth);
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                // A string prefix (`f"…"`, `rb'…'`): skip the string with it.
                if i < bytes.len() && matches!(bytes[i], b'"' | b'\'') && i - start <= 3 {
                    i = skip_string(bytes, i);
                    continue;
                }
                let word = &bytes[start..i];
                if matches!(
                    word,
                    b"not"
                        | b"and"
                        | b"or"
                        | b"if"
                        | b"else"
                        | b"lambda"
                        | b"await"
                        | b"in"
                        | b"is"
                        | b"yield"
                ) {
                    bump(&mut chains, &mut depth);
                }
                if depth + indents.len() > limit {
                    return Some(start);
                }
                continue;
            }
            _ => {}
        }
        if depth + indents.len() > limit {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Whether the run of word characters ending just before `at` starts with a letter.
fn word_before_is_name(bytes: &[u8], at: usize) -> bool {
    let mut j = at;
    while j > 0 && (bytes[j - 1].is_ascii_alphanumeric() || bytes[j - 1] == b'_') {
        j -= 1;
    }
    j < at && !bytes[j].is_ascii_digit()
}

/// The index just past the string literal that opens at `start` (a quote).
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let triple = bytes.len() >= start + 3 && bytes[start + 1] == quote && bytes[start + 2] == quote;
    let mut i = start + if triple { 3 } else { 1 };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\n' if !triple => return i,
            c if c == quote => {
                if !triple {
                    return i + 1;
                }
                if i + 2 < bytes.len() && bytes[i + 1] == quote && bytes[i + 2] == quote {
                    return i + 3;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_code_is_shallow() {
        let code = "def f(a, b=1.5):\n    return [x.y.z(a) + b for x in a if not x]\n";
        assert_eq!(too_deep(code, 20), None);
        assert_eq!(
            too_deep(&format!("x = [{}]\n", "-1, ".repeat(5000)), 20),
            None
        );
        assert_eq!(too_deep("s = '((((((((((((((((((((((((((('\n", 10), None);
    }

    #[test]
    fn every_chain_counts() {
        for shape in ["-", "[", "1+", "not ", "(", "{1:", ".b", "()", "[0]"] {
            let code = format!("x = a{}1\n", shape.repeat(100));
            assert!(too_deep(&code, 50).is_some(), "{shape}");
        }
    }
}
