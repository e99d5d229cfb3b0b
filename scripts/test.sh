#!/usr/bin/env bash
# Runs every test layer, keeps each layer's full log under build/test-logs/, prints a summary
# line per layer, and ends with one line `N passed, M failed` over all layers. Exits non-zero
# when anything failed, or when a layer that must run tests ran none (a browser suite that
# silently skipped counts as a failure).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

logs=build/test-logs
rm -rf "$logs" && mkdir -p "$logs"
total_pass=0
total_fail=0
broken=()

# record NAME PASSED FAILED EXIT_CODE
record() {
  local name=$1 passed=$2 failed=$3 code=$4
  total_pass=$((total_pass + passed))
  total_fail=$((total_fail + failed))
  local note=""
  if [ "$code" -ne 0 ] && [ "$failed" -eq 0 ]; then
    note=" (exit $code: see $logs/$name.log)"
    broken+=("$name")
  elif [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
    note=" (ran no tests: see $logs/$name.log)"
    broken+=("$name")
  fi
  printf '%-22s %4d passed, %d failed%s\n' "$name" "$passed" "$failed" "$note"
}

# A check that is one test: passes when the command exits 0.
check() {
  local name=$1; shift
  if "$@" >"$logs/$name.log" 2>&1; then record "$name" 1 0 0; else record "$name" 0 1 0; fi
}

# cargo test / wasm-bindgen-test-runner: sum every "test result:" line.
rust_tests() {
  local name=$1; shift
  "$@" >"$logs/$name.log" 2>&1
  local code=$?
  local passed failed
  passed=$(grep -oE 'test result: [A-Za-z]+\. [0-9]+ passed' "$logs/$name.log" | grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
  failed=$(grep -oE '[0-9]+ failed' "$logs/$name.log" | awk '{s+=$1} END {print s+0}')
  [ "$code" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
  record "$name" "$passed" "$failed" "$code"
}

# node --test: "# pass N" / "# fail M".
node_tests() {
  local name=$1; shift
  "$@" >"$logs/$name.log" 2>&1
  local code=$?
  local passed failed
  passed=$(grep -E '^# pass [0-9]+' "$logs/$name.log" | awk '{s+=$3} END {print s+0}')
  failed=$(grep -E '^# fail [0-9]+' "$logs/$name.log" | awk '{s+=$3} END {print s+0}')
  [ "$code" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
  record "$name" "$passed" "$failed" "$code"
}

echo "token-status tests (logs in $logs/)"
check fmt cargo fmt --check
check clippy-native cargo clippy --all-targets -- -D warnings
check clippy-wasm32 cargo clippy --all-targets --target wasm32-unknown-unknown -- -D warnings
# The package's own builds: no std on wasm32 (scripts/build-pkg.mjs, Cargo.toml), the browser one
# (pkg/web/) without the `server` feature, the server one (pkg/server/, pkg/node/) with it.
check clippy-browser cargo clippy --lib --target wasm32-unknown-unknown --no-default-features -- -D warnings
check clippy-server cargo clippy --lib --target wasm32-unknown-unknown --no-default-features --features server -- -D warnings
rust_tests cargo-test cargo test
node_tests simulator node --test www/simulator.test.mjs www/simulator-keys.test.mjs www/simulator-webhooks.test.mjs

# One simulator for the wasm-bindgen-test suites (they run in Node, Chromium and Firefox).
sim_log="$logs/simulator-server.log"
node www/simulator/serve.mjs --port 0 >"$sim_log" 2>&1 &
sim_pid=$!
trap 'kill $sim_pid 2>/dev/null' EXIT
for _ in $(seq 1 50); do grep -q 'listening on' "$sim_log" && break; sleep 0.1; done
TOKEN_STATUS_SIM_URL=$(grep -oE 'http://[0-9.:]+' "$sim_log" | head -n 1)
export TOKEN_STATUS_SIM_URL
if [ -z "$TOKEN_STATUS_SIM_URL" ]; then
  echo "the simulator did not start: see $sim_log"
  record simulator-start 0 1 1
else
  # The headless runner gives a whole browser run WASM_BINDGEN_TEST_TIMEOUT seconds (default 20):
  # the suite takes about that on a quiet machine, so allow for a busy one.
  export WASM_BINDGEN_TEST_TIMEOUT=180
  rust_tests wasm-node wasm-pack test --node --mode no-install --test integration
  WASM_BINDGEN_USE_BROWSER=1 rust_tests wasm-chromium \
    wasm-pack test --headless --chrome --chromedriver "$(command -v chromedriver)" --mode no-install --test integration
  WASM_BINDGEN_USE_BROWSER=1 rust_tests wasm-firefox \
    wasm-pack test --headless --firefox --geckodriver "$(command -v geckodriver)" --mode no-install --test integration
fi
kill $sim_pid 2>/dev/null

node_tests package node --test tests/package/
node_tests cli node --test tests/cli/
node_tests loading node --test tests/loading/
node_tests demo node --test tests/demo/
node_tests reliability node --test tests/reliability/

if [ ${#broken[@]} -gt 0 ]; then
  echo "layers that did not run properly: ${broken[*]}"
  total_fail=$((total_fail + ${#broken[@]}))
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
