#!/usr/bin/env bash
# fuzz-bundle.sh OUT.tar.gz TARGET... — builds a self-contained bundle that fuzzes
# TARGETs (./pkg:FuzzName, as in the Makefile's FUZZ_TARGETS) on a Linux machine without
# Go (amd64; GOARCH=arm64 for another): one stripped, fuzz-instrumented test binary per
# package (the instrumentation is per package, so its targets share the binary; each
# target runs as a process of its own), each package's testdata (the seed corpus in
# testdata/fuzz and the fixtures the targets read) at its path in the repository, and
# run.sh. On the fuzzing machine:
#   tar xzf fuzz-bundle.tar.gz && fuzz-bundle/run.sh 10m fuzz-out
set -euo pipefail
out=$1
shift
[ $# -gt 0 ] || { echo "usage: $0 OUT.tar.gz ./pkg:FuzzName..." >&2; exit 2; }
GO=${GO:-go}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/fuzz-bundle
mkdir -p "$root/bin" "$root/src"
declare -A names
for t in "$@"; do
	pkg=${t%%:*}
	pkg=${pkg#./}
	names[$pkg]+="${names[$pkg]:+|}${t##*:}"
	echo "$pkg ${t##*:}" >>"$root/targets.txt"
done
for pkg in "${!names[@]}"; do
	bin=$(echo "$pkg" | tr / _).test
	echo "building $pkg (${names[$pkg]})" >&2
	CGO_ENABLED=0 GOOS=linux GOARCH=${GOARCH:-amd64} $GO test -c -fuzz="^(${names[$pkg]})\$" -ldflags='-s -w' -trimpath -o "$root/bin/$bin" "./$pkg"
	mkdir -p "$root/src/$pkg"
	if [ -d "$pkg/testdata" ]; then cp -r "$pkg/testdata" "$root/src/$pkg/"; fi
done
cp "$(dirname "$0")/fuzz-run.sh" "$root/run.sh"
chmod +x "$root/run.sh"
tar -C "$stage" -czf "$out" fuzz-bundle
echo "$out: $(du -h "$out" | cut -f1), $# targets in ${#names[@]} binaries" >&2
