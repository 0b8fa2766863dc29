//! Codex-style prompts that turn a plain-English request into code with a base model: the
//! request as a comment (or docstring) in the target language followed by the start of a
//! definition, so the model's most likely continuation is the function itself.

/// A language the scaffold knows: how to comment, how a definition starts, and where a
/// top-level definition ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Python,
    JavaScript,
    TypeScript,
    Rust,
    Go,
    C,
    Cpp,
    Java,
    Bash,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        Some(match s.to_ascii_lowercase().as_str() {
            "python" | "py" => Lang::Python,
            "javascript" | "js" => Lang::JavaScript,
            "typescript" | "ts" => Lang::TypeScript,
            "rust" | "rs" => Lang::Rust,
            "go" | "golang" => Lang::Go,
            "c" => Lang::C,
            "c++" | "cpp" | "cxx" => Lang::Cpp,
            "java" => Lang::Java,
            "bash" | "sh" | "shell" => Lang::Bash,
            _ => return None,
        })
    }

    pub const NAMES: &'static str = "python, javascript, typescript, rust, go, c, cpp, java, bash";

    fn display(self) -> &'static str {
        match self {
            Lang::Python => "Python 3",
            Lang::JavaScript => "JavaScript",
            Lang::TypeScript => "TypeScript",
            Lang::Rust => "Rust",
            Lang::Go => "Go",
            Lang::C => "C",
            Lang::Cpp => "C++",
            Lang::Java => "Java",
            Lang::Bash => "Bash",
        }
    }

    fn comment(self) -> &'static str {
        match self {
            Lang::Python | Lang::Bash => "#",
            _ => "//",
        }
    }

    /// Whether the body is delimited by braces (the definition ends when they balance).
    pub fn braces(self) -> bool {
        !matches!(self, Lang::Python)
    }
}

/// A prompt for a base model, the text that starts the code (already part of the prompt and
/// of the answer), and the stop strings that end a top-level definition.
#[derive(Clone, Debug)]
pub struct Scaffold {
    pub prompt: String,
    /// The code the prompt already begins (printed before the model's continuation).
    pub code_start: String,
    pub stop: Vec<String>,
}

/// Builds the Codex-style prompt for `request` in `lang`.
pub fn scaffold(request: &str, lang: Lang) -> Scaffold {
    let request = request.trim().trim_end_matches('.');
    let mut sentence = request.to_string();
    if let Some(first) = sentence.get(..1) {
        sentence = first.to_uppercase() + &sentence[1..];
    }
    let c = lang.comment();
    let header = format!("{c} Language: {}\n{c} {sentence}.\n", lang.display());
    // The definition keyword ends the prompt without its trailing space: tokenizers join a
    // space to the word after it, so the model's likeliest next token is " name".
    let (code_start, stop): (&str, &[&str]) = match lang {
        // Top-level statements after the function end it (the Codex paper's stop sequences).
        Lang::Python => ("def", &["\ndef ", "\nclass ", "\nif ", "\n#"]),
        Lang::JavaScript => ("function", &["\n\n\n"]),
        Lang::TypeScript => ("function", &["\n\n\n"]),
        Lang::Rust => ("fn", &["\n\n\n"]),
        Lang::Go => ("func", &["\n\n\n"]),
        Lang::C | Lang::Cpp => ("", &["\n\n\n"]),
        Lang::Java => ("public static", &["\n\n\n"]),
        Lang::Bash => ("", &["\n\n\n"]),
    };
    Scaffold {
        prompt: format!("{header}{code_start}"),
        code_start: code_start.to_string(),
        stop: stop.iter().map(|s| s.to_string()).collect(),
    }
}

/// Tracks brace depth over streamed code and says where the first top-level `{ … }` block
/// closes, so generation of a braces language can end right after the definition.
#[derive(Default)]
pub struct BlockEnd {
    depth: i64,
    opened: bool,
    seen: usize,
}

impl BlockEnd {
    /// Feeds more code; returns the byte length (of all text fed so far) at which the first
    /// top-level block closed, if it did within this piece.
    pub fn push(&mut self, piece: &str) -> Option<usize> {
        for (i, ch) in piece.char_indices() {
            match ch {
                '{' => {
                    self.depth += 1;
                    self.opened = true;
                }
                '}' => {
                    self.depth -= 1;
                    if self.opened && self.depth == 0 {
                        return Some(self.seen + i + 1);
                    }
                }
                _ => {}
            }
        }
        self.seen += piece.len();
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_scaffold_ends_with_def() {
        let s = scaffold("check whether a number is prime", Lang::Python);
        assert!(s.prompt.ends_with("# Check whether a number is prime.\ndef"), "{}", s.prompt);
        assert!(s.stop.contains(&"\ndef ".to_string()));
    }

    #[test]
    fn block_end_finds_the_closing_brace() {
        let mut b = BlockEnd::default();
        assert_eq!(b.push("int f() {\n  if (x) {"), None);
        assert_eq!(b.push(" y(); }\n  return 1;\n}\nint g"), Some(20 + 21));
    }

    #[test]
    fn every_scaffold_fits_the_stop_limit() {
        for name in Lang::NAMES.split(", ") {
            let lang = Lang::parse(name).unwrap();
            assert!(scaffold("sort a list", lang).stop.len() <= crate::MAX_STOPS, "{name}");
        }
    }

    #[test]
    fn languages_parse() {
        assert_eq!(Lang::parse("Python"), Some(Lang::Python));
        assert_eq!(Lang::parse("ts"), Some(Lang::TypeScript));
        assert_eq!(Lang::parse("cobol"), None);
    }
}
