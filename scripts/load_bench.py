#!/usr/bin/env python3
"""Load benchmark for an OpenAI-compatible completions server (ferrocodex serve, llama.cpp's
server, any other): N concurrent clients each stream completions back to back for a fixed
time; reports errors, time to first token (p50/p99), tokens/s in total and per client.

    python3 scripts/load_bench.py --url http://127.0.0.1:8080 --model gemma-3-270m-q4_k_m \
        --clients 32 --duration 60 [--baseline] [--key KEY] [--json out.json]

--baseline first runs one client alone for the same duration, and prints the ratio of the
aggregate throughput under load to it. Tokens are the usage the server reports in the last
chunk (stream_options.include_usage) when it sends one, otherwise the content chunks counted.
Only the standard library is used; traffic goes only to --url (keep it on loopback).
"""
import argparse
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse


def stream_one(url, model, key, prompt, max_tokens, temperature, timeout):
    """One streamed completion: (ttft seconds or None, tokens, error or None)."""
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    body = json.dumps({
        "model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": temperature,
        "stream": True, "stream_options": {"include_usage": True},
    })
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    t0 = time.perf_counter()
    ttft = None
    chunks = 0
    usage = None
    done = False
    try:
        conn.request("POST", (u.path.rstrip("/") or "") + "/v1/completions", body, headers)
        resp = conn.getresponse()
        if resp.status != 200:
            return None, 0, f"HTTP {resp.status}: {resp.read()[:200]!r}"
        for raw in resp:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                done = True
                break
            obj = json.loads(data)
            if "error" in obj:
                return ttft, chunks, f"stream error: {obj['error']}"
            if obj.get("usage"):
                usage = obj["usage"]
            for ch in obj.get("choices") or []:
                if ch.get("text"):
                    chunks += 1
                    if ttft is None:
                        ttft = time.perf_counter() - t0
    except Exception as e:  # noqa: BLE001 - every failure is counted as an error
        return ttft, chunks, f"{type(e).__name__}: {e}"
    finally:
        conn.close()
    if not done:
        return ttft, chunks, "stream ended without [DONE]"
    tokens = usage["completion_tokens"] if usage else chunks
    return ttft, tokens, None


def run(args, clients):
    stop_at = time.perf_counter() + args.duration
    lock = threading.Lock()
    results = {"ttft": [], "tokens": 0, "requests": 0, "errors": []}

    def client(i):
        j = 0
        while time.perf_counter() < stop_at:
            j += 1
            prompt = f"# client {i}, request {j}\ndef function_{i}_{j}(values):\n"
            ttft, tokens, err = stream_one(args.url, args.model, args.key, prompt, args.max_tokens,
                                           args.temperature, args.timeout)
            with lock:
                results["requests"] += 1
                results["tokens"] += tokens
                if ttft is not None:
                    results["ttft"].append(ttft)
                if err:
                    results["errors"].append(err)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ttft = sorted(results["ttft"])
    pct = lambda p: ttft[min(len(ttft) - 1, int(p * len(ttft)))] if ttft else None
    return {
        "clients": clients,
        "duration_s": round(wall, 1),
        "requests": results["requests"],
        "errors": len(results["errors"]),
        "first_errors": results["errors"][:3],
        "tokens": results["tokens"],
        "tokens_per_s": round(results["tokens"] / wall, 1),
        "ttft_p50_s": round(pct(0.5), 3) if ttft else None,
        "ttft_p99_s": round(pct(0.99), 3) if ttft else None,
        "ttft_mean_s": round(statistics.mean(ttft), 3) if ttft else None,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--key")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--baseline", action="store_true", help="also run one client alone first")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    host = urllib.parse.urlparse(args.url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"refusing to load {host}: this benchmark only targets loopback")
    out = {"url": args.url, "model": args.model, "max_tokens": args.max_tokens, "temperature": args.temperature}
    if args.baseline:
        out["single"] = run(args, 1)
        print("one client:", json.dumps(out["single"]), flush=True)
    out["load"] = run(args, args.clients)
    print(f"{args.clients} clients:", json.dumps(out["load"]), flush=True)
    if args.baseline and out["single"]["tokens_per_s"]:
        out["throughput_ratio"] = round(out["load"]["tokens_per_s"] / out["single"]["tokens_per_s"], 2)
        print("aggregate throughput vs one client:", out["throughput_ratio"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 1 if out["load"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
