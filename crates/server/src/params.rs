//! Reading request fields one by one, so that every wrong type or value becomes a 400 that
//! names the field (`param`). `null` counts as absent, as in OpenAI's API.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// The fields of a JSON request body.
pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub fn wrong_type(param: &str, expected: &str, got: &Value) -> ApiError {
    ApiError::invalid_param(
        param,
        format!("`{param}` must be {expected}, not {}.", kind(got)),
    )
}

impl<'a> Fields<'a> {
    /// The body as an object, or a 400 when it is some other JSON value.
    pub fn of(body: &'a Value) -> Result<Fields<'a>, ApiError> {
        match body {
            Value::Object(obj) => Ok(Fields { obj }),
            other => Err(ApiError::invalid_request(format!(
                "The request body must be a JSON object, not {}.",
                kind(other)
            ))),
        }
    }

    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    pub fn required(&self, name: &str) -> Result<&'a Value, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::invalid_param(name, format!("`{name}` is required.")))
    }

    pub fn string(&self, name: &str) -> Result<Option<&'a str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(wrong_type(name, "a string", v)),
        }
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(wrong_type(name, "a boolean", v)),
        }
    }

    /// A number within `[min, max]`.
    pub fn number(&self, name: &str, min: f64, max: f64) -> Result<Option<f32>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                let x = n.as_f64().unwrap_or(f64::NAN);
                if !(min..=max).contains(&x) {
                    return Err(ApiError::invalid_param(
                        name,
                        format!("`{name}` must be between {min} and {max}, got {n}."),
                    ));
                }
                Ok(Some(x as f32))
            }
            Some(v) => Err(wrong_type(name, "a number", v)),
        }
    }

    /// A whole number within `[min, max]`.
    pub fn integer(&self, name: &str, min: u64, max: u64) -> Result<Option<usize>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(x) if (min..=max).contains(&x) => Ok(Some(x as usize)),
                _ if n.is_f64() => Err(wrong_type(name, "an integer", &Value::Number(n.clone()))),
                _ => Err(ApiError::invalid_param(
                    name,
                    format!("`{name}` must be between {min} and {max}, got {n}."),
                )),
            },
            Some(v) => Err(wrong_type(name, "an integer", v)),
        }
    }

    /// `seed`: any 64-bit integer (negative ones are taken as their two's complement).
    pub fn seed(&self, name: &str) -> Result<Option<u64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .or_else(|| n.as_i64().map(|i| i as u64))
                .map(Some)
                .ok_or_else(|| wrong_type(name, "an integer", &Value::Number(n.clone()))),
            Some(v) => Err(wrong_type(name, "an integer", v)),
        }
    }

    /// `stop`: a string or an array of at most `max` strings.
    pub fn stop(&self, name: &str, max: usize) -> Result<Vec<String>, ApiError> {
        let stops = match self.get(name) {
            None => return Ok(Vec::new()),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => {
                if items.len() > max {
                    return Err(ApiError::invalid_param(
                        name,
                        format!(
                            "`{name}` may list at most {max} sequences, got {}.",
                            items.len()
                        ),
                    ));
                }
                items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(s.clone()),
                        other => Err(wrong_type(name, "a string or an array of strings", other)),
                    })
                    .collect::<Result<_, _>>()?
            }
            Some(v) => return Err(wrong_type(name, "a string or an array of strings", v)),
        };
        if stops.iter().any(|s| s.is_empty()) {
            return Err(ApiError::invalid_param(
                name,
                format!("`{name}` sequences must not be empty."),
            ));
        }
        Ok(stops)
    }

    /// `logit_bias`: an object from token ids (as strings) to biases in −100..100.
    pub fn logit_bias(&self, name: &str, vocab: usize) -> Result<Vec<(u32, f32)>, ApiError> {
        let map = match self.get(name) {
            None => return Ok(Vec::new()),
            Some(Value::Object(m)) => m,
            Some(v) => {
                return Err(wrong_type(
                    name,
                    "an object mapping token ids to numbers",
                    v,
                ))
            }
        };
        let mut out = Vec::with_capacity(map.len());
        for (k, v) in map {
            let id: u32 = k.parse().map_err(|_| {
                ApiError::invalid_param(
                    name,
                    format!("`{name}` keys must be token ids, got {k:?}."),
                )
            })?;
            if id as usize >= vocab {
                return Err(ApiError::invalid_param(
                    name,
                    format!("`{name}` names token {id}, outside the model's vocabulary of {vocab} tokens."),
                ));
            }
            let bias = v
                .as_f64()
                .filter(|b| (-100.0..=100.0).contains(b))
                .ok_or_else(|| {
                    ApiError::invalid_param(
                        name,
                        format!("`{name}` values must be numbers between -100 and 100, got {v}."),
                    )
                })?;
            out.push((id, bias as f32));
        }
        Ok(out)
    }

    /// `stream_options`: only `include_usage` is read, and it matters only with `stream: true`.
    pub fn include_usage(&self, stream: bool) -> Result<bool, ApiError> {
        let opts = match self.get("stream_options") {
            None => return Ok(false),
            Some(Value::Object(m)) => m,
            Some(v) => return Err(wrong_type("stream_options", "an object", v)),
        };
        let include = match opts.get("include_usage") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(v) => return Err(wrong_type("stream_options.include_usage", "a boolean", v)),
        };
        // Without a stream there is no last chunk to carry usage; the option is moot.
        Ok(stream && include)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_and_ranges_name_the_field() {
        let body = json!({"n": 2.5, "temperature": "hot", "top_p": 3, "stop": ["a", 1], "max_tokens": -1, "seed": -3, "user": null});
        let f = Fields::of(&body).unwrap();
        assert_eq!(
            f.integer("n", 1, 128).unwrap_err().param.as_deref(),
            Some("n")
        );
        assert!(f
            .number("temperature", 0.0, 2.0)
            .unwrap_err()
            .message
            .contains("a string"));
        assert!(f
            .number("top_p", 0.0, 1.0)
            .unwrap_err()
            .message
            .contains("between"));
        assert_eq!(
            f.stop("stop", 4).unwrap_err().param.as_deref(),
            Some("stop")
        );
        assert!(f.integer("max_tokens", 0, 100).is_err());
        assert_eq!(f.seed("seed").unwrap(), Some((-3i64) as u64));
        assert_eq!(f.string("user").unwrap(), None);
        assert!(Fields::of(&json!([1])).is_err());
    }

    #[test]
    fn logit_bias_and_stream_options() {
        let body =
            json!({"logit_bias": {"5": -100, "7": 3.5}, "stream_options": {"include_usage": true}});
        let f = Fields::of(&body).unwrap();
        let mut lb = f.logit_bias("logit_bias", 10).unwrap();
        lb.sort_by_key(|x| x.0);
        assert_eq!(lb, vec![(5, -100.0), (7, 3.5)]);
        assert!(f.logit_bias("logit_bias", 6).is_err());
        assert!(f.include_usage(true).unwrap());
        assert!(!f.include_usage(false).unwrap());
        let bad = json!({"stream_options": {"include_usage": 1}});
        assert_eq!(
            Fields::of(&bad)
                .unwrap()
                .include_usage(true)
                .unwrap_err()
                .param
                .as_deref(),
            Some("stream_options.include_usage")
        );
        let bad = json!({"logit_bias": {"x": 1}});
        assert!(Fields::of(&bad)
            .unwrap()
            .logit_bias("logit_bias", 10)
            .is_err());
    }
}
