#!/usr/bin/env python3
"""Measures ferrocodex beside llama.cpp on the same machine, in one run.

    python3 scripts/bench_vs_llamacpp.py [--threads 2 [--threads 1 …]] [--depth 2048]
                                         [--model PATH] [--reps 3] [--json-out FILE]

For each thread count it runs, one after the other, in separate processes (so that each peak
RSS is its own):

  * llama.cpp, through llama-cpp-python in the llama.cpp virtual environment
    (scripts/setup-llama-cpp.sh; found as $LLAMA_PYTHON, else .venv-llama/bin/python, else this
    Python if it can import llama_cpp). This script runs itself there with --worker.
  * `target/release/ferrocodex bench --json --threads N --model PATH [--depth D]` (or the binary
    under $CARGO_TARGET_DIR, or --ferrocodex PATH), which prints
    one JSON object: {"model", "threads", "prefill_tokens": 512, "prefill_tokens_per_s",
    "decode_tokens": 128, "decode_tokens_per_s", "load_s", "peak_rss_bytes"}.

Measures (the same definitions on both sides):
  decode   tg128: 128 greedy single-token steps after an 8-token prompt (or after a prompt of
           --depth tokens), tokens/s over the 128 steps only.
  prefill  pp512: one 512-token prompt evaluated as a single batch, tokens/s.
  load     warm load time, s: the model file is read once first so it is in the page cache;
           then model load + context creation.
  rss      peak resident set of the process (for llama.cpp also without the Python
           interpreter's own baseline, measured just before the model is loaded).
llama.cpp runs with its default context settings (F16 KV cache, flash attention auto, which
is on for the CPU; --flash-attn changes it), batch 512. The two engines take turns for --reps
rounds (a llama.cpp run, with one warm-up, then a ferrocodex run, in fresh processes), so that
the machine's drift falls on both; each measure is the median of the rounds (peak RSS: the
largest). It prints a table and a JSON
document with the ratios ferrocodex / llama.cpp (above 1 means ferrocodex is faster, or for RSS
and load, uses more). Numbers vary on a shared machine: compare ratios from one run.

Use --llama-only to measure llama.cpp alone. Without --llama-only the ferrocodex binary must
exist (cargo build --release -p ferrocodex).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_quiet_log = None
DEFAULT_MODEL = os.path.expanduser("~/.cache/ferrocodex/models/gemma-3-270m-q4_k_m.gguf")
PREFILL_TOKENS = 512
DECODE_TOKENS = 128
SHORT_PROMPT = 8

# A deterministic text long enough for any prompt the benchmark needs.
FILLER = (
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n\n"
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n"
    "        self.items.append(item)\n\n    def pop(self):\n        return self.items.pop()\n\n"
    "fn main() {\n    let v: Vec<u64> = (0..100).map(|x| x * x).collect();\n    println!(\"{:?}\", v);\n}\n\n"
    "SELECT name, COUNT(*) FROM orders GROUP BY name ORDER BY 2 DESC;\n"
)


# --------------------------------------------------------------------------------------------
# llama.cpp worker (runs inside the llama.cpp virtual environment)


def worker(args):
    import resource

    import numpy as np

    baseline_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    import llama_cpp

    global _quiet_log  # keep the callback alive as long as llama.cpp may call it
    _quiet_log = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
    llama_cpp.llama_log_set(_quiet_log, None)

    llama_cpp.llama_backend_init()
    n_ctx = max(PREFILL_TOKENS, args.depth + SHORT_PROMPT) + DECODE_TOKENS + 16

    t0 = time.perf_counter()
    mparams = llama_cpp.llama_model_default_params()
    mparams.n_gpu_layers = 0
    model = llama_cpp.llama_model_load_from_file(args.model.encode(), mparams)
    if not model:
        sys.exit(f"llama.cpp could not load {args.model}")
    cparams = llama_cpp.llama_context_default_params()
    cparams.n_ctx = n_ctx
    cparams.n_batch = PREFILL_TOKENS
    cparams.n_ubatch = PREFILL_TOKENS
    cparams.n_threads = args.threads
    cparams.n_threads_batch = args.threads
    cparams.no_perf = True
    cparams.flash_attn_type = {
        "auto": llama_cpp.LLAMA_FLASH_ATTN_TYPE_AUTO,
        "on": llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED,
        "off": llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED,
    }[args.flash_attn]
    ctx = llama_cpp.llama_init_from_model(model, cparams)
    if not ctx:
        sys.exit("llama.cpp could not create a context")
    load_s = time.perf_counter() - t0

    vocab = llama_cpp.llama_model_get_vocab(model)
    n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
    mem = llama_cpp.llama_get_memory(ctx)

    def tokenize(text, n):
        buf = (llama_cpp.llama_token * (len(text) + 16))()
        raw = text.encode()
        got = llama_cpp.llama_tokenize(vocab, raw, len(raw), buf, len(buf), True, False)
        if got < 0:
            sys.exit("tokenize failed")
        ids = list(buf[:got])
        while len(ids) < n:
            ids += ids[1:]
        return ids[:n]

    filler = FILLER * (1 + (args.depth + PREFILL_TOKENS) // 40)
    prefill_ids = tokenize(filler, PREFILL_TOKENS)
    depth_ids = tokenize(filler, max(args.depth, SHORT_PROMPT))

    def decode(ids, pos0):
        """Evaluates ids at positions pos0.. in batches of n_batch; logits for the last one."""
        batch = llama_cpp.llama_batch_init(PREFILL_TOKENS, 0, 1)
        try:
            i = 0
            while i < len(ids):
                chunk = ids[i : i + PREFILL_TOKENS]
                batch.n_tokens = len(chunk)
                for j, t in enumerate(chunk):
                    batch.token[j] = t
                    batch.pos[j] = pos0 + i + j
                    batch.n_seq_id[j] = 1
                    batch.seq_id[j][0] = 0
                    batch.logits[j] = 1 if i + j == len(ids) - 1 else 0
                rc = llama_cpp.llama_decode(ctx, batch)
                if rc != 0:
                    sys.exit(f"llama_decode returned {rc}")
                i += len(chunk)
        finally:
            llama_cpp.llama_batch_free(batch)

    def argmax_last():
        ptr = llama_cpp.llama_get_logits_ith(ctx, -1)
        return int(np.argmax(np.ctypeslib.as_array(ptr, shape=(n_vocab,))))

    one = llama_cpp.llama_batch_init(1, 0, 1)

    def step(tok, pos):
        one.n_tokens = 1
        one.token[0] = tok
        one.pos[0] = pos
        one.n_seq_id[0] = 1
        one.seq_id[0][0] = 0
        one.logits[0] = 1
        rc = llama_cpp.llama_decode(ctx, one)
        if rc != 0:
            sys.exit(f"llama_decode returned {rc}")

    def run_prefill():
        llama_cpp.llama_memory_clear(mem, True)
        t = time.perf_counter()
        decode(prefill_ids, 0)
        return PREFILL_TOKENS / (time.perf_counter() - t)

    def run_decode():
        llama_cpp.llama_memory_clear(mem, True)
        prompt = depth_ids if args.depth else depth_ids[:SHORT_PROMPT]
        decode(prompt, 0)
        pos = len(prompt)
        tok = argmax_last()
        t = time.perf_counter()
        for _ in range(DECODE_TOKENS):
            step(tok, pos)
            pos += 1
            tok = argmax_last()
        return DECODE_TOKENS / (time.perf_counter() - t)

    # warm-up
    llama_cpp.llama_memory_clear(mem, True)
    decode(prefill_ids[:32], 0)
    step(prefill_ids[32], 32)

    prefill = statistics.median(run_prefill() for _ in range(args.reps))
    decode_tps = statistics.median(run_decode() for _ in range(args.reps))
    llama_cpp.llama_batch_free(one)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = {
        "engine": "llama.cpp",
        "llama_cpp_python": llama_cpp.__version__,
        "model": args.model,
        "threads": args.threads,
        "depth": args.depth,
        "flash_attn": args.flash_attn,
        "kv_cache": "f16",
        "prefill_tokens": PREFILL_TOKENS,
        "prefill_tokens_per_s": round(prefill, 2),
        "decode_tokens": DECODE_TOKENS,
        "decode_tokens_per_s": round(decode_tps, 2),
        "load_s": round(load_s, 4),
        "peak_rss_bytes": peak,
        "interpreter_rss_bytes": baseline_rss,
        "peak_rss_bytes_without_interpreter": peak - baseline_rss,
    }
    llama_cpp.llama_free(ctx)
    llama_cpp.llama_model_free(model)
    print(json.dumps(out))


# --------------------------------------------------------------------------------------------
# driver


def run_child(cmd):
    """Runs cmd; returns (rc, stdout, stderr, peak RSS of the child in bytes)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    out, err = [], []
    threads = [
        threading.Thread(target=lambda: out.append(p.stdout.read())),
        threading.Thread(target=lambda: err.append(p.stderr.read())),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, out[0].decode(errors="replace"), err[0].decode(errors="replace"), usage.ru_maxrss * 1024


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return None


def find_llama_python(explicit):
    candidates = [explicit, os.environ.get("LLAMA_PYTHON"), os.path.join(ROOT, ".venv-llama", "bin", "python")]
    if os.environ.get("LLAMA_VENV"):
        candidates.insert(2, os.path.join(os.environ["LLAMA_VENV"], "bin", "python"))
    for c in candidates:
        if c and os.path.exists(c):
            return c
    try:
        import llama_cpp  # noqa: F401

        return sys.executable
    except ImportError:
        sys.exit(
            "no Python with llama-cpp-python found: run scripts/setup-llama-cpp.sh, or pass "
            "--llama-python PATH (or set LLAMA_PYTHON)"
        )


def warm_file(path):
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def bench_llama(py, model, threads, depth, reps, flash_attn):
    cmd = [py, os.path.abspath(__file__), "--worker", "--model", model, "--threads", str(threads)]
    cmd += ["--depth", str(depth), "--reps", str(reps), "--flash-attn", flash_attn]
    rc, out, err, rss = run_child(cmd)
    res = last_json(out)
    if rc != 0 or res is None:
        sys.exit(f"llama.cpp worker failed (exit {rc}):\n{err[-3000:]}")
    res["peak_rss_bytes_external"] = rss
    return res


def bench_ferrocodex(binary, model, threads, depth):
    cmd = [binary, "bench", "--json", "--threads", str(threads), "--model", model]
    if depth:
        cmd += ["--depth", str(depth)]
    rc, out, err, rss = run_child(cmd)
    res = last_json(out)
    if rc != 0 or res is None:
        sys.exit(f"`{' '.join(cmd)}` failed (exit {rc}):\n{err[-3000:]}\n{out[-1000:]}")
    missing = [k for k in ("prefill_tokens_per_s", "decode_tokens_per_s", "load_s", "peak_rss_bytes") if k not in res]
    if missing:
        sys.exit(f"ferrocodex bench --json did not report {missing}: {res}")
    res["engine"] = "ferrocodex"
    res["peak_rss_bytes_external"] = rss
    return res


def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


def main():
    ap = argparse.ArgumentParser(description="ferrocodex beside llama.cpp: decode, prefill, load, RSS")
    ap.add_argument("--model", default=os.environ.get("FERROCODEX_MODEL") or DEFAULT_MODEL)
    ap.add_argument("--threads", type=int, action="append", help="thread counts (repeatable; default 2)")
    ap.add_argument("--depth", type=int, default=0, help="decode after a prompt of this many tokens (e.g. 2048)")
    ap.add_argument("--reps", type=int, default=3, help="runs per measure; the median is reported")
    ap.add_argument(
        "--flash-attn",
        choices=["auto", "on", "off"],
        default="auto",
        help="llama.cpp's flash attention (default: auto, llama.cpp's own default; it is on for the CPU)",
    )
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    ap.add_argument("--ferrocodex", default=os.path.join(target, "release", "ferrocodex"), help="the ferrocodex binary (default: $CARGO_TARGET_DIR or target/, release/ferrocodex)")
    ap.add_argument("--llama-python", default=None)
    ap.add_argument("--llama-only", action="store_true", help="measure llama.cpp alone")
    ap.add_argument("--json-out", default=None, help="also write the JSON document here")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        args.threads = (args.threads or [2])[0]
        return worker(args)

    threads = args.threads or [2]
    model = os.path.abspath(args.model)
    if not os.path.exists(model):
        sys.exit(f"model not found: {model} (run `ferrocodex pull` or pass --model)")
    if not args.llama_only and not os.access(args.ferrocodex, os.X_OK):
        sys.exit(
            f"ferrocodex binary not found at {args.ferrocodex}: build it first with\n"
            "    cargo build --release -p ferrocodex\n"
            "or pass --ferrocodex PATH, or use --llama-only to measure llama.cpp alone."
        )
    py = find_llama_python(args.llama_python)
    warm_file(model)

    results = []
    for n in threads:
        row = {"threads": n, "depth": args.depth}
        if args.llama_only:
            print(f"threads {n}: llama.cpp …", file=sys.stderr, flush=True)
            row["llama.cpp"] = bench_llama(py, model, n, args.depth, args.reps, args.flash_attn)
        else:
            # The engines take turns, one run each per round, so that a change in the machine's
            # speed during the run (other tenants, clocks) falls on both alike; each measure is
            # the median of the rounds.
            runs = {"llama.cpp": [], "ferrocodex": []}
            for r in range(args.reps):
                print(f"threads {n}, round {r + 1}/{args.reps}: llama.cpp …", file=sys.stderr, flush=True)
                runs["llama.cpp"].append(bench_llama(py, model, n, args.depth, 1, args.flash_attn))
                print(f"threads {n}, round {r + 1}/{args.reps}: ferrocodex …", file=sys.stderr, flush=True)
                runs["ferrocodex"].append(bench_ferrocodex(args.ferrocodex, model, n, args.depth))
            for engine, rs in runs.items():
                merged = dict(rs[0])
                for key in ("prefill_tokens_per_s", "decode_tokens_per_s", "load_s"):
                    merged[key] = statistics.median(x[key] for x in rs)
                for key in ("peak_rss_bytes", "peak_rss_bytes_without_interpreter", "peak_rss_bytes_external"):
                    if key in rs[0]:
                        merged[key] = max(x[key] for x in rs)
                merged["rounds"] = [
                    {k: x[k] for k in ("prefill_tokens_per_s", "decode_tokens_per_s", "load_s")} for x in rs
                ]
                row[engine] = merged
            f = row["ferrocodex"]
            l = row["llama.cpp"]
            row["ratios"] = {
                "decode": ratio(f["decode_tokens_per_s"], l["decode_tokens_per_s"]),
                "prefill": ratio(f["prefill_tokens_per_s"], l["prefill_tokens_per_s"]),
                "load": ratio(f["load_s"], l["load_s"]),
                "peak_rss": ratio(f["peak_rss_bytes"], l["peak_rss_bytes"]),
                "peak_rss_vs_llama_without_interpreter": ratio(f["peak_rss_bytes"], l["peak_rss_bytes_without_interpreter"]),
            }
        results.append(row)

    decode_name = f"decode tg{DECODE_TOKENS} at depth {args.depth} (tok/s)" if args.depth else f"decode tg{DECODE_TOKENS} (tok/s)"
    lines = []
    hdr = f"{'threads':>7}  {'measure':<34} {'llama.cpp':>12}"
    if not args.llama_only:
        hdr += f" {'ferrocodex':>12} {'ratio':>7}"
    lines.append(hdr)
    for row in results:
        l, f = row["llama.cpp"], row.get("ferrocodex")
        measures = [
            (decode_name, "decode_tokens_per_s", "decode", "{:.1f}"),
            (f"prefill pp{PREFILL_TOKENS} (tok/s)", "prefill_tokens_per_s", "prefill", "{:.1f}"),
            ("warm load (s)", "load_s", "load", "{:.3f}"),
            ("peak RSS (MB)", "peak_rss_bytes", "peak_rss", "{:.0f}"),
        ]
        for label, key, rkey, fmt in measures:
            scale = 1e-6 if key == "peak_rss_bytes" else 1
            s = f"{row['threads']:>7}  {label:<34} {fmt.format(l[key] * scale):>12}"
            if f is not None:
                s += f" {fmt.format(f[key] * scale):>12} {row['ratios'][rkey]:>7}"
            lines.append(s)
        lines.append(
            f"{'':>7}  {'(llama.cpp RSS without Python: ' + format(l['peak_rss_bytes_without_interpreter'] / 1e6, '.0f') + ' MB)':<34}"
        )
    print("\n".join(lines))
    doc = {"model": model, "depth": args.depth, "reps": args.reps, "results": results}
    print(json.dumps(doc, indent=1))
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(doc, fh, indent=1)


if __name__ == "__main__":
    main()
