#!/usr/bin/env python3
"""Dump llama.cpp's intermediate f32 tensors for one prompt, for op-by-op parity checks.

Runs llama-cpp-python (0.3.36) with the same settings as scripts/make_goldens.py (2 threads,
flash attention off, F16 KV cache) and a graph-evaluation callback that copies every
contiguous f32 tensor the graph computes (`attn_norm-0`, `Qcur-0`, `ffn_out-3`, `l_out-17`,
`result_output`, ...) into OUT/NAME.f32, with OUT/index.json giving each shape (ggml's ne, fastest
dimension first). The prompt is decoded as one batch, then each of --steps extra tokens
(given as ids) one at a time; the dumps of step k go to OUT/step-K/.

  LLAMA_PYTHON=.venv-llama/bin/python
  $LLAMA_PYTHON scripts/dump_llama_tensors.py MODEL.gguf "def fibonacci(n):" OUT [--then ID ...]

Compare with ferrocodex's own dump (FERROCODEX_TRACE_DIR, see crates/engine/src/trace.rs) using
scripts/compare_tensors.py.
"""
import argparse
import ctypes
import json
import os

import llama_cpp
import numpy as np

lib_dir = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
ggml = ctypes.CDLL(os.path.join(lib_dir, "libggml-base.so"))
ggml.ggml_get_name.restype = ctypes.c_char_p
ggml.ggml_get_name.argtypes = [ctypes.c_void_p]
ggml.ggml_nelements.restype = ctypes.c_int64
ggml.ggml_nelements.argtypes = [ctypes.c_void_p]
ggml.ggml_get_data.restype = ctypes.c_void_p
ggml.ggml_get_data.argtypes = [ctypes.c_void_p]
ggml.ggml_is_contiguous.restype = ctypes.c_bool
ggml.ggml_is_contiguous.argtypes = [ctypes.c_void_p]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("prompt")
    ap.add_argument("out")
    ap.add_argument("--then", type=int, nargs="*", default=[], help="token ids decoded one at a time after the prompt")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    state = {"dir": None, "index": {}}

    def cb(t, ask, _user):
        if ask:
            return True
        name = ggml.ggml_get_name(t).decode()
        ttype = ctypes.c_int32.from_address(t).value
        if ttype != 0 or not ggml.ggml_is_contiguous(t):
            return True
        ne = [ctypes.c_int64.from_address(t + 16 + 8 * i).value for i in range(4)]
        n = ggml.ggml_nelements(t)
        data = ggml.ggml_get_data(t)
        if not data:
            return True
        arr = np.ctypeslib.as_array((ctypes.c_float * n).from_address(data)).copy()
        key = name.replace("/", "_").replace(" ", "_")
        if key in state["index"]:
            k = 1
            while f"{key}#{k}" in state["index"]:
                k += 1
            key = f"{key}#{k}"
        arr.tofile(os.path.join(state["dir"], key + ".f32"))
        state["index"][key] = ne
        return True

    callback = llama_cpp.ggml_backend_sched_eval_callback(cb)
    llm = llama_cpp.Llama(model_path=args.model, n_ctx=512, n_batch=512, n_ubatch=512,
                          n_threads=args.threads, n_threads_batch=args.threads,
                          flash_attn=False, logits_all=False, verbose=False)
    params = llm.context_params
    params.cb_eval = callback
    ctx = llama_cpp.llama_init_from_model(llm.model, params)
    ids = llm.tokenize(args.prompt.encode(), add_bos=True, special=True)
    steps = [ids] + [[t] for t in args.then]
    for k, toks in enumerate(steps):
        state["dir"] = os.path.join(args.out, f"step-{k}")
        state["index"] = {}
        os.makedirs(state["dir"], exist_ok=True)
        arr = (llama_cpp.llama_token * len(toks))(*toks)
        batch = llama_cpp.llama_batch_get_one(arr, len(toks))
        rc = llama_cpp.llama_decode(ctx, batch)
        if rc != 0:
            raise SystemExit(f"llama_decode failed with {rc}")
        with open(os.path.join(state["dir"], "index.json"), "w") as f:
            json.dump({"tokens": toks, "tensors": state["index"]}, f, indent=0)
    print(json.dumps({"prompt_ids": ids, "steps": len(steps)}))
    llama_cpp.llama_free(ctx)


if __name__ == "__main__":
    main()
