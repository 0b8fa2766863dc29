#!/usr/bin/env python3
"""Line up llama.cpp's tensor dumps (scripts/dump_llama_tensors.py) with ferrocodex's
(FERROCODEX_TRACE_DIR, crates/engine/examples/trace.rs) and print, op by op and layer by
layer, how far apart they are: max |Δ| relative to the tensor's max |value|, and the share of
elements that differ at all. The first op whose difference jumps is where to look.

  python3 scripts/compare_tensors.py LLAMA_DIR FERRO_DIR [--step K] [--layers 0,1,17]
"""
import argparse
import json
import os
import re

import numpy as np

# ferrocodex name -> llama.cpp name (the last tensor of that name per layer unless given)
PAIRS = [
    ("attn_norm", "attn_norm"),
    ("Qcur", "Qcur"),
    ("Kcur", "Kcur"),
    ("Vcur", "Vcur"),
    ("Qcur_normed", "Qcur_normed"),
    ("Kcur_normed", "Kcur_normed"),
    ("Qcur_rope", "Qcur#2"),
    ("Kcur_rope", "Kcur#2"),
    ("kqv_out", "kqv_out"),
    ("attn_out", "@after:kqv_out"),
    ("attn_post_norm", "attn_post_norm"),
    ("sa_out", "sa_out"),
    ("ffn_norm", "ffn_norm"),
    ("ffn_gate", "ffn_gate"),
    ("ffn_up", "ffn_up"),
    ("ffn_act", "ffn_geglu"),
    ("ffn_out", "ffn_out"),
    ("ffn_post_norm", "ffn_post_norm"),
    ("l_out", "l_out"),
]


def load(d, key):
    p = os.path.join(d, key + ".f32")
    return np.fromfile(p, dtype=np.float32) if os.path.exists(p) else None


def llama_key(index, base, layer):
    if base.startswith("@after:"):
        # an unnamed node: the tensor computed right after the named one
        keys = list(index)
        prev = llama_key(index, base[len("@after:"):], layer)
        return keys[keys.index(prev) + 1] if prev and keys.index(prev) + 1 < len(keys) else None
    name, _, nth = base.partition("#")
    key = f"{name}-{layer}" + (f"#{nth}" if nth else "")
    return key if key in index else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("llama")
    ap.add_argument("ferro")
    ap.add_argument("--step", type=int, default=0)
    ap.add_argument("--layers", default=None)
    args = ap.parse_args()
    ld = os.path.join(args.llama, f"step-{args.step}")
    fd = os.path.join(args.ferro, f"step-{args.step}")
    index = json.load(open(os.path.join(ld, "index.json")))["tensors"]
    n_layers = 1 + max(int(m.group(1)) for k in index if (m := re.match(r"l_out-(\d+)$", k)))
    layers = range(n_layers) if args.layers is None else [int(x) for x in args.layers.split(",")]

    def report(label, a, b):
        if a is None or b is None:
            return
        if a.size != b.size:
            # llama.cpp keeps only the rows it needs in the last layer (the output row).
            if a.size < b.size and b.size % a.size == 0:
                b = b[-a.size:]
            else:
                print(f"{label:>22}: sizes differ {a.size} vs {b.size}")
                return
        scale = float(np.max(np.abs(a))) or 1.0
        d = np.abs(a.astype(np.float64) - b)
        print(f"{label:>22}: max|Δ|/max {d.max() / scale:9.2e}  mean|Δ|/max {d.mean() / scale:9.2e}  "
              f"differ {np.mean(d > 0) * 100:5.1f}%  (max |x| {scale:.3g})")

    report("inp_scaled", load(ld, "inp_scaled"), load(fd, "inp_scaled"))
    for l in layers:
        print(f"-- layer {l}")
        for ours, theirs in PAIRS:
            if theirs is None:
                continue
            key = llama_key(index, theirs, l)
            if key is None:
                continue
            report(f"{ours}-{l}", load(ld, key), load(fd, f"{ours}-{l}"))
    report("result_norm", load(ld, "result_norm"), load(fd, "result_norm"))
    a, b = load(ld, "result_output"), load(fd, "result_output")
    report("result_output", a, b)
    if a is not None and b is not None:
        b = b[-a.size:]
        la = a - np.log(np.sum(np.exp(a.astype(np.float64) - a.max()))) - a.max()
        lb = b - np.log(np.sum(np.exp(b.astype(np.float64) - b.max()))) - b.max()
        top = np.argsort(-la)[:5]
        print("top-5 logprob (llama.cpp, ferrocodex):", [(int(t), round(float(la[t]), 4), round(float(lb[t]), 4)) for t in top])


if __name__ == "__main__":
    main()
