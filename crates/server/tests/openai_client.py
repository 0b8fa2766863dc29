"""The official `openai` Python package against a running ferrocodex server.

Usage: python3 openai_client.py BASE_URL MODEL KEY LIMITED_KEY
(LIMITED_KEY allows one request per minute). Exits non-zero on the first failed check.
"""
import sys

import openai

base, model, key, limited_key = sys.argv[1:5]
client = openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0, timeout=600)
PROMPT = "def fibonacci(n):"

models = client.models.list()
assert [m.id for m in models.data] == [model], models

# Greedy, with usage.
r = client.completions.create(model=model, prompt=PROMPT, max_tokens=16, temperature=0)
assert r.object == "text_completion" and r.id.startswith("cmpl-"), r
greedy = r.choices[0].text
assert greedy and r.choices[0].finish_reason in ("stop", "length"), r
assert r.usage.prompt_tokens > 0 and 0 < r.usage.completion_tokens <= 16, r.usage
assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens

# n, best_of, logprobs, echo, seed: the same seed gives the same choices.
kw = dict(model=model, prompt="import os\n", max_tokens=8, n=2, best_of=3, logprobs=3, echo=True, seed=7, temperature=0.8)
a = client.completions.create(**kw)
b = client.completions.create(**kw)
assert len(a.choices) == 2 and [c.index for c in a.choices] == [0, 1], a
assert [c.text for c in a.choices] == [c.text for c in b.choices], (a, b)
for c in a.choices:
    assert c.text.startswith("import os\n"), c.text
    lp = c.logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.text_offset) > 2, lp
    assert lp.token_logprobs[0] is None
    assert 1 <= len(lp.top_logprobs[-1]) <= 4, lp.top_logprobs[-1]
assert a.usage.completion_tokens >= 3, a.usage

# stop: generation ends where the stop string would start.
stop = greedy[4:7]
if len(stop) == 3:
    r = client.completions.create(model=model, prompt=PROMPT, max_tokens=16, temperature=0, stop=[stop, "\n\n\n\n"])
    assert r.choices[0].text == greedy[: greedy.find(stop)], (r.choices[0].text, greedy, stop)
    assert r.choices[0].finish_reason == "stop"

# suffix (insert mode).
r = client.completions.create(model=model, prompt="def add(a, b):\n", suffix="\n\nprint(add(1, 2))\n", max_tokens=24, temperature=0)
assert isinstance(r.choices[0].text, str) and r.choices[0].finish_reason in ("stop", "length"), r

# Several prompts in one request.
r = client.completions.create(model=model, prompt=["x = 1", "y = 2"], max_tokens=2, n=2, temperature=0)
assert sorted(c.index for c in r.choices) == [0, 1, 2, 3], r

# Streaming, with usage in the last chunk: the same text as the plain request.
chunks = list(client.completions.create(model=model, prompt=PROMPT, max_tokens=16, temperature=0, stream=True,
                                        stream_options={"include_usage": True}))
text = "".join(c.choices[0].text for c in chunks if c.choices)
assert text == greedy, (text, greedy)
assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens <= 16, chunks[-1]

# Chat completions, plain and streamed.
msgs = [{"role": "system", "content": "You write Python."}, {"role": "user", "content": "Write a function that adds two numbers."}]
r = client.chat.completions.create(model=model, messages=msgs, max_tokens=24, temperature=0, logprobs=True, top_logprobs=2)
m = r.choices[0].message
assert r.object == "chat.completion" and m.role == "assistant" and m.content, r
assert r.choices[0].logprobs.content and len(r.choices[0].logprobs.content[0].top_logprobs) <= 2
streamed = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
    model=model, messages=msgs, max_tokens=24, temperature=0, stream=True) if c.choices)
assert streamed == m.content, (streamed, m.content)

# Errors arrive as the client's exception types.
try:
    client.completions.create(model="no-such-model", prompt="x")
    raise AssertionError("unknown model accepted")
except openai.NotFoundError as e:
    assert e.param == "model", e
try:
    client.completions.create(model=model, prompt="x", temperature=5)
    raise AssertionError("temperature 5 accepted")
except openai.BadRequestError as e:
    assert e.param == "temperature", e
try:
    openai.OpenAI(base_url=base + "/v1", api_key="fcx-not-a-key", max_retries=0).models.list()
    raise AssertionError("a wrong key was accepted")
except openai.AuthenticationError:
    pass
limited = openai.OpenAI(base_url=base + "/v1", api_key=limited_key, max_retries=0)
limited.completions.create(model=model, prompt="x", max_tokens=1)
try:
    limited.completions.create(model=model, prompt="x", max_tokens=1)
    raise AssertionError("the second request in a minute was accepted")
except openai.RateLimitError as e:
    assert int(e.response.headers["retry-after"]) >= 1

print("openai", openai.__version__, "- all checks passed")
