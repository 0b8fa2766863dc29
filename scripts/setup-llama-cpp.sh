#!/usr/bin/env bash
# Creates the Python virtual environment that holds llama.cpp (through its Python package
# llama-cpp-python), the *reference* ferrocodex is compared with: scripts/make_goldens.py makes
# the golden fixtures in tests/goldens/ with it and scripts/bench_vs_llamacpp.py measures its
# speed beside ferrocodex's. ferrocodex itself never needs it, and CI does not run this.
#
#   scripts/setup-llama-cpp.sh [VENV_DIR]      (default: .venv-llama in the repository root,
#                                              or $LLAMA_VENV if set)
#
# The package is compiled from source for this machine's CPU (GGML_NATIVE=ON): the first run
# takes about 17 minutes on 2 cores. pip keeps the built wheel in its cache, so later runs on
# the same machine take seconds. Running it again when the venv is complete does nothing.
set -euo pipefail

LLAMA_CPP_PYTHON_VERSION=0.3.36
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-${LLAMA_VENV:-$ROOT/.venv-llama}}"
PY="${PYTHON:-python3}"

installed_version() {
    "$VENV/bin/python" -c 'import llama_cpp, numpy, uvicorn; print(llama_cpp.__version__)' 2>/dev/null || true
}

if [ -x "$VENV/bin/python" ] && [ "$(installed_version)" = "$LLAMA_CPP_PYTHON_VERSION" ]; then
    echo "llama-cpp-python $LLAMA_CPP_PYTHON_VERSION is already installed in $VENV"
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating virtual environment $VENV"
    "$PY" -m venv "$VENV"
fi

echo "installing llama-cpp-python $LLAMA_CPP_PYTHON_VERSION built for this CPU (GGML_NATIVE=ON)"
echo "the first build takes about 17 minutes on 2 cores; later installs reuse pip's cached wheel"
"$VENV/bin/python" -m pip install --upgrade pip >/dev/null
# The [server] extra brings `python -m llama_cpp.server` (the load benchmark's second server).
CMAKE_ARGS="-DGGML_NATIVE=ON" "$VENV/bin/python" -m pip install \
    "llama-cpp-python[server]==$LLAMA_CPP_PYTHON_VERSION" numpy

echo "llama-cpp-python $(installed_version) is ready: $VENV/bin/python"
