#!/bin/sh
# Install the Debian packages the test suite needs when they are missing:
# clamav-daemon (a real clamd; the tests start their own instance with a shipped
# signature database, so no network update is needed), chromium (the browser
# that Playwright drives), redis-server (the job engine's broker) and LibreOffice with Carlito and Liberation Mono (metric
# twins of Calibri and Courier New), which render every generated .docx as Word
# would lay it out. Needs root; without it, says what to install and stops.
set -eu
missing=""
[ -x /usr/sbin/clamd ] || missing="$missing clamav-daemon"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -x /usr/bin/redis-server ] || missing="$missing redis-server"
[ -x /usr/bin/soffice ] || missing="$missing libreoffice-writer-nogui"
fonts=/usr/share/fonts/truetype
[ -e $fonts/crosextra/Carlito-Regular.ttf ] || missing="$missing fonts-crosextra-carlito"
[ -e $fonts/liberation2/LiberationMono-Regular.ttf ] || missing="$missing fonts-liberation2"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "Missing Debian packages:$missing. Install them as root: apt-get install$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing fonts-dejavu-core >/dev/null
# Where systemd runs, the package would start the system clamd and freshclam (network).
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now clamav-freshclam clamav-daemon >/dev/null 2>&1 || true
fi
