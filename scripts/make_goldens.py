#!/usr/bin/env python3
"""Makes the golden fixtures in tests/goldens/ with llama.cpp, the reference ferrocodex must match.

Run it with the Python of the llama.cpp virtual environment (scripts/setup-llama-cpp.sh makes one):

    scripts/setup-llama-cpp.sh                      # once; about 17 minutes the first time
    .venv-llama/bin/python scripts/make_goldens.py  # about a minute

It writes:

  tests/goldens/tokenizer.json      token ids of the default model (Gemma 3 270M Q4_K_M) for a
                                    mixed corpus: code in many languages, CJK, emoji, CRLF, tabs,
                                    runs of spaces, chat markers, unusual unicode.
  tests/goldens/gemma3-270m.json    greedy generation with the default model: for each prompt its
                                    ids, 64 generated ids and the top-5 [id, logprob] of every step.
  tests/goldens/tiny-<name>.json    the same for each tiny random-weight model of
                                    crates/testmodels (48 steps), plus token ids for a tokenizer
                                    corpus of that model's vocabulary and the sha256 of the model
                                    file, so that a test knows it rebuilt the very same file.

How the numbers are made (recorded in every file under "settings"):
  * llama-cpp-python's `Llama` object (CPU, n_threads 2, n_threads_batch 2, n_batch = n_ubatch =
    512 (at most n_ctx), flash attention off, KV cache F16/F16, logits of the last position only).
  * Token ids: `llm.tokenize(text.encode(), add_bos=True, special=True)` (llama.cpp adds BOS only
    where the vocabulary asks for it).
  * Generation: the prompt is evaluated in one batch (`llm.eval(prompt_ids)`), then 64 (48) times:
    read the last row of logits (`llama_cpp.llama_get_logits_ith(llm.ctx, -1)`), take the argmax
    (the lowest id on an exact tie), record the top 5 by logit with their log-softmax, and
    evaluate that one token (`llm.eval([id])`). Generation does not stop at end-of-generation
    tokens; the steps where one appeared are listed. The KV cache is cleared between prompts.
  * Logprobs are log-softmax of the raw float32 logits, computed in float64, rounded to 6 places.

The output is deterministic: running the script twice gives identical files (llama.cpp's CPU
path with a fixed thread count is deterministic). The tiny models are rebuilt with
`cargo run --release -p ferrocodex-testmodels --bin write-tiny-models DIR` (an existing
CARGO_TARGET_DIR is honoured). Options: --only {tokenizer,default,tiny} (repeatable),
--model PATH (default: $FERROCODEX_MODEL or ~/.cache/ferrocodex/models/gemma-3-270m-q4_k_m.gguf),
--out DIR (default: tests/goldens), --models-dir DIR (keep the tiny .gguf files there).
"""

import argparse
import ctypes
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import llama_cpp
except ImportError as e:  # pragma: no cover
    sys.exit(
        f"make_goldens.py needs llama-cpp-python and numpy ({e}).\n"
        "Create the environment with scripts/setup-llama-cpp.sh and run this script with\n"
        ".venv-llama/bin/python scripts/make_goldens.py"
    )

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MODEL_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
REGENERATE = "scripts/setup-llama-cpp.sh && .venv-llama/bin/python scripts/make_goldens.py"

N_THREADS = 2
N_BATCH = 512
DEFAULT_STEPS = 64
TINY_STEPS = 48
TOP_K = 5
TINY_NAMES = ["codellama", "deepseek-coder", "qwen2", "starcoder2", "gemma3"]

# --------------------------------------------------------------------------------------------
# Texts

