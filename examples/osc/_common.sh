# Shared by the example scripts: where `chronus serve` listens, and a send helper.
# CHRONUS_HOST / CHRONUS_PORT override the defaults (127.0.0.1, 57130).
#
# CHRONUS_AS_PATCH=FILE writes the session to FILE as a patch file instead of sending it: each
# message at the time the script would send it (a pause advances that time and sleeps not at
# all), so `chronus render FILE -o out.wav` plays the script offline, sample-exactly. The tests
# render the scripts so and hold them to their promises (tests/test_examples.cpp).
set -euo pipefail
HOST=${CHRONUS_HOST:-127.0.0.1}
PORT=${CHRONUS_PORT:-57130}

if [[ -n "${CHRONUS_AS_PATCH:-}" ]]; then
    : >"$CHRONUS_AS_PATCH"
    _at=0
    # send ADDRESS [TYPES ARGS...]: the message as a patch-file line at the current time.
    send() {
        local address=$1
        shift
        if (($#)); then shift; fi # the OSC type tags: a patch file reads numbers and words
        echo "@$_at $address${*:+ $*}" >>"$CHRONUS_AS_PATCH"
    }
    pause() { _at=$(awk -v t="$_at" -v d="${1:-1}" 'BEGIN { printf "%.6f", t + d }'); }
    return 0
fi

command -v oscsend >/dev/null || { echo "oscsend not found: apt-get install liblo-tools" >&2; exit 1; }

# send ADDRESS [TYPES ARGS...]: one OSC message, echoed as it goes.
send() {
    echo "> $*"
    oscsend "$HOST" "$PORT" "$@"
}

# Replies go back to the port a message came from, and oscsend exits at once, so its replies are
# not seen; use ./osc_query.py to send a message and print the replies (/engine/status, ...).
pause() { sleep "${1:-1}"; }
