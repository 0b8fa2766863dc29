//! The JSON body extractor: size-limited (413), parsed as JSON (400 naming the problem),
//! never axum's plain-text rejections.

use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde_json::Value;

use crate::error::ApiError;
use crate::AppState;

/// A request body parsed as JSON, plus its raw bytes (forwarded as they are upstream).
pub struct JsonBody {
    pub value: Value,
    pub raw: axum::body::Bytes,
}

impl FromRequest<Arc<AppState>> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let limit = state.cfg.max_body_bytes;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(ApiError::too_large(limit));
        }
        let raw = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|e| {
                let over = std::error::Error::source(&e)
                    .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                    || e.to_string().contains("length limit");
                if over {
                    ApiError::too_large(limit)
                } else {
                    ApiError::invalid_request(format!("Could not read the request body: {e}."))
                }
            })?;
        if raw.is_empty() {
            return Err(ApiError::invalid_request(
                "The request body is empty; send a JSON object (Content-Type: application/json).",
            ));
        }
        let value = serde_json::from_slice(&raw).map_err(|e| {
            ApiError::invalid_request(format!(
                "We could not parse the JSON body of your request ({e}). Send valid JSON (Content-Type: application/json)."
            ))
        })?;
        Ok(JsonBody { value, raw })
    }
}
