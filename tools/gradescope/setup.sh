#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image:
# the zip is unpacked into /autograder/source and this script runs from there
# (https://gradescope-autograders.readthedocs.io/en/latest/specs/; their sample
# Dockerfile does `apt-get update && bash /autograder/source/setup.sh`:
# https://github.com/gradescope/autograder_samples/blob/master/manual_docker/Dockerfile).
# Its output is the image's build log. It installs the Debian/Ubuntu packages
# the grader needs (the list is tools/setup's), then checks that nothing is missing.
set -eu
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2046 # one package a word
apt-get install -y -qq --no-install-recommends $(bash tools/setup --packages grade)
if ! missing=$(bash tools/setup --check grade); then
    echo "socklab: still missing after the installation: $missing" >&2
    exit 1
fi
echo "socklab: the autograder is set up ($(python3 --version), $(gcc --version | head -1), $(valgrind --version))"
