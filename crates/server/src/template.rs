//! Chat templates: the Jinja template a model ships (`tokenizer.chat_template`) turns a list
//! of messages into the prompt text the model was trained on. Templates written for
//! Python's Jinja call string methods (`.strip()`, `.startswith()`), which the pycompat layer
//! provides, and `raise_exception(message)`, which becomes a 400 naming `messages`.

use minijinja::{Environment, ErrorKind};
use serde::Serialize;

use crate::error::ApiError;

const NAME: &str = "chat";

/// One chat message, as the template sees it.
#[derive(Clone, Debug, Serialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

pub struct ChatTemplate {
    env: Environment<'static>,
    bos: String,
    eos: String,
}

impl ChatTemplate {
    /// Compiles `source`; a template that does not compile is reported when chat is used.
    pub fn new(source: &str, bos: String, eos: String) -> Result<ChatTemplate, String> {
        let mut env = Environment::new();
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |msg: String| -> Result<String, minijinja::Error> {
                Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
            },
        );
        env.add_template_owned(NAME, source.to_string())
            .map_err(|e| format!("The model's chat template does not compile: {e}"))?;
        Ok(ChatTemplate { env, bos, eos })
    }

    /// The prompt for `messages`, ending where the assistant's answer starts.
    pub fn render(&self, messages: &[ChatMessage]) -> Result<String, ApiError> {
        let tmpl = self
            .env
            .get_template(NAME)
            .map_err(|e| ApiError::internal(format!("chat template missing: {e}")))?;
        tmpl.render(minijinja::context! {
            messages => messages,
            add_generation_prompt => true,
            bos_token => &self.bos,
            eos_token => &self.eos,
        })
        .map_err(|e| {
            let detail = match e.kind() {
                ErrorKind::InvalidOperation => e.detail().unwrap_or("").to_string(),
                _ => e.to_string(),
            };
            ApiError::invalid_param(
                "messages",
                format!("The model's chat template rejected these messages: {detail}"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(role: &str, content: &str) -> ChatMessage {
        ChatMessage {
            role: role.into(),
            content: content.into(),
            name: None,
        }
    }

    /// The shape of Gemma's template: BOS, turns with role markers, Python string methods.
    const GEMMA_LIKE: &str = "{{ bos_token }}{% for m in messages %}{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}<start_of_turn>{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n{{ m['content'] | trim }}<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}";

    #[test]
    fn renders_turns_and_generation_prompt() {
        let t = ChatTemplate::new(GEMMA_LIKE, "<bos>".into(), "<eos>".into()).unwrap();
        let out = t
            .render(&[
                msg("user", " hi "),
                msg("assistant", "hello"),
                msg("user", "code?"),
            ])
            .unwrap();
        assert_eq!(
            out,
            "<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\nhello<end_of_turn>\n<start_of_turn>user\ncode?<end_of_turn>\n<start_of_turn>model\n"
        );
    }

    #[test]
    fn raise_exception_is_a_400_on_messages() {
        let t = ChatTemplate::new(GEMMA_LIKE, "<bos>".into(), "<eos>".into()).unwrap();
        let e = t.render(&[msg("assistant", "x")]).unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        assert_eq!(e.param.as_deref(), Some("messages"));
        assert!(e.message.contains("must alternate"), "{}", e.message);
    }

    #[test]
    fn python_string_methods_work() {
        let t = ChatTemplate::new(
            "{% for m in messages %}{{ m.content.strip().upper() }}{% endfor %}",
            String::new(),
            String::new(),
        )
        .unwrap();
        assert_eq!(t.render(&[msg("user", "  ab ")]).unwrap(), "AB");
        assert!(ChatTemplate::new("{% for %}", String::new(), String::new()).is_err());
    }
}
