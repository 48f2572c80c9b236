#!/usr/bin/env bash
# System packages the browser test of the report needs (Debian's chromium), installed where missing.
# Without root or apt, the browser test skips itself with the reason; everything else runs.
set -uo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the report's browser test"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
        || echo "could not install chromium; the browser test will be skipped"
fi
exit 0