TOKENIZER_CORPUS = [
    # Python
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    'class Stack:\n    """A LIFO stack."""\n\n    def __init__(self) -> None:\n        self._items: list[int] = []\n\n    def push(self, item: int) -> None:\n        self._items.append(item)\n',
    "import numpy as np\nx = np.arange(10, dtype=np.float32) ** 2\nprint(f\"{x.mean():.3f} ± {x.std():.2e}\")\n",
    'from typing import List\n\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n    """ Check if in given list of numbers, are any two numbers closer to each other than\n    given threshold.\n    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)\n    False\n    """\n',
    "lambda x: x if x else None  # noqa: E731\n@decorator(arg=1)\nasync def main(): await asyncio.sleep(0.1)",
    # Rust
    "fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * x).collect();\n    println!(\"{:?}\", v);\n}\n",
    "impl<'a, T: Clone + Send> Iterator for Iter<'a, T> {\n    type Item = &'a T;\n    fn next(&mut self) -> Option<Self::Item> { self.inner.next() }\n}\n",
    # JavaScript / TypeScript
    "const add = (a, b) => a + b;\nconsole.log(`sum: ${add(1, 2)}`);\ndocument.querySelector('#app').innerHTML = '<p>hi</p>';\n",
    "export interface User<T extends object = {}> {\n  id: number;\n  name?: string;\n  meta: Record<string, T>;\n}\n",
    # Go (tabs)
    "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfor i := 0; i < 3; i++ {\n\t\tfmt.Printf(\"%d\\n\", i)\n\t}\n}\n",
    # C / C++
    "#include <stdio.h>\n#define MAX(a, b) ((a) > (b) ? (a) : (b))\nint main(void) {\n    char *p = NULL;\n    return p == NULL ? 0 : -1;\n}\n",
    "template <typename T>\nstd::vector<T> filter(const std::vector<T>& xs) {\n    return {xs.begin(), xs.end()};\n}\n",
    # Java
    "public final class Main {\n    public static void main(String[] args) {\n        System.out.println(\"Hello, World!\");\n    }\n}\n",
    # SQL
    "SELECT u.name, COUNT(o.id) AS orders\nFROM users u LEFT JOIN orders o ON o.user_id = u.id\nWHERE u.created_at >= '2024-01-01'\nGROUP BY u.name HAVING COUNT(*) > 5;\n",
    # Shell
    "#!/usr/bin/env bash\nset -euo pipefail\nfor f in *.log; do grep -c 'ERROR' \"$f\" || true; done 2>/dev/null | sort -n | tail -1\n",
    # Markup and data
    "<!DOCTYPE html>\n<html><body><div class=\"x\">Hello &amp; welcome</div></body></html>\n",
    '{"name": "ferrocodex", "version": [0, 1, 0], "nested": {"ok": true, "n": null}}',
    "server:\n  port: 8080\n  hosts:\n    - a.example\n    - b.example\n",
    "# Title\n\nSome *markdown* with `code` and a fence:\n\n```python\nprint('hi')\n```\n",
    # Natural language
    "The quick brown fox jumps over the lazy dog. It's 3:45 PM; we'll finish by 2025, won't we?",
    "Ünïcödé: café, naïve, résumé, straße, Ærøskøbing, Łódź, İstanbul.",
    "Привет, мир! Съешь же ещё этих мягких французских булок.",
    # CJK
    "你好，世界！这是一个用来测试分词器的句子。函数返回一个值。",
    "こんにちは世界。プログラムを書きましょう。カタカナとひらがな、漢字。",
    "안녕하세요 세계! 한국어 토큰화 테스트입니다.",
    # Emoji
    "Emoji: 🙂 🚀 ✨ 👍🏽 👨‍👩‍👧‍👦 🇫🇷 🏳️‍🌈 🧬",
    # Line endings and whitespace
    "line one\r\nline two\r\n\r\nline four\r\n",
    "\tindented with a tab\n\t\ttwo tabs\n  \t mixed \t whitespace\t\n",
    "a  b   c    d     e      f       g        h                         i",
    "trailing spaces   \n\n\n\nfour newlines above and spaces at the end    ",
    "    leading spaces",
    " ",
    "",
    "\n",
    # Chat markers and special tokens
    "<start_of_turn>user\nWrite a Python function that reverses a string.<end_of_turn>\n<start_of_turn>model\n",
    "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello! How can I help?<end_of_turn>\n<start_of_turn>user\nCode please.<end_of_turn>\n",
    "text<end_of_turn>glued<start_of_turn>to words",
    "<bos>explicit bos and <eos> eos and <pad> pad and <unk> unk",
    # Unusual unicode
    "e\u0301 vs \u00e9; A\u030a vs \u00c5; zero\u200bwidth\u200cjoiners\u200d; nbsp\u00a0here; ideographic\u3000space",
    "مرحبا بالعالم — שלום עולם — สวัสดีชาวโลก — नमस्ते दुनिया",
    "∑∫√∞ ≤ ≥ ≠ ≈ → ⇒ ∀x∈ℝ: x² ≥ 0; ½ ¾ ⅞",
    "┌──┬──┐\n│ a│ b│\n└──┴──┘",
    "\x07bell \x1b[31mred\x1b[0m tab\x0bvt\x0cff del\x7f",
    "rare: \U0002070e \U0001f9ec \U0001d54f \ufffd \uffff end",
    # Numbers, identifiers, repeats
    "0 1 12 123 1234 12345 1234567890 3.14159 -2.5e-10 0xDEADBEEF 0b1010 1_000_000 1,234.56",
    "camelCaseIdentifier snake_case_identifier SCREAMING_CASE kebab-case __dunder__ x1y2z3",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ======================================== ........",
    "https://example.com/path/to/file.py?query=1&x=y#frag C:\\Users\\me\\file.txt ~/.config/app/rc",
    r"re.compile(r'^(?P<key>[A-Za-z_]\w*)\s*=\s*(?P<value>.+?)\s*$')",
]

