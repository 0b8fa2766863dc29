//! Upstream mode against a second real ferrocodex server: generation is forwarded, keys,
//! limits and usage stay with the front server.

mod common;

use common::*;
use ferrocodex_server::Store;
use ferrocodex_testmodels::TinyArch;
use serde_json::{json, Value};

#[test]
fn forwards_completions_and_chat_keeping_keys_and_usage_local() {
    let (engine, _) = start_local(
        tiny_model(TinyArch::Gemma3),
        Options {
            chat_template: Some(GEMMA_TEMPLATE.into()),
            ..Default::default()
        },
    );
    let (front, keys) = start_upstream(
        &format!("http://{}/v1", engine.addr),
        None,
        vec![("team", None, None)],
    );
    let (a, key) = (front.addr, keys[0].as_str());

    // The front's keys guard it; the engine behind needs none.
    post_json(
        a,
        "/v1/completions",
        None,
        &json!({"model": TINY_ID, "prompt": "x"}),
    )
    .error(401);
    assert_eq!(get(a, "/health", None).json()["mode"], "upstream");
    assert_eq!(
        get(a, "/v1/models", Some(key)).json()["data"][0]["id"],
        TINY_ID
    );

    let body = json!({"model": TINY_ID, "prompt": "def main():", "max_tokens": 8, "temperature": 0, "n": 2});
    let direct = post_json(engine.addr, "/v1/completions", None, &body).json();
    let r = post_json(a, "/v1/completions", Some(key), &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let via = r.json();
    assert_eq!(via["choices"], direct["choices"]);
    assert_eq!(via["usage"], direct["usage"]);

    // Streams: same text, [DONE] at the end, usage only when asked for.
    let mut sbody = body.clone();
    sbody["stream"] = json!(true);
    let events = post_json(a, "/v1/completions", Some(key), &sbody).events();
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert!(chunks
        .iter()
        .all(|c| c.get("usage").is_none() && !c["choices"].as_array().unwrap().is_empty()));
    let text0: String = chunks
        .iter()
        .flat_map(|c| c["choices"].as_array().unwrap().clone())
        .filter(|ch| ch["index"] == 0)
        .map(|ch| ch["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(text0, direct["choices"][0]["text"].as_str().unwrap());
    sbody["stream_options"] = json!({"include_usage": true});
    let events = post_json(a, "/v1/completions", Some(key), &sbody).events();
    let last: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert_eq!(last["usage"], direct["usage"]);

    // Chat, plain and streamed.
    let chat = json!({"model": TINY_ID, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, "temperature": 0});
    let r = post_json(a, "/v1/chat/completions", Some(key), &chat);
    assert_eq!(r.status, 200, "{}", r.text());
    let chat_usage = r.json()["usage"].clone();
    let mut schat = chat.clone();
    schat["stream"] = json!(true);
    let events = post_json(a, "/v1/chat/completions", Some(key), &schat).events();
    assert_eq!(events.last().unwrap(), "[DONE]");

    // The engine's errors come back with their status and shape.
    let r = post_json(
        a,
        "/v1/completions",
        Some(key),
        &json!({"model": "nope", "prompt": "x"}),
    );
    assert_eq!(r.error(404)["param"], "model");
    let r = post_json(
        a,
        "/v1/completions",
        Some(key),
        &json!({"model": TINY_ID, "prompt": "x", "temperature": 9}),
    );
    assert_eq!(r.error(400)["param"], "temperature");
    // Bad JSON never leaves the front.
    request(
        a,
        "POST",
        "/v1/completions",
        &[("Authorization", &format!("Bearer {key}"))],
        b"{oops",
    )
    .error(400);

    // Usage recorded at the front, per key: 3 completions (one plain, two streamed) and two
    // chats (greedy, so the streamed one used what the plain one did); refusals count nothing.
    let store = Store::open(&front.store_path).unwrap();
    let id = store.list_keys().unwrap()[0].id;
    let rows = store.usage(Some(id)).unwrap();
    let u = |k: &str| direct["usage"][k].as_u64().unwrap();
    let cu = |k: &str| chat_usage[k].as_u64().unwrap();
    assert_eq!(rows[0].requests, 5);
    assert_eq!(
        rows[0].prompt_tokens,
        3 * u("prompt_tokens") + 2 * cu("prompt_tokens")
    );
    assert_eq!(
        rows[0].completion_tokens,
        3 * u("completion_tokens") + 2 * cu("completion_tokens")
    );

    // An engine that is gone: 502 in OpenAI's shape.
    drop(engine);
    let r = post_json(a, "/v1/completions", Some(key), &body);
    assert_eq!(r.error(502)["type"], "upstream_error");
}
