#!/bin/sh
# Run a command with a local virus scanner: Debian's clamd, started the way the tests
# start it (tests/data/clamav/clamd.conf.in, in a private temporary folder, no network),
# and PORTAL_CLAMD_URL pointing at it. clamd is stopped when the command ends (Ctrl-C too).
#
#   sh scripts/with-clamd.sh make run        (what `make run-full` does)
#
# The signatures are the project's test database (it knows the EICAR test file); to scan
# with ClamAV's real ones, set CLAMD_DATABASE to a folder freshclam has filled (clamd then
# needs a minute or two and about 3 GB of memory to load them).
set -eu
[ "$#" -gt 0 ] || { echo "usage: $0 COMMAND [ARG ...]" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
data="$root/tests/data/clamav"
sh "$data/ensure-clamd.sh"
clamd=$(command -v clamd || echo /usr/sbin/clamd)

work=$(mktemp -d "${TMPDIR:-/tmp}/insyn-clamd.XXXXXX")
pid=""
stop() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

database=${CLAMD_DATABASE:-}
if [ -z "$database" ]; then
    database="$work/db"
    mkdir "$database"
    cp "$data/insyn-test.ndb" "$database/"
fi
mkdir "$work/tmp"
# The upload limit must fit in clamd's limits (see the comments in clamd.conf.in).
mb=${PORTAL_MAX_UPLOAD_MB:-200}
scan_mb=$((mb * 4 > 4000 ? 4000 : mb * 4))
sed -e "s|@SOCKET@|$work/clamd.sock|" \
    -e "s|@PIDFILE@|$work/clamd.pid|" \
    -e "s|@DATABASE_DIR@|$database|" \
    -e "s|@TEMP_DIR@|$work/tmp|" \
    -e "s|@LOGFILE@|$work/clamd.log|" \
    -e "s|@MAX_BYTES@|${mb}M|" \
    -e "s|@MAX_SCAN_BYTES@|${scan_mb}M|" \
    "$data/clamd.conf.in" >"$work/clamd.conf"

"$clamd" --config-file="$work/clamd.conf" >"$work/clamd.out" 2>&1 &
pid=$!

# Wait until clamd answers PING on its socket (loading large databases takes a while).
python3 - "$work/clamd.sock" "$pid" <<'EOF' || { cat "$work/clamd.out" "$work/clamd.log" >&2 2>/dev/null; exit 1; }
import os, socket, sys, time

path, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 300
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("clamd stopped while starting:")
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(2)
            s.connect(path)
            s.sendall(b"zPING\0")
            if s.recv(16).startswith(b"PONG"):
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit("clamd did not answer within 5 minutes:")
EOF

export PORTAL_CLAMD_URL="unix://$work/clamd.sock"
echo "clamd is scanning uploads (PORTAL_CLAMD_URL=$PORTAL_CLAMD_URL)"
"$@"
