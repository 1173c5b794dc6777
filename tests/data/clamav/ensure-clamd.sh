#!/bin/sh
# Make sure Debian's clamd is installed (tests and the benchmark start their own instance
# with tests/data/clamav/clamd.conf.in; the system service is not used).
set -eu
if command -v clamd >/dev/null 2>&1 || [ -x /usr/sbin/clamd ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "clamd is missing: run 'apt-get install clamav-daemon' as root" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends clamav-daemon >/dev/null
# The package may start the system daemon and freshclam where systemd runs; the tests need
# neither, and freshclam would try the network.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now clamav-freshclam clamav-daemon >/dev/null 2>&1 || true
fi
command -v clamd >/dev/null 2>&1 || [ -x /usr/sbin/clamd ]
