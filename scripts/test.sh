#!/usr/bin/env bash
# Install iptscope with its test dependencies and run the whole test suite (lint, types, tests).
# Kernel tests need root, iptables, ipset and iproute2 (.ci/run installs them); elsewhere they skip.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -e '.[test]'
python3 -m ruff check parser ruleset tui tests bench scripts
python3 -m mypy
python3 -m pytest -n auto -q "$@"
