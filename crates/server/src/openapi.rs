//! The OpenAPI 3 description of the server, served at `GET /openapi.json`. Hand-written so
//! that it says exactly what the handlers do; the integration tests check real responses
//! against it.

pub const SPEC: &str = include_str!("openapi.json");

use serde_json::{json, Value};

/// The document as this server serves it: with a local model, `model` is that model's id and
/// token ids, `n` and `best_of` are bounded by the model and the scheduler.
pub fn document(local: Option<(&str, usize, usize)>) -> String {
    let Some((model_id, vocab, max_samples)) = local else {
        return SPEC.to_string();
    };
    let Ok(mut doc) = serde_json::from_str::<Value>(SPEC) else {
        return SPEC.to_string();
    };
    let schemas = &mut doc["components"]["schemas"];
    for req in ["CompletionRequest", "ChatCompletionRequest"] {
        let props = &mut schemas[req]["properties"];
        props["model"]["enum"] = json!([model_id]);
        for field in ["n", "best_of"] {
            if props.get(field).is_some() {
                props[field]["maximum"] = json!(max_samples);
            }
        }
    }
    let max_id = vocab.saturating_sub(1);
    let prompt = &mut schemas["CompletionRequest"]["properties"]["prompt"]["oneOf"];
    prompt[2]["items"]["maximum"] = json!(max_id);
    prompt[3]["items"]["items"]["maximum"] = json!(max_id);
    doc.to_string()
}