DEFAULT_PROMPTS = [
    ("python", "def fibonacci(n):"),
    (
        "python-humaneval",
        'def incr_list(l: list):\n    """Return list with elements incremented by 1.\n'
        "    >>> incr_list([1, 2, 3])\n    [2, 3, 4]\n"
        "    >>> incr_list([5, 3, 5, 2, 3, 3, 9, 0, 123])\n    [6, 4, 6, 3, 4, 4, 10, 1, 124]\n"
        '    """\n',
    ),
    ("rust", "/// Returns true if n is a prime number.\nfn is_prime(n: u64) -> bool {"),
    ("javascript", "// Return the sum of an array of numbers\nfunction sumArray(arr) {"),
    (
        "typescript",
        "interface Point {\n  x: number;\n  y: number;\n}\n\nfunction distance(a: Point, b: Point): number {",
    ),
    ("go", 'package main\n\nimport "fmt"\n\n// Reverse returns s reversed.\nfunc Reverse(s string) string {'),
    ("c", "#include <stdio.h>\n\n/* Compute the factorial of n. */\nint factorial(int n) {"),
    ("java", "public class Main {\n    public static int max(int[] values) {"),
    ("sql", "-- Find the ten customers with the highest total order value\nSELECT"),
    ("bash", "#!/bin/bash\n# Count the lines in every .py file in the current directory\n"),
    ("python-class", "class BankAccount:\n    def __init__(self, owner, balance=0):"),
    (
        "chat",
        "<start_of_turn>user\nWrite a Python function that reverses a string.<end_of_turn>\n<start_of_turn>model\n",
    ),
    ("cpp", "template <typename T>\nT clamp(T value, T lo, T hi) {"),
    ("python-json", "import json\n\n\ndef load_config(path):\n    "),
]

# Texts for every tiny model's tokenizer: its pre-tokenizer's edge cases.
TINY_TOKENIZER_CORPUS = [
    "def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)\n",
    "fn main() {\n    let total: u64 = (0..100).sum();\n    println!(\"total = {}\", total);\n}\n",
    "I'm sure you've seen it; they're here, we'll go, he'd say, it's fine. DON'T SHOUT, I'LL GO, WE'VE SEEN",
    "0 7 42 123 1234 12345 1234567 3.14159 1e-9 0xFF 1,000,000 2025-11-25",
    "café naïve Ünïcödé straße Привет мир",
    "你好，世界！函数返回一个值。こんにちは世界。안녕하세요",
    "emoji 🙂🚀 ✨ 👍🏽 👨‍👩‍👧 done… “quoted” ‘text’ — dash",
    "a  b   c    d        e\t\tf\t g \t\n\n\n  \n   end   ",
    "line one\r\nline two\r\n\r\n",
    "    indented\n        more\n\tand a tab\n",
    "   ",
    "",
    " leading space",
    "x=1;y=2;z=x+y*3-(4/5)%6",
    "SELECT name, COUNT(*) FROM orders WHERE total >= 10 GROUP BY name;",
    "<div class=\"a\">&lt;tag&gt;</div> https://example.com/a/b?c=d#e",
    "rare: \U0002070e \U0001f9ec \u0301 \u200b zero width",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa !!!!!!!!!!!!!!!! ........",
]

