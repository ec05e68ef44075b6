#!/bin/sh
# The checks CI runs, in the order it runs them. Run it before pushing.
set -eu
cd "$(dirname "$0")/.."
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo test
