#!/usr/bin/env bash
# Demo: decode three frames a Go eRPC peer sends, then encode them back and
# check the bytes are identical. (The tokio adapter's issue replaces this with
# a live server and client.)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p teleport-cli
teleport="${CARGO_TARGET_DIR:-target}/release/teleport"

# CALL /math/add [1,2,3,4,5]; its REPLY 15; an error REPLY 1234 "bad thing".
frames='0000002800013101092f6d6174682f6164640006636f64653d3000006a5b312c322c332c342c355d
0000001600013102000006636f64653d3000006a3135
0000003a0001310200002c636f64653d31323334266d73673d6261642532307468696e672663617573653d636175736525323074657874000000'

echo "== frames (hex), as a Go peer writes them"
echo "$frames"
echo
echo "== teleport decode --hex"
decoded=$(echo "$frames" | "$teleport" decode --hex)
echo "$decoded"
echo
echo "== teleport encode --hex (of the JSON above)"
encoded=$(echo "$decoded" | "$teleport" encode --hex)
echo "$encoded"
echo
if [ "$encoded" = "$frames" ]; then
  echo "round trip: identical bytes"
else
  echo "round trip: bytes differ" >&2
  exit 1
fi
