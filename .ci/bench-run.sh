#!/usr/bin/env bash
# run.sh [BxT:THREADS ...] — the bench bundle's runner (.ci/bench-bundle.sh makes the
# bundle). For each round, for each shape: `mlxgo bench`, then the PyTorch peer, one after
# the other on CPUs 0 to THREADS−1 (taskset), so that a machine whose speed drifts slows
# both sides alike; then benchtable prints each side's median tokens/s, the runs' range and
# the ratio of the medians. Default shapes: 4x128:2 1x512:2 1x2048:2 16x128:16.
# Environment: ROUNDS (2), STEPS (4), PRESET (smollm135), PYTHON (python3, with torch;
# "none" runs mlxgo alone), OUT (bench-results.jsonl, in the current folder; the runs are
# appended to it, so a stopped run keeps what it measured), MLXGO_ARGS (more flags for mlxgo
# bench, e.g. "--profile", whose per-primitive profile goes to standard error). `make bench`
# runs it from the repository with MLXGO, BENCHTABLE and PEER naming the programs (by default
# the bundle's, beside this script).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
MLXGO=${MLXGO:-$here/mlxgo} BENCHTABLE=${BENCHTABLE:-$here/benchtable} PEER=${PEER:-$here/torch_lora_bench.py}
if [ -d "$here/lib" ]; then
	export LD_LIBRARY_PATH=$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
ROUNDS=${ROUNDS:-2} STEPS=${STEPS:-4} PRESET=${PRESET:-smollm135} PYTHON=${PYTHON:-python3}
read -r -a extra <<<"${MLXGO_ARGS:-}"
OUT=${OUT:-bench-results.jsonl}
specs=("$@")
[ ${#specs[@]} -gt 0 ] || specs=(4x128:2 1x512:2 1x2048:2 16x128:16)
for spec in "${specs[@]}"; do
	if ! [[ $spec =~ ^[0-9]+x[0-9]+:[0-9]+$ ]]; then
		echo "run.sh: $spec: want BATCHxSEQ:THREADS, e.g. 4x128:2" >&2
		exit 2
	fi
done
if [ "$PYTHON" != none ] && ! "$PYTHON" -c 'import torch' 2>/dev/null; then
	echo "run.sh: $PYTHON cannot import torch (PYTHON=none runs mlxgo alone)" >&2
	exit 2
fi
for round in $(seq "$ROUNDS"); do
	for spec in "${specs[@]}"; do
		shape=${spec%:*} threads=${spec#*:}
		b=${shape%x*} t=${shape#*x}
		pin=()
		command -v taskset >/dev/null && pin=(taskset -c "0-$((threads - 1))")
		echo "== round $round: $PRESET batch $b × $t, $threads threads" >&2
		GOMAXPROCS=$threads "${pin[@]}" "$MLXGO" bench --preset "$PRESET" --batch "$b" --seq "$t" --steps "$STEPS" ${extra[@]+"${extra[@]}"} | tee -a "$OUT"
		if [ "$PYTHON" != none ]; then
			"${pin[@]}" "$PYTHON" "$PEER" --preset "$PRESET" --batch "$b" --seq "$t" --steps "$STEPS" --threads "$threads" | tee -a "$OUT"
		fi
	done
done
"$BENCHTABLE" -title "$PRESET, $ROUNDS rounds, $(date -u +%F), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" "$OUT"
