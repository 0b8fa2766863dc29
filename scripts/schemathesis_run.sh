#!/usr/bin/env bash
# Property-based API testing of `ferrocodex serve` against its own /openapi.json: schemathesis
# sends schema-driven valid and invalid requests to a live server (tiny test model, loopback
# only) and checks every answer: no 5xx, status codes, content types and bodies as the
# document declares them.
#
#   scripts/schemathesis_run.sh [extra schemathesis options]
#
# Environment: SCHEMATHESIS_VENV (default /work/tools/schemathesis-venv; created with
# schemathesis 4.32.5 when missing), MAX_EXAMPLES (default 60), CARGO_TARGET_DIR, PROFILE
# (release, the default, or debug: which build of ferrocodex to run).
# The JUnit report lands in target/schemathesis/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv=${SCHEMATHESIS_VENV:-/work/tools/schemathesis-venv}
if [[ ! -x "${venv}/bin/schemathesis" ]]; then
    python3 -m venv "${venv}"
    "${venv}/bin/pip" install --quiet schemathesis==4.32.5
fi

target=${CARGO_TARGET_DIR:-target}
profile=${PROFILE:-release}
if [[ "${profile}" == release ]]; then
    cargo build --release -p ferrocodex -p ferrocodex-testmodels --bins
else
    cargo build -p ferrocodex -p ferrocodex-testmodels --bins
fi
work=$(mktemp -d)
server_pid=""
cleanup() {
    if [[ -n "${server_pid}" ]]; then kill "${server_pid}" 2>/dev/null || true; fi
    rm -rf "${work}"
}
trap cleanup EXIT

"${target}/${profile}/write-tiny-models" "${work}" gemma3 >/dev/null
cat >"${work}/chat.jinja" <<'TEMPLATE'
{{ bos_token }}{% for m in messages %}{% if m['role'] == 'assistant' %}{% set role = 'model' %}{% else %}{% set role = m['role'] %}{% endif %}<start_of_turn>{{ role }}
{{ m['content'] | trim }}<end_of_turn>
{% endfor %}{% if add_generation_prompt %}<start_of_turn>model
{% endif %}
TEMPLATE
"${target}/${profile}/ferrocodex" serve --port 0 --threads 1 --db "${work}/store.sqlite3" \
    --model "${work}/tiny-gemma3.gguf" --model-name tiny-gemma3 --chat-template "${work}/chat.jinja" \
    --max-body-bytes 1048576 --request-timeout 30 >"${work}/server.out" 2>"${work}/server.err" &
server_pid=$!
for _ in $(seq 1 300); do
    grep -q "listening on" "${work}/server.out" 2>/dev/null && break
    sleep 0.1
done
url=$(sed -n 's/^listening on //p' "${work}/server.out")
[[ -n "${url}" ]] || { echo "the server did not start:"; cat "${work}/server.err"; exit 1; }
echo "server: ${url}"

mkdir -p "${target}/schemathesis"
status=0
"${venv}/bin/schemathesis" run "${url}/openapi.json" \
    --url "${url}" \
    --checks all \
    --max-examples "${MAX_EXAMPLES:-60}" \
    --workers 2 \
    --request-timeout 120 \
    --max-response-time 60 \
    --report junit --report-dir "${target}/schemathesis" \
    "$@" || status=$?
if grep -qi "panicked" "${work}/server.err"; then
    echo "the server panicked:"; grep -i -A3 "panicked" "${work}/server.err"; status=1
fi
exit "${status}"
