#!/usr/bin/env bash
# System packages the tests need, installed where missing:
# - Debian's chromium, for the report's browser tests;
# - Debian's openjdk-17-jre-headless, for the Spark engine's tests (pyspark 4 runs on Java 17 or later).
# Those tests never skip: if a package is missing and cannot be installed here, this script fails
# (non-zero, with the reason) and so does `make test`.
set -euo pipefail

chromium_works() {
    local bin
    bin="$(command -v chromium || command -v chromium-browser || true)"
    [ -n "$bin" ] && "$bin" --headless --no-sandbox --version >/dev/null 2>&1
}

java_works() {  # a Java of major version 17 or later on the PATH (what pyspark starts)
    local version
    command -v java >/dev/null 2>&1 || return 1
    version="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
    [ -n "$version" ] && [ "$version" -ge 17 ]
}

updated=0
install_package() {  # install_package PACKAGE WHY CHECK
    local package="$1" why="$2" check="$3"
    if "$check"; then
        return 0
    fi
    if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "install-test-deps: $package is missing and cannot be installed here (needs root and apt-get);" \
            "install Debian's $package package, then rerun" >&2
        exit 1
    fi
    echo "install-test-deps: installing Debian's $package for $why"
    if [ "$updated" = "0" ]; then
        if ! apt-get update -qq; then
            echo "install-test-deps: apt-get update failed; $package cannot be installed" >&2
            exit 1
        fi
        updated=1
    fi
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null; then
        echo "install-test-deps: apt-get install $package failed" >&2
        exit 1
    fi
    if ! "$check"; then
        echo "install-test-deps: $package was installed but does not start ($check)" >&2
        exit 1
    fi
}

install_package chromium "the report's browser tests" chromium_works
install_package openjdk-17-jre-headless "the Spark engine's tests" java_works
