#!/bin/sh
# Serve the portal and run its background worker together; one Ctrl-C stops both.
#
#   sh scripts/run-web-and-worker.sh BIN HOST PORT        (what `make run` does)
#
# BIN is the folder with flask (the virtualenv's bin). The worker (mails, virus scans,
# the daily and nightly jobs) works through PORTAL_JOBS_URL, by default the file
# instance/jobs.sqlite: there is no server to start. When the web server ends, however
# it ends, the worker gets TERM, 10 s, then KILL. The exit status is the web server's
# (130 after Ctrl-C, 143 after TERM).
set -u
[ "$#" -eq 3 ] || { echo "usage: $0 BIN HOST PORT" >&2; exit 2; }
bin=$1 host=$2 port=$3

stop() {
    kill -TERM "$1" 2>/dev/null || return 0
    tries=0
    while kill -0 "$1" 2>/dev/null && [ "$tries" -lt 20 ]; do
        sleep 0.5
        tries=$((tries + 1))
    done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# Started in the background by a script, both would ignore Ctrl-C (the shell's rule for
# background commands). The worker takes its signals back (Huey's consumer: INT stops it
# at once); the web server gets TERM from the trap.
signal=""
trap 'signal=130' INT
trap 'signal=143' TERM

# A running job gets 5 s to finish on TERM (compose gives it minutes).
PORTAL_JOBS_SHUTDOWN_SECONDS=${PORTAL_JOBS_SHUTDOWN_SECONDS:-5} \
    "$bin/flask" --app portal jobs worker --workers 2 &
worker=$!
trap 'stop "$worker"' EXIT

"$bin/flask" --app portal run --host "$host" --port "$port" &
web=$!
status=0
while kill -0 "$web" 2>/dev/null; do
    wait "$web"
    status=$?
    # wait returns early when a signal arrives: pass it on to the web server.
    [ -z "$signal" ] || kill -TERM "$web" 2>/dev/null || true
done
exit "${signal:-$status}"
