#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image:
# the packages the grader needs (compiler, make, valgrind, cmocka, ...).
set -eu
cd "$(dirname "$0")"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    make gcc libc6-dev python3 valgrind util-linux iproute2 procps libcmocka-dev
tools/setup grade
