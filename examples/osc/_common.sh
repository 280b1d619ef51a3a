# Shared by the example scripts: where `chronus serve` listens, and a send helper.
# CHRONUS_HOST / CHRONUS_PORT override the defaults (127.0.0.1, 57130).
set -euo pipefail
HOST=${CHRONUS_HOST:-127.0.0.1}
PORT=${CHRONUS_PORT:-57130}
command -v oscsend >/dev/null || { echo "oscsend not found: apt-get install liblo-tools" >&2; exit 1; }

# send ADDRESS [TYPES ARGS...]: one OSC message, echoed as it goes.
send() {
    echo "> $*"
    oscsend "$HOST" "$PORT" "$@"
}

# Replies go back to the port a message came from, and oscsend exits at once, so its replies are
# not seen; use ./osc_query.py to send a message and print the replies (/engine/status, ...).
pause() { sleep "${1:-1}"; }