TINY_SPECIAL_TEXTS = {
    "codellama": [
        "\u2581<PRE> def add(a, b): \u2581<SUF> return c \u2581<MID>",
        "<s>bos text</s> and <unk>",
    ],
    "deepseek-coder": [
        "<\uff5cfim\u2581begin\uff5c>def add(a, b):\n    <\uff5cfim\u2581hole\uff5c>\n    return c<\uff5cfim\u2581end\uff5c>",
        "<\uff5cbegin\u2581of\u2581sentence\uff5c>hello<\uff5cend\u2581of\u2581sentence\uff5c><|EOT|>",
    ],
    "qwen2": [
        "<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n    return c<|fim_middle|>",
        "<|repo_name|>ferrocodex\n<|file_sep|>main.py\nprint(1)<|endoftext|>",
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    ],
    "starcoder2": [
        "<fim_prefix>def add(a, b):\n    <fim_suffix>\n    return c<fim_middle>",
        "<repo_name>ferrocodex<file_sep>main.py\nprint(1)<|endoftext|>",
    ],
    "gemma3": [
        "<start_of_turn>user\nWrite a function.<end_of_turn>\n<start_of_turn>model\n",
        "<bos>text<eos> <code>x = 1</code> [multimodal] <unk>",
    ],
}

TINY_PROMPTS = {
    "codellama": [
        ("python", "def fibonacci(n):\n    "),
        ("rust", "fn main() {\n    let x = 42;"),
        ("fim", {"prefix": "def add(a, b):\n    ", "suffix": "\n    return c\n"}),
    ],
    "deepseek-coder": [
        ("python", "def fibonacci(n):\n    "),
        ("sql", "SELECT name FROM users WHERE"),
        (
            "fim",
            "<\uff5cfim\u2581begin\uff5c>def add(a, b):\n    <\uff5cfim\u2581hole\uff5c>\n    return c\n<\uff5cfim\u2581end\uff5c>",
        ),
    ],
    "qwen2": [
        ("python", "def fibonacci(n):\n    "),
        ("javascript", "const sum = (a, b) => "),
        ("fim", "<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n    return c\n<|fim_middle|>"),
    ],
    "starcoder2": [
        ("python", "def fibonacci(n):\n    "),
        ("go", "func main() {\n\tfmt.Println(\"hello\")"),
        ("fim", "<fim_prefix>def add(a, b):\n    <fim_suffix>\n    return c\n<fim_middle>"),
    ],
    "gemma3": [
        ("python", "def fibonacci(n):\n    "),
        ("c", "int main(int argc, char **argv) {\n    "),
        ("chat", "<start_of_turn>user\nWrite a function.<end_of_turn>\n<start_of_turn>model\n"),
    ],
}

# --------------------------------------------------------------------------------------------


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def settings(n_ctx):
    return {
        "n_ctx": n_ctx,
        "n_threads": N_THREADS,
        "n_threads_batch": N_THREADS,
        "n_batch": min(N_BATCH, n_ctx),
        "n_ubatch": min(N_BATCH, n_ctx),
        "flash_attn": False,
        "type_k": "f16",
        "type_v": "f16",
        "logits_all": False,
        "backend": "CPU",
        "llama_cpp_python": llama_cpp.__version__,
        "system_info": llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip(),
        "api": (
            "llama_cpp.Llama(model_path, n_ctx, n_batch, n_ubatch, n_threads, n_threads_batch, "
            "flash_attn=False, logits_all=False); ids = llm.tokenize(text.encode(), add_bos=True, "
            "special=True); llm.eval(prompt_ids); loop: row = llama_cpp.llama_get_logits_ith(llm.ctx, -1), "
            "argmax, llm.eval([id])"
        ),
        "argmax": "greedy over raw logits; the lowest id wins an exact tie; no end-of-generation stop",
        "logprobs": "log-softmax of the raw float32 logits in float64, rounded to 6 decimals",
    }


def open_model(path, n_ctx):
    return llama_cpp.Llama(
        model_path=path,
        n_ctx=n_ctx,
        n_batch=min(N_BATCH, n_ctx),
        n_ubatch=min(N_BATCH, n_ctx),
        n_threads=N_THREADS,
        n_threads_batch=N_THREADS,
        flash_attn=False,
        logits_all=False,
        n_gpu_layers=0,
        seed=0,
        verbose=False,
    )


def tokenize(llm, text):
    return [int(t) for t in llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)]


def clear(llm):
    llm.reset()
    mem = llama_cpp.llama_get_memory(llm.ctx)
    if mem is not None:
        llama_cpp.llama_memory_clear(mem, True)


