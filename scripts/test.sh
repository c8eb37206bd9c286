#!/usr/bin/env bash
# Every check CI runs: formatting, lints, all tests, the no_std builds.
# Needs ../shared (the spec vectors) beside the repository, or TELEPORT_SPEC_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain pieces"
rustup target add thumbv6m-none-eabi thumbv7em-none-eabihf
rustup component add rustfmt clippy

spec="${TELEPORT_SPEC_DIR:-../shared/spec}/vectors.json"
if [ ! -f "$spec" ]; then
  echo "error: $spec not found: check out shared/ beside the repository or set TELEPORT_SPEC_DIR" >&2
  exit 1
fi

step "cargo fmt --check"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
cargo fmt --manifest-path firmware-examples/rp2040/Cargo.toml -- --check

step "clippy (host, all targets)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "clippy (teleport-core, no_std, thumbv6m)"
cargo clippy -p teleport-core --no-default-features --target thumbv6m-none-eabi --locked -- -D warnings

step "no_std builds of teleport-core"
cargo build -p teleport-core --no-default-features --target thumbv6m-none-eabi --locked
cargo build -p teleport-core --no-default-features --target thumbv7em-none-eabihf --locked
cargo build -p teleport-core --no-default-features --features alloc,json,protobuf,form,gzip,md5 --target thumbv7em-none-eabihf --locked
cargo build -p teleport-core --no-default-features --features defmt --target thumbv7em-none-eabihf --locked

step "teleport-embassy on thumbv6m (no_std, no alloc)"
cargo clippy -p teleport-embassy --features json,defmt --target thumbv6m-none-eabi --locked -- -D warnings
cargo build -p teleport-embassy --features json,defmt --target thumbv6m-none-eabi --locked

step "firmware: RP2040 + W5500 example (thumbv6m, release): flash and RAM"
(cd firmware-examples/rp2040 && cargo clippy --release --locked -- -D warnings && cargo build --release --locked)
python3 scripts/elf_size.py firmware-examples/rp2040/target/thumbv6m-none-eabi/release/teleport-firmware-rp2040 \
  teleport_core teleport_embassy teleport_firmware_app

step "feature combinations of teleport-core (host)"
for f in alloc json protobuf form gzip md5; do
  cargo check -p teleport-core --no-default-features --features "$f" --locked
done

step "tests"
cargo test --workspace --locked
cargo test -p teleport-core --no-default-features --lib --locked

step "fuzz smoke run (nightly, cargo-fuzz: every target 30 s)"
rustup toolchain install nightly --profile minimal
scripts/fuzz.sh 30

step "all checks passed"
