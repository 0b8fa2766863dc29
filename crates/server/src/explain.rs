//! The model's explanations of review findings, shared by `ferrocodex review --explain` and
//! `POST /v1/review` with `"explain": true`.

use ferrocodex_analysis::{Explainer, Finding};
use ferrocodex_engine::Model;

/// Explains findings with the local model: the prompt carries the checker's finding and the
/// code around it, so the explanation stays about what was found.
pub struct ModelExplainer<'m> {
    pub model: &'m Model,
}

impl Explainer for ModelExplainer<'_> {
    fn explain(&self, finding: &Finding, source: &str) -> Result<String, String> {
        let line = source
            .lines()
            .nth(finding.start.line.saturating_sub(1))
            .unwrap_or("")
            .trim();
        let prompt = format!(
            "<start_of_turn>user\nExplain this Python bug in one or two sentences and suggest a fix.\n\n\
             ```python\n{line}\n```\nChecker message ({}): {}<end_of_turn>\n<start_of_turn>model\n",
            finding.rule.name(),
            finding.message,
        );
        let ids = self
            .model
            .tokenizer()
            .encode(&prompt, true)
            .map_err(|e| e.to_string())?;
        let request = ferrocodex_generate::GenerateRequest {
            max_tokens: 96,
            stop: vec!["<end_of_turn>".to_string()],
            ..ferrocodex_generate::GenerateRequest::new(ids)
        };
        let done = ferrocodex_generate::generate(self.model, &request, &mut |_| true)
            .map_err(|e| e.to_string())?;
        let text = done.text.trim().to_string();
        if text.is_empty() {
            return Err("the model returned no text".to_string());
        }
        // A small model sometimes repeats the question instead of answering it: show nothing
        // rather than an echo dressed up as an explanation.
        if text.contains("Explain this Python bug") || text.contains("Checker message") {
            return Err("the model repeated the prompt instead of explaining".to_string());
        }
        Ok(text)
    }
}
