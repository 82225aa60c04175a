#!/usr/bin/env bash
# Each framework adapter of sessionscope-client, installed as its users install it: one fresh
# virtualenv per extra holding only that framework, the client and pytest, at the newest release
# and at the oldest version the extra allows. In each, the adapter's module must import and its
# tests (tests/integrations/adapters/test_<name>_alone.py) must pass against a real Sessionscope
# served here by gunicorn from the project's own virtualenv (.venv, made by `make install-dev`).
#
#   clients/python/ci/extras.sh            # every extra, both ends of its range
#   EXTRAS="a2a litellm" clients/python/ci/extras.sh
#
# Environment: PYTHON (python3.11), EXTRAS_PORT (18610), EXTRAS_DIR (a temporary folder),
# EXTRAS_JOBS (virtualenvs built at once, 2).
set -euo pipefail
cd "$(dirname "$0")/../../.."
ROOT=$(pwd)
PYTHON=${PYTHON:-python3.11}
PORT=${EXTRAS_PORT:-18610}
JOBS=${EXTRAS_JOBS:-2}
WORK=${EXTRAS_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/sessionscope-extras.XXXXXX")}
mkdir -p "$WORK"

# name | module that must import alone | pip requirements of one environment (newest, oldest).
# agentsilex's Runner is not on PyPI at 1.0 here; its adapter needs no framework, and litellm
# makes the `Message` objects the Runner stores.
MATRIX=(
  "openai-agents|openai_agents|.[openai-agents] openai-agents==0.24.0 cryptography"
  "openai-agents|openai_agents|.[openai-agents] openai-agents==0.20.0 cryptography"
  "agent-framework|agent_framework|.[agent-framework] agent-framework-core==1.23.0"
  "litellm|litellm_callback|.[litellm] litellm==1.110.2"
  "litellm|litellm_callback|.[litellm] litellm==1.70.0"
  "a2a|a2a_store|.[a2a] a2a-session-manager==0.1.3"
  "agentsilex|agentsilex|. litellm==1.110.2"
)
WANTED=${EXTRAS:-}

server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  [ -n "${EXTRAS_DIR:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n--- %s\n' "$*"; }

# -- the server --------------------------------------------------------------------------------
say "Sessionscope on 127.0.0.1:$PORT (SQLite in $WORK)"
export DATABASE_URL="sqlite:///$WORK/server.sqlite3"
export SECRET_KEY="${SECRET_KEY:-extras-only-secret-key}"
export LITELLM_LOCAL_MODEL_COST_MAP=True HF_HUB_OFFLINE=1
.venv/bin/python manage.py migrate --no-input -v0
.venv/bin/python manage.py create_project extras --name Extras >/dev/null
TOKEN=$(.venv/bin/python manage.py create_api_key --project extras --name ci | tail -n 1)
# Two workers with threads: the tests' own requests and a background sender can overlap.
.venv/bin/gunicorn config.wsgi --bind "127.0.0.1:$PORT" --workers 2 --threads 4 \
  --timeout 120 --log-level warning > "$WORK/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$PORT/api/v1/health" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$PORT/api/v1/health" >/dev/null

# -- one environment per line of the matrix ------------------------------------------------------
build() {
  local index=$1 requirements=$2 venv="$WORK/venv-$1"
  "$PYTHON" -m venv "$venv"
  # Requirements are relative to the client's folder ("." is the client itself).
  (cd clients/python && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    pytest $requirements) > "$WORK/install-$index.log" 2>&1 \
    || { echo "install failed: $requirements"; cat "$WORK/install-$index.log"; return 1; }
}

selected=()
for i in "${!MATRIX[@]}"; do
  IFS='|' read -r name _ _ <<<"${MATRIX[$i]}"
  if [ -z "$WANTED" ] || [[ " $WANTED " == *" $name "* ]]; then selected+=("$i"); fi
done

say "building ${#selected[@]} environments, $JOBS at a time"
pids=()
failed=0
for i in "${selected[@]}"; do
  IFS='|' read -r _ _ requirements <<<"${MATRIX[$i]}"
  build "$i" "$requirements" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$JOBS" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" -eq 0 ] || exit 1

status=0
for i in "${selected[@]}"; do
  IFS='|' read -r name module requirements <<<"${MATRIX[$i]}"
  venv="$WORK/venv-$i"
  versions=$("$venv/bin/python" -m pip list --format=freeze 2>/dev/null \
    | grep -iE '^(openai-agents|agent-framework-core|litellm|a2a-session-manager|openai)==' \
    | tr '\n' ' ')
  say "$name: $versions"
  # Every other adapter's framework must be absent, or this proves nothing.
  "$venv/bin/python" - "$name" <<'EOF'
import importlib.util, sys
frameworks = {"openai-agents": "agents", "agent-framework": "agent_framework",
              "a2a": "a2a_session_manager", "litellm": "litellm"}
others = [m for n, m in frameworks.items() if n != sys.argv[1] and importlib.util.find_spec(m)]
if sys.argv[1] == "agentsilex":
    others = [m for m in others if m != "litellm"]
if others:
    sys.exit(f"{sys.argv[1]}'s environment also holds {others}")
EOF
  "$venv/bin/python" -c "import sessionscope_client.$module" || { status=1; continue; }
  # The adapter's tests, and those of modules built on it (test_openai_agents_advanced_alone.py).
  test_files=("tests/integrations/adapters/test_${name//-/_}_alone.py")
  for extra in tests/integrations/adapters/test_"${name//-/_}"_*_alone.py; do
    if [ -e "$extra" ]; then test_files+=("$extra"); fi
  done
  SESSIONSCOPE_TEST_URL="http://127.0.0.1:$PORT" SESSIONSCOPE_TEST_API_KEY="$TOKEN" \
    LITELLM_LOCAL_MODEL_COST_MAP=True HF_HUB_OFFLINE=1 \
    "$venv/bin/python" -m pytest -c clients/python/ci/pytest.ini \
    --rootdir tests/integrations/adapters --confcutdir tests/integrations/adapters \
    -q "${test_files[@]}" || status=1
done

if [ "$status" -ne 0 ]; then
  say "server log"
  tail -n 50 "$WORK/server.log"
fi
exit "$status"
