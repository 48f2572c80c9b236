#!/usr/bin/env bash
# System packages the report's browser tests need (Debian's chromium), installed where missing.
# The browser tests never skip: if chromium is missing and cannot be installed here, this script fails
# (non-zero, with the reason) and so does `make test`.
set -euo pipefail

chromium_works() {
    local bin
    bin="$(command -v chromium || command -v chromium-browser || true)"
    [ -n "$bin" ] && "$bin" --headless --no-sandbox --version >/dev/null 2>&1
}

if chromium_works; then
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-deps: chromium is missing and cannot be installed here (needs root and apt-get);" \
        "install Debian's chromium package, then rerun" >&2
    exit 1
fi
echo "install-test-deps: installing Debian's chromium for the report's browser tests"
if ! apt-get update -qq; then
    echo "install-test-deps: apt-get update failed; chromium cannot be installed" >&2
    exit 1
fi
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then
    echo "install-test-deps: apt-get install chromium failed" >&2
    exit 1
fi
if ! chromium_works; then
    echo "install-test-deps: chromium was installed but does not start (chromium --headless --version)" >&2
    exit 1
fi
