#!/usr/bin/env bash
# bench-bundle.sh OUT.tar.gz — builds a self-contained bundle that runs `mlxgo bench`
# against the PyTorch peer on another x86-64 Linux machine without Go: mlxgo and
# benchtable as static binaries, the BLAS library this machine loads (Debian's OpenBLAS
# and the two runtime libraries it needs, copied from where the dynamic linker finds
# them), the peer script, and run.sh. On the other machine:
#   tar xzf bench-bundle.tar.gz && bench-bundle/run.sh 4x128:2 16x128:16
set -euo pipefail
out=${1:?usage: $0 OUT.tar.gz}
cd "$(dirname "$0")/.."
GO=${GO:-go}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/bench-bundle
mkdir -p "$root/lib"
for cmd in mlxgo benchtable; do
	CGO_ENABLED=0 GOOS=linux GOARCH=${GOARCH:-amd64} $GO build -trimpath -ldflags='-s -w' -o "$root/$cmd" "./mlxgo/cmd/$cmd"
done
# The libraries, found as the dynamic linker finds them; cp -L copies the files the
# links point to (Debian's libopenblas.so.0 is an alternatives link).
for lib in libopenblas.so.0 libgfortran.so.5 libquadmath.so.0; do
	# awk reads all of ldconfig's output (leaving early would stop ldconfig with SIGPIPE,
	# which pipefail turns into a failure).
	path=$(/sbin/ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ && p == "" {p = $NF} END {print p}')
	if [ -z "$path" ]; then
		echo "bench-bundle: $lib not found by ldconfig: make deps-apt installs OpenBLAS (libopenblas0-pthread)" >&2
		exit 1
	fi
	cp -L "$path" "$root/lib/$lib"
done
cp mlxgo/cmd/benchtable/torch_lora_bench.py "$root/"
cp .ci/bench-run.sh "$root/run.sh"
chmod +x "$root/run.sh"
tmp=$out.tmp.$$
tar -C "$stage" -czf "$tmp" bench-bundle
mv "$tmp" "$out"
echo "$out: $(du -h "$out" | cut -f1)" >&2