def last_logits(llm):
    n_vocab = llm.n_vocab()
    ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
    return np.ctypeslib.as_array(ptr, shape=(n_vocab,)).astype(np.float64)


def generate(llm, prompt_ids, steps):
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    eos = llama_cpp.llama_vocab_eos(vocab)
    clear(llm)
    llm.eval(prompt_ids)
    ids, tops, eog_steps, eos_steps = [], [], [], []
    min_margin = math.inf
    for step in range(steps):
        logits = last_logits(llm)
        m = logits.max()
        lse = m + math.log(np.exp(logits - m).sum())
        # top TOP_K by logit, the lower id first on a tie
        cand = np.argpartition(-logits, 4 * TOP_K)[: 4 * TOP_K]
        order = sorted(cand.tolist(), key=lambda i: (-logits[i], i))[:TOP_K]
        tok = int(order[0])
        top = [[int(i), round(float(logits[i] - lse), 6)] for i in order]
        min_margin = min(min_margin, float(logits[order[0]] - logits[order[1]]))
        ids.append(tok)
        tops.append(top)
        if tok == eos:
            eos_steps.append(step)
        if llama_cpp.llama_vocab_is_eog(vocab, tok):
            eog_steps.append(step)
        if step + 1 < steps:
            llm.eval([tok])
    text = llm.detokenize(ids).decode("utf-8", "replace")
    return {
        "generated_ids": ids,
        "generated_text": text,
        "top5": tops,
        "eos_appeared": bool(eos_steps),
        "eos_steps": eos_steps,
        "eog_steps": eog_steps,
        "min_top1_top2_logit_gap": round(min_margin, 6),
    }


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        f.write(compact(obj) + "\n")
    json.load(open(path, encoding="utf-8"))  # it must parse back
    size = os.path.getsize(path)
    print(f"wrote {os.path.relpath(path, ROOT)} ({size} bytes)")
    if size > 2_000_000:
        sys.exit(f"{path} is larger than 2 MB")


