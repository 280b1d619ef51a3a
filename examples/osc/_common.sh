# Shared by the example scripts: where `chronus serve` listens, and a send helper.
# CHRONUS_HOST / CHRONUS_PORT override the defaults (127.0.0.1, 57130).
set -euo pipefail
HOST=${CHRONUS_HOST:-127.0.0.1}
PORT=${CHRONUS_PORT:-57130}
command -v chronus >/dev/null || {
    echo "chronus is not on the PATH: see the README's 'Install'" >&2
    exit 1
}

# send ADDRESS [ARGS...]: one OSC message, echoed as it goes; waits for the server's answer and
# prints it (a commit: until it plays).
send() {
    echo "> $*"
    chronus send --host "$HOST" --port "$PORT" "$@"
}

pause() { sleep "${1:-1}"; }
