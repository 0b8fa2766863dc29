//! The HTTP API end to end: a real server on loopback running a tiny model, spoken to over
//! TCP. Errors, completions, streaming, auth, limits, usage, metrics, the OpenAPI document.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use ferrocodex_generate::SchedulerConfig;
use ferrocodex_server::{Backend, LocalBackend, Server, ServerConfig, Store};
use ferrocodex_testmodels::TinyArch;
use serde_json::{json, Value};

#[test]
fn bad_input_gets_openai_errors_never_500() {
    let (srv, _) = start_local(
        tiny_model(TinyArch::Gemma3),
        Options {
            cfg: ServerConfig {
                max_body_bytes: 64 << 10,
                ..Default::default()
            },
            ..Default::default()
        },
    );
    let a = srv.addr;
    let doc = spec(a);
    let json_hdr = [("Content-Type", "application/json")];

    // Unreadable bodies.
    let bodies: [&[u8]; 5] = [b"{\"model\": ", b"not json", b"[1, 2]", b"\"s\"", b""];
    for body in bodies {
        let r = request(a, "POST", "/v1/completions", &json_hdr, body);
        let e = r.error(400);
        assert_eq!(e["type"], "invalid_request_error");
        conforms(&doc, "/v1/completions", "post", &r);
    }
    // Too large: declared and streamed (chunked, no Content-Length).
    let huge = vec![b'x'; 200 << 10];
    let r = request(a, "POST", "/v1/completions", &json_hdr, &huge);
    r.error(413);
    let mut s = TcpStream::connect(a).unwrap();
    write!(s, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
    for _ in 0..20 {
        let chunk = vec![b' '; 8 << 10];
        if write!(s, "{:x}\r\n", chunk.len()).is_err()
            || s.write_all(&chunk).is_err()
            || s.write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n");
    read_reply(s).error(413);

    // Wrong types and values name the field.
    let base = json!({"model": TINY_ID, "prompt": "def f():", "max_tokens": 2});
    let cases: Vec<(Value, &str, u16)> = vec![
        (json!({"model": null}), "model", 400),
        (json!({"model": 5, "prompt": "x"}), "model", 400),
        (json!({"model": "gpt-4", "prompt": "x"}), "model", 404),
        (json!({"prompt": null}), "prompt", 400),
        (json!({"prompt": []}), "prompt", 400),
        (json!({"prompt": [1, "a"]}), "prompt", 400),
        (json!({"prompt": [[1], [4294967296u64]]}), "prompt", 400),
        (json!({"prompt": [999999999]}), "prompt", 400),
        (json!({"prompt": ""}), "prompt", 400),
        (json!({"temperature": "hot"}), "temperature", 400),
        (json!({"temperature": 2.5}), "temperature", 400),
        (json!({"top_p": -0.1}), "top_p", 400),
        (json!({"max_tokens": -1}), "max_tokens", 400),
        (json!({"max_tokens": 1.5}), "max_tokens", 400),
        (json!({"max_tokens": 10000000}), "max_tokens", 400),
        (json!({"max_tokens": 0}), "max_tokens", 400),
        (json!({"n": 0}), "n", 400),
        (json!({"n": "2"}), "n", 400),
        (json!({"n": 3, "best_of": 2}), "best_of", 400),
        (json!({"best_of": 3, "stream": true}), "best_of", 400),
        (json!({"logprobs": 6}), "logprobs", 400),
        (json!({"echo": "yes"}), "echo", 400),
        (json!({"stop": ["a", "b", "c", "d", "e"]}), "stop", 400),
        (json!({"stop": 5}), "stop", 400),
        (json!({"stop": [""]}), "stop", 400),
        (json!({"presence_penalty": 3}), "presence_penalty", 400),
        (
            json!({"frequency_penalty": -2.01}),
            "frequency_penalty",
            400,
        ),
        (json!({"logit_bias": {"abc": 1}}), "logit_bias", 400),
        (json!({"logit_bias": {"1": 101}}), "logit_bias", 400),
        (json!({"logit_bias": [1]}), "logit_bias", 400),
        (json!({"seed": "x"}), "seed", 400),
        (json!({"user": 7}), "user", 400),
        (json!({"stream": "true"}), "stream", 400),
        (
            json!({"stream_options": {"include_usage": "yes"}}),
            "stream_options.include_usage",
            400,
        ),
        (json!({"stream_options": 1}), "stream_options", 400),
        (json!({"suffix": 3}), "suffix", 400),
        (json!({"echo": true, "suffix": "x"}), "echo", 400),
    ];
    for (patch, param, status) in cases {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = post_json(a, "/v1/completions", None, &body);
        let e = r.error(status);
        assert_eq!(e["param"], param, "{body}: {e}");
        conforms(&doc, "/v1/completions", "post", &r);
    }

    // Chat: bad messages, and a model without a chat template.
    for (msgs, param) in [
        (json!("hi"), "messages"),
        (json!([]), "messages"),
        (
            json!([{"role": "wizard", "content": "x"}]),
            "messages[0].role",
        ),
        (
            json!([{"role": "user", "content": 1}]),
            "messages[0].content",
        ),
        (json!([{"role": "user", "content": "hi"}]), "messages"),
    ] {
        let r = post_json(
            a,
            "/v1/chat/completions",
            None,
            &json!({"model": TINY_ID, "messages": msgs}),
        );
        let e = r.error(400);
        assert_eq!(e["param"], param);
        conforms(&doc, "/v1/chat/completions", "post", &r);
    }
    let r = post_json(
        a,
        "/v1/chat/completions",
        None,
        &json!({"model": TINY_ID, "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert!(r.error(400)["message"]
        .as_str()
        .unwrap()
        .contains("chat template"));

    // Unknown routes and methods.
    let r = get(a, "/v2/nothing", None);
    assert_eq!(r.error(404)["code"], "not_found");
    let r = get(a, "/v1/completions", None);
    r.error(405);
    let r = get(a, "/v1/models/gpt-4", None);
    r.error(404);
    conforms(&doc, "/v1/models/{model}", "get", &r);

    // The server is still well after all that.
    let r = post_json(a, "/v1/completions", None, &base);
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn completions_every_field() {
    let (srv, _) = start_local(tiny_model(TinyArch::Gemma3), Options::default());
    let a = srv.addr;
    let doc = spec(a);

    let models = get(a, "/v1/models", None);
    conforms(&doc, "/v1/models", "get", &models);
    assert_eq!(models.json()["data"][0]["id"], TINY_ID);
    let one = get(a, &format!("/v1/models/{TINY_ID}"), None);
    conforms(&doc, "/v1/models/{model}", "get", &one);

    // Greedy, default max_tokens (16).
    let r = post_json(
        a,
        "/v1/completions",
        None,
        &json!({"model": TINY_ID, "prompt": "def add(a, b):", "temperature": 0}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    conforms(&doc, "/v1/completions", "post", &r);
    let v = r.json();
    assert_eq!(v["object"], "text_completion");
    assert!(v["id"].as_str().unwrap().starts_with("cmpl-"));
    let usage = &v["usage"];
    assert!(usage["prompt_tokens"].as_u64().unwrap() > 0);
    let completion = usage["completion_tokens"].as_u64().unwrap();
    assert!((1..=16).contains(&completion));
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap() + completion
    );
    let greedy = v["choices"][0]["text"].as_str().unwrap().to_string();
    if completion == 16 {
        assert_eq!(v["choices"][0]["finish_reason"], "length");
    }

    // n, best_of, logprobs, echo, seed, penalties, logit_bias together.
    let body = json!({
        "model": TINY_ID, "prompt": "x = ", "max_tokens": 5, "n": 2, "best_of": 3, "logprobs": 2,
        "echo": true, "temperature": 0.9, "top_p": 0.95, "seed": 42, "presence_penalty": 0.5,
        "frequency_penalty": 0.5, "logit_bias": {"1": -100}, "user": "tests", "stop": ["\n\n\n"]
    });
    let r = post_json(a, "/v1/completions", None, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    conforms(&doc, "/v1/completions", "post", &r);
    let v = r.json();
    let choices = v["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 2);
    for (i, c) in choices.iter().enumerate() {
        assert_eq!(c["index"], i);
        assert!(c["text"].as_str().unwrap().starts_with("x = "), "echo: {c}");
        let lp = &c["logprobs"];
        let n_tok = lp["tokens"].as_array().unwrap().len();
        assert_eq!(lp["token_logprobs"].as_array().unwrap().len(), n_tok);
        assert_eq!(lp["text_offset"].as_array().unwrap().len(), n_tok);
        // The first echoed token has no log-probability (nothing precedes it).
        assert!(lp["token_logprobs"][0].is_null());
        let last = lp["top_logprobs"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_object()
            .unwrap()
            .len();
        assert!((1..=3).contains(&last), "alternatives: {last}");
    }
    // best_of draws three samples: usage counts all of them.
    assert!(v["usage"]["completion_tokens"].as_u64().unwrap() >= 3);
    // Same seed, same answer.
    let again = post_json(a, "/v1/completions", None, &body).json();
    assert_eq!(again["choices"], v["choices"]);

    // Prompts as arrays: strings, token ids, arrays of token ids.
    let r = post_json(
        a,
        "/v1/completions",
        None,
        &json!({"model": TINY_ID, "prompt": ["a", "b", "c"], "n": 2, "max_tokens": 2, "temperature": 0}),
    );
    let v = r.json();
    let idx: Vec<u64> = v["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["index"].as_u64().unwrap())
        .collect();
    assert_eq!(idx, vec![0, 1, 2, 3, 4, 5]);
    let r = post_json(
        a,
        "/v1/completions",
        None,
        &json!({"model": TINY_ID, "prompt": [2, 10, 11], "max_tokens": 2}),
    );
    assert_eq!(r.json()["usage"]["prompt_tokens"], 3);
    let r = post_json(
        a,
        "/v1/completions",
        None,
        &json!({"model": TINY_ID, "prompt": [[2, 10], [2, 11, 12]], "max_tokens": 2}),
    );
    assert_eq!(r.json()["usage"]["prompt_tokens"], 5);
    // echo with max_tokens 0 scores the prompt.
    let r = post_json(
        a,
        "/v1/completions",
        None,
        &json!({"model": TINY_ID, "prompt": "hello there", "max_tokens": 0, "echo": true, "logprobs": 0}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["choices"][0]["text"], "hello there");
    assert_eq!(r.json()["usage"]["completion_tokens"], 0);

    // A stop string ends the text before it; pick one from the greedy output.
    let stop: String = greedy.chars().skip(2).take(2).collect();
    if stop.chars().count() == 2 && !stop.trim().is_empty() {
        let r = post_json(
            a,
            "/v1/completions",
            None,
            &json!({"model": TINY_ID, "prompt": "def add(a, b):", "temperature": 0, "stop": stop}),
        );
        let v = r.json();
        let text = v["choices"][0]["text"].as_str().unwrap();
        assert_eq!(
            text,
            &greedy[..greedy.find(&stop).unwrap()],
            "stop {stop:?}"
        );
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
    }
}

#[test]
fn streaming_matches_the_whole_answer_and_reports_usage() {
    let (srv, _) = start_local(tiny_model(TinyArch::Gemma3), Options::default());
    let a = srv.addr;
    let body = json!({"model": TINY_ID, "prompt": "for i in range(", "max_tokens": 12, "temperature": 0, "n": 2});
    let whole = post_json(a, "/v1/completions", None, &body).json();

    let mut sbody = body.clone();
    sbody["stream"] = json!(true);
    sbody["stream_options"] = json!({"include_usage": true});
    let r = post_json(a, "/v1/completions", None, &sbody);
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("text/event-stream"));
    let events = r.events();
    assert_eq!(events.last().unwrap(), "[DONE]");
    let mut texts = [String::new(), String::new()];
    let mut finished = [None, None];
    let mut usage = None;
    for ev in &events[..events.len() - 1] {
        let c: Value = serde_json::from_str(ev).unwrap();
        assert_eq!(c["object"], "text_completion");
        assert!(
            c.get("usage").is_some(),
            "include_usage: every chunk has a usage field"
        );
        let choices = c["choices"].as_array().unwrap();
        if choices.is_empty() {
            usage = Some(c["usage"].clone());
            continue;
        }
        for ch in choices {
            let i = ch["index"].as_u64().unwrap() as usize;
            texts[i].push_str(ch["text"].as_str().unwrap());
            if let Some(f) = ch["finish_reason"].as_str() {
                finished[i] = Some(f.to_string());
            }
        }
    }
    for i in 0..2 {
        assert_eq!(texts[i], whole["choices"][i]["text"].as_str().unwrap());
        assert_eq!(
            finished[i].as_deref(),
            whole["choices"][i]["finish_reason"].as_str()
        );
    }
    assert_eq!(usage.expect("usage chunk"), whole["usage"]);

    // Without include_usage: no usage field at all.
    let mut plain = body.clone();
    plain["stream"] = json!(true);
    let events = post_json(a, "/v1/completions", None, &plain).events();
    assert_eq!(events.last().unwrap(), "[DONE]");
    assert!(events[..events.len() - 1]
        .iter()
        .all(|e| serde_json::from_str::<Value>(e)
            .unwrap()
            .get("usage")
            .is_none()));

    // Echo in a stream: the prompt comes first.
    let events = post_json(
        a,
        "/v1/completions",
        None,
        &json!({"model": TINY_ID, "prompt": "abc", "max_tokens": 2, "echo": true, "stream": true}),
    )
    .events();
    let first: Value = serde_json::from_str(&events[0]).unwrap();
    assert!(first["choices"][0]["text"]
        .as_str()
        .unwrap()
        .starts_with("abc"));
}

#[test]
fn chat_completions_with_a_template() {
    let (srv, _) = start_local(
        tiny_model(TinyArch::Gemma3),
        Options {
            chat_template: Some(GEMMA_TEMPLATE.into()),
            ..Default::default()
        },
    );
    let a = srv.addr;
    let doc = spec(a);
    let msgs = json!([{"role": "system", "content": "Answer in code."}, {"role": "user", "content": [{"type": "text", "text": "fizzbuzz"}]}]);
    let r = post_json(
        a,
        "/v1/chat/completions",
        None,
        &json!({"model": TINY_ID, "messages": msgs, "max_tokens": 6, "temperature": 0, "logprobs": true, "top_logprobs": 2, "n": 2}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    conforms(&doc, "/v1/chat/completions", "post", &r);
    let v = r.json();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"].as_array().unwrap().len(), 2);
    assert_eq!(v["choices"][0]["message"]["role"], "assistant");
    let content = &v["choices"][0]["logprobs"]["content"];
    assert!(!content.as_array().unwrap().is_empty());
    assert!(content[0]["top_logprobs"].as_array().unwrap().len() <= 2);
    // The rendered prompt: BOS, two turns, the model's turn opened.
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 6);

    let r = post_json(
        a,
        "/v1/chat/completions",
        None,
        &json!({"model": TINY_ID, "messages": msgs, "max_tokens": 6, "temperature": 0, "stream": true, "stream_options": {"include_usage": true}}),
    );
    let events = r.events();
    assert_eq!(events.last().unwrap(), "[DONE]");
    let first: Value = serde_json::from_str(&events[0]).unwrap();
    assert_eq!(first["object"], "chat.completion.chunk");
    assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
    let streamed: String = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str::<Value>(e).unwrap())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(
        streamed,
        v["choices"][0]["message"]["content"].as_str().unwrap()
    );
}

#[test]
fn keys_limits_and_usage() {
    let (srv, secrets) = start_local(
        tiny_model(TinyArch::Gemma3),
        Options {
            keys: vec![
                ("open", None, None),
                ("slow", Some(2), None),
                ("small", None, Some(10)),
            ],
            ..Default::default()
        },
    );
    let a = srv.addr;
    let doc = spec(a);
    let (open, slow, small) = (&secrets[0], &secrets[1], &secrets[2]);
    let body = json!({"model": TINY_ID, "prompt": "hi", "max_tokens": 3});

    // Every /v1 route wants a key; /health, /metrics and /openapi.json do not.
    for r in [
        post_json(a, "/v1/completions", None, &body),
        get(a, "/v1/models", None),
        post_json(a, "/v1/completions", Some("fcx-wrong"), &body),
    ] {
        assert_eq!(r.error(401)["code"], "invalid_api_key");
    }
    conforms(&doc, "/v1/models", "get", &get(a, "/v1/models", None));
    let r = request(
        a,
        "POST",
        "/v1/completions",
        &[("Authorization", "Basic abc")],
        body.to_string().as_bytes(),
    );
    r.error(401);
    assert_eq!(get(a, "/health", None).json()["auth"], true);
    assert_eq!(get(a, "/metrics", None).status, 200);

    // Usage is in the store when the answer arrives.
    let mut want = (0u64, 0u64, 0u64);
    for _ in 0..3 {
        let v = post_json(a, "/v1/completions", Some(open), &body).json();
        want.0 += 1;
        want.1 += v["usage"]["prompt_tokens"].as_u64().unwrap();
        want.2 += v["usage"]["completion_tokens"].as_u64().unwrap();
    }
    let events = post_json(a, "/v1/completions", Some(open), &json!({"model": TINY_ID, "prompt": "hi", "max_tokens": 3, "stream": true, "stream_options": {"include_usage": true}})).events();
    let u: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    want.0 += 1;
    want.1 += u["usage"]["prompt_tokens"].as_u64().unwrap();
    want.2 += u["usage"]["completion_tokens"].as_u64().unwrap();
    let store = Store::open(&srv.store_path).unwrap();
    let key_id = store.list_keys().unwrap()[0].id;
    let rows = store.usage(Some(key_id)).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0].requests,
            rows[0].prompt_tokens,
            rows[0].completion_tokens
        ),
        want
    );

    // Requests per minute.
    assert_eq!(
        post_json(a, "/v1/completions", Some(slow), &body).status,
        200
    );
    assert_eq!(
        post_json(a, "/v1/completions", Some(slow), &body).status,
        200
    );
    let r = post_json(a, "/v1/completions", Some(slow), &body);
    let e = r.error(429);
    assert_eq!(e["type"], "requests");
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    conforms(&doc, "/v1/completions", "post", &r);

    // Tokens per minute: the first request (over 10 tokens) passes, the next is refused.
    assert_eq!(
        post_json(
            a,
            "/v1/completions",
            Some(small),
            &json!({"model": TINY_ID, "prompt": "one two three four five six", "max_tokens": 8})
        )
        .status,
        200
    );
    let r = post_json(a, "/v1/completions", Some(small), &body);
    assert_eq!(r.error(429)["type"], "tokens");
    assert!(r.header("retry-after").is_some());

    // A revoked key stops working at once.
    store.revoke(key_id).unwrap();
    post_json(a, "/v1/completions", Some(open), &body).error(401);
}

#[test]
fn queue_full_deadline_and_metrics() {
    // No room in the queue: 429 with Retry-After.
    let model = tiny_model(TinyArch::Gemma3);
    let (srv, _) = start_local(
        model.clone(),
        Options {
            scheduler: SchedulerConfig {
                max_queue: 0,
                ..Default::default()
            },
            ..Default::default()
        },
    );
    let r = post_json(
        srv.addr,
        "/v1/completions",
        None,
        &json!({"model": TINY_ID, "prompt": "hi"}),
    );
    assert_eq!(r.error(429)["code"], "queue_full");
    assert!(r.header("retry-after").is_some());
    drop(srv);

    // A deadline already past: 504, in a stream an error event.
    let (srv, _) = start_local(
        model.clone(),
        Options {
            cfg: ServerConfig {
                request_timeout: Duration::from_nanos(1),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    let r = post_json(
        srv.addr,
        "/v1/completions",
        None,
        &json!({"model": TINY_ID, "prompt": "hi", "max_tokens": 50}),
    );
    assert_eq!(r.error(504)["code"], "deadline_exceeded");
    drop(srv);

    let (srv, _) = start_local(model, Options::default());
    let a = srv.addr;
    let plain = post_json(
        a,
        "/v1/completions",
        None,
        &json!({"model": TINY_ID, "prompt": "hi", "max_tokens": 4}),
    )
    .json();
    let events = post_json(a, "/v1/completions", None, &json!({"model": TINY_ID, "prompt": "hi", "max_tokens": 4, "stream": true, "stream_options": {"include_usage": true}})).events();
    let streamed: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    let completion = plain["usage"]["completion_tokens"].as_u64().unwrap()
        + streamed["usage"]["completion_tokens"].as_u64().unwrap();
    post_json(a, "/v1/completions", None, &json!({"model": 1}));
    let m = get(a, "/metrics", None);
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
    let text = m.text();
    for needle in [
        "ferrocodex_requests_total{route=\"/v1/completions\",status=\"200\"} 2",
        "ferrocodex_requests_total{route=\"/v1/completions\",status=\"400\"} 1",
        "ferrocodex_request_duration_seconds_bucket{route=\"/v1/completions\",le=\"+Inf\"} 3",
        "ferrocodex_time_to_first_token_seconds_count{route=\"/v1/completions\"} 2",
        "ferrocodex_queue_depth 0",
        "ferrocodex_batch_size ",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
    assert!(
        text.contains(&format!(
            "ferrocodex_tokens_total{{kind=\"completion\"}} {completion}\n"
        )),
        "{text}"
    );
}

#[test]
fn a_client_that_disconnects_cancels_its_request() {
    let model = tiny_model(TinyArch::Gemma3);
    // Ban every end-of-generation token, so that only a cancellation ends the request early.
    let tok = model.tokenizer();
    let bias: serde_json::Map<String, Value> = (0..tok.vocab_size() as u32)
        .filter(|&id| tok.is_eog(id))
        .map(|id| (id.to_string(), json!(-100)))
        .collect();
    let (srv, _) = start_local(model, Options::default());
    let a = srv.addr;
    const MAX: u64 = 16000;
    let body = json!({"model": TINY_ID, "prompt": "a", "max_tokens": MAX, "temperature": 1.0, "logit_bias": bias, "stream": true}).to_string();
    let mut s = TcpStream::connect(a).unwrap();
    write!(s, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    while !line.starts_with("data: ") {
        line.clear();
        assert!(r.read_line(&mut line).unwrap() > 0, "the stream ended");
    }
    let metric = |a, name: &str| {
        let text = get(a, "/metrics", None).text();
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
            .map(|v| v.trim().parse::<u64>().unwrap())
            .unwrap()
    };
    let t0 = Instant::now();
    while metric(a, "ferrocodex_running_requests") != 1 {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the stream is not running"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(r);
    s.shutdown(std::net::Shutdown::Both).unwrap();
    drop(s);
    while metric(a, "ferrocodex_running_requests") != 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the request was not cancelled"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let generated = metric(a, "ferrocodex_generated_tokens_total");
    assert!(
        generated < MAX,
        "the request ran to the end ({generated} tokens) instead of being cancelled"
    );
}

#[test]
fn refuses_open_addresses_without_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let model = tiny_model(TinyArch::Gemma3);
    let backend = || {
        Backend::Local(LocalBackend::new(
            model.clone(),
            TINY_ID.into(),
            Default::default(),
            None,
        ))
    };
    let err = rt
        .block_on(Server::bind(
            "0.0.0.0:0".parse().unwrap(),
            backend(),
            Store::open(&path).unwrap(),
            ServerConfig::default(),
        ))
        .err()
        .expect("refused");
    let msg = err.to_string();
    assert!(
        msg.contains("no API key") && msg.contains("keys create"),
        "{msg}"
    );
    // Loopback needs no key.
    assert!(rt
        .block_on(Server::bind(
            "127.0.0.1:0".parse().unwrap(),
            backend(),
            Store::open(&path).unwrap(),
            ServerConfig::default()
        ))
        .is_ok());
}
