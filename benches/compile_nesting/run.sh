#!/usr/bin/env bash
# Compile-time of nested `html!`, measured as a new user would meet it:
# a throwaway crate depending on djust by path, with one function whose
# `html!` holds a splice with another `html!`, N levels deep, each level one
# `<div>` and one `{x}` (the source grows linearly with N). Prints the
# wall-clock time of `cargo check` after touching the file, per depth.
#
#   benches/compile_nesting/run.sh [DEPTH...]      (default: 4 8 10 12)
#
# Dependencies are checked once first (not timed); the target directory is
# target/compile_nesting of this checkout, so reruns reuse it.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
depths=("$@")
[ ${#depths[@]} -eq 0 ] && depths=(4 8 10 12)
crate="$(mktemp -d)"
trap 'rm -rf "$crate"' EXIT
export CARGO_TARGET_DIR="$root/target/compile_nesting"
mkdir -p "$crate/src"
cat >"$crate/Cargo.toml" <<TOML
[package]
name = "compile_nesting"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
djust = { path = "$root" }

[workspace]
TOML
cp "$root/Cargo.lock" "$crate/Cargo.lock"

template() {
    local depth=$1 level
    local body='<div>{x}</div>'
    for ((level = 1; level < depth; level++)); do
        body="<div>{x} {djust::html! { $body }}</div>"
    done
    printf 'pub fn page(x: &str) -> djust::Html {\n    djust::html! { %s }\n}\n' "$body"
}

template 1 >"$crate/src/lib.rs"
(cd "$crate" && cargo check --quiet)
for depth in "${depths[@]}"; do
    template "$depth" >"$crate/src/lib.rs"
    start=$(date +%s.%N)
    (cd "$crate" && cargo check --quiet)
    end=$(date +%s.%N)
    printf 'depth %2d: %6.2f s\n' "$depth" "$(echo "$end - $start" | bc)"
done
