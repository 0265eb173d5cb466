#!/usr/bin/env bash
# run.sh FUZZTIME [OUT] [FuzzName...] — runs every fuzz target of the bundle at once
# (or those named), one worker each, for FUZZTIME (10m, 1h...), each from its package's
# directory with its own fuzz cache under OUT (default ./fuzz-out). Prints per target
# the final exec count and any failure; new crashers land in OUT/crashers/<pkg>/<Fuzz>/,
# to be copied into the package's testdata/fuzz/<Fuzz>/ where plain `go test` replays them.
# Each new interesting input is minimized for at most FUZZMINIMIZETIME (default 10s, Go's
# is 60s), during which a one-worker target does no other execs.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fuzztime=${1:?usage: run.sh FUZZTIME [OUT] [FuzzName...]}
out=$(mkdir -p "${2:-fuzz-out}" && cd "${2:-fuzz-out}" && pwd)
shift $(( $# >= 2 ? 2 : 1 ))
want=" $* "
mkdir -p "$out/logs" "$out/cache" "$out/crashers"
pids=()
targets=()
while read -r pkg name; do
	if [ "$want" != "  " ] && [[ "$want" != *" $name "* ]]; then continue; fi
	bin=$here/bin/$(echo "$pkg" | tr / _).test
	dir=$here/src/$pkg
	mkdir -p "$dir/testdata/fuzz/$name"
	(cd "$dir/testdata/fuzz/$name" && ls -A) >"$out/logs/$name.before"
	(cd "$dir" && "$bin" -test.run='^$' -test.fuzz="^$name\$" -test.fuzztime="$fuzztime" \
		-test.parallel=1 -test.fuzzminimizetime="${FUZZMINIMIZETIME:-10s}" \
		-test.fuzzcachedir="$out/cache/$name" >"$out/logs/$name.log" 2>&1
	echo $? >"$out/logs/$name.rc") &
	pids+=($!)
	targets+=("$pkg $name")
done <"$here/targets.txt"
echo "fuzzing ${#targets[@]} targets for $fuzztime each, logs in $out/logs" >&2
wait "${pids[@]}"
status=0
for t in "${targets[@]}"; do
	pkg=${t% *}
	name=${t#* }
	dir=$here/src/$pkg/testdata/fuzz/$name
	execs=$(grep -oE 'execs: [0-9]+' "$out/logs/$name.log" | tail -1 | cut -d' ' -f2)
	rc=$(cat "$out/logs/$name.rc")
	new=$(cd "$dir" && ls -A | grep -vxF -f "$out/logs/$name.before" || true)
	if [ "$rc" = 0 ]; then
		printf '%-22s %-28s ok      %12s execs\n' "$name" "$pkg" "${execs:-?}"
	else
		status=1
		printf '%-22s %-28s FAILED  %12s execs (exit %s)\n' "$name" "$pkg" "${execs:-?}" "$rc"
		grep -E -A12 -- '--- FAIL|panic:|fuzz: elapsed.*failure' "$out/logs/$name.log" | head -25 | sed 's/^/    /'
	fi
	if [ -n "$new" ]; then
		mkdir -p "$out/crashers/$pkg/$name"
		for f in $new; do cp "$dir/$f" "$out/crashers/$pkg/$name/"; done
		echo "    new crashers: $(echo $new | wc -w) in $out/crashers/$pkg/$name/" >&2
	fi
done
exit $status