def compact(obj, indent=0):
    """JSON with one item per line, except that a list of plain values, or a short list of
    such lists (one step's top-5 [id, logprob] pairs), stays on one line."""
    pad = " " * indent

    def plain(x):
        return x is None or isinstance(x, (bool, int, float, str))

    def one_line(x):
        return all(plain(y) for y in x) or (len(x) <= TOP_K and all(isinstance(y, list) and all(plain(z) for z in y) for y in x))

    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad} {json.dumps(k, ensure_ascii=False)}: {compact(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and not one_line(obj):
        items = [pad + " " + compact(x, indent + 1) for x in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, ensure_ascii=False)


def header(what, model_path, sha, n_ctx):
    return {
        "about": what,
        "regenerate": REGENERATE,
        "model": os.path.basename(model_path),
        "model_sha256": sha,
        "llama_cpp_python": llama_cpp.__version__,
        "settings": settings(n_ctx),
    }


def make_default(model_path, out_dir, only):
    sha = sha256_file(model_path)
    if sha != DEFAULT_MODEL_SHA256:
        print(f"warning: {model_path} has sha256 {sha}, not the default model's {DEFAULT_MODEL_SHA256}")
    n_ctx = 512
    llm = open_model(model_path, n_ctx)
    if "tokenizer" in only:
        cases = [{"text": t, "ids": tokenize(llm, t)} for t in TOKENIZER_CORPUS]
        obj = header(
            "llama.cpp's token ids for the default model: llm.tokenize(text.encode(), add_bos=True, special=True)",
            model_path,
            sha,
            n_ctx,
        )
        obj["add_bos"] = True
        obj["special"] = True
        obj["cases"] = cases
        write_json(os.path.join(out_dir, "tokenizer.json"), obj)
    if "default" in only:
        prompts = []
        for name, text in DEFAULT_PROMPTS:
            ids = tokenize(llm, text)
            g = generate(llm, ids, DEFAULT_STEPS)
            prompts.append({"name": name, "prompt": text, "prompt_ids": ids, **g})
            print(f"  gemma3-270m {name}: min top1-top2 gap {g['min_top1_top2_logit_gap']:.4f}")
        obj = header(
            f"llama.cpp greedy generation with the default model: {DEFAULT_STEPS} steps per prompt, top-{TOP_K} logprobs per step",
            model_path,
            sha,
            n_ctx,
        )
        obj["steps"] = DEFAULT_STEPS
        obj["prompts"] = prompts
        write_json(os.path.join(out_dir, "gemma3-270m.json"), obj)
    del llm


def build_tiny_models(models_dir):
    cmd = ["cargo", "run", "--release", "-q", "-p", "ferrocodex-testmodels", "--bin", "write-tiny-models", models_dir]
    print("running: " + " ".join(cmd))
    subprocess.run(cmd, cwd=ROOT, check=True)


def make_tiny(name, models_dir, out_dir):
    path = os.path.join(models_dir, f"tiny-{name}.gguf")
    sha = sha256_file(path)
    n_ctx = 256
    llm = open_model(path, n_ctx)
    tok_cases = [{"text": t, "ids": tokenize(llm, t)} for t in TINY_TOKENIZER_CORPUS + TINY_SPECIAL_TEXTS[name]]
    prompts = []
    for pname, p in TINY_PROMPTS[name]:
        entry = {"name": pname}
        if isinstance(p, dict):
            # FIM assembled from ids, as llama.cpp's infill does: [BOS] PRE prefix SUF suffix MID.
            vocab = llama_cpp.llama_model_get_vocab(llm.model)
            pre, suf, mid = (
                llama_cpp.llama_vocab_fim_pre(vocab),
                llama_cpp.llama_vocab_fim_suf(vocab),
                llama_cpp.llama_vocab_fim_mid(vocab),
            )
            prefix = [int(t) for t in llm.tokenize(p["prefix"].encode(), add_bos=False, special=False)]
            suffix = [int(t) for t in llm.tokenize(p["suffix"].encode(), add_bos=False, special=False)]
            ids = [llm.token_bos()] + [pre] + prefix + [suf] + suffix + [mid]
            entry["prompt"] = None
            entry["fim"] = {
                "prefix": p["prefix"],
                "suffix": p["suffix"],
                "assembly": "[bos, fim_pre] + tokenize(prefix, add_bos=False, special=False) + [fim_suf] + tokenize(suffix, add_bos=False, special=False) + [fim_mid]",
            }
        else:
            ids = tokenize(llm, p)
            entry["prompt"] = p
        g = generate(llm, ids, TINY_STEPS)
        entry["prompt_ids"] = ids
        entry.update(g)
        prompts.append(entry)
        print(f"  tiny-{name} {pname}: min top1-top2 gap {g['min_top1_top2_logit_gap']:.4f}")
    obj = header(
        f"llama.cpp on the tiny random-weight model tiny-{name}.gguf (crates/testmodels): "
        f"token ids for its vocabulary and greedy generation, {TINY_STEPS} steps, top-{TOP_K} logprobs per step",
        path,
        sha,
        n_ctx,
    )
    obj["tiny_model"] = name
    obj["model_file_bytes"] = os.path.getsize(path)
    obj["n_vocab"] = llm.n_vocab()
    obj["tokenizer"] = {"add_bos": True, "special": True, "cases": tok_cases}
    obj["steps"] = TINY_STEPS
    obj["prompts"] = prompts
    write_json(os.path.join(out_dir, f"tiny-{name}.json"), obj)
    del llm


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", action="append", choices=["tokenizer", "default", "tiny"])
    ap.add_argument(
        "--model",
        default=os.environ.get("FERROCODEX_MODEL")
        or os.path.expanduser("~/.cache/ferrocodex/models/gemma-3-270m-q4_k_m.gguf"),
    )
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "goldens"))
    ap.add_argument("--models-dir", default=None, help="write the tiny models here (default: a temporary folder)")
    ap.add_argument("--tiny", action="append", choices=TINY_NAMES, help="only these tiny models")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    only = set(args.only or ["tokenizer", "default", "tiny"])
    os.makedirs(args.out, exist_ok=True)
    llama_cpp.llama_backend_init()

    if only & {"tokenizer", "default"}:
        if not os.path.exists(args.model):
            sys.exit(f"default model not found at {args.model} (run `ferrocodex pull` or pass --model)")
        make_default(args.model, args.out, only)

    if "tiny" in only:
        with tempfile.TemporaryDirectory(prefix="ferrocodex-tiny-") as tmp:
            models_dir = args.models_dir or tmp
            os.makedirs(models_dir, exist_ok=True)
            build_tiny_models(models_dir)
            for name in args.tiny or TINY_NAMES:
                make_tiny(name, models_dir, args.out)


if __name__ == "__main__":
    main()
