#!/usr/bin/env bash
# The demo: the example server and client in one process over loopback TCP.
# Prints each call, its result, and the pushes the client receives.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --locked -q -p teleport-host-examples --bin demo
