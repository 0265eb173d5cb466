# mlxgo — two commands matter:
#   make walkthrough   install everything and open notebooks/lora_walkthrough.ipynb in Jupyter
#                      (HEADLESS=1 executes it and writes notebooks/out/*.ipynb and *.html)
#   make test          install everything the tests need, then go vet and go test
SHELL := /bin/bash
GO ?= go
APT_PACKAGES := libopenblas0-pthread openmpi-bin jupyter-nbconvert python3-nbclient jupyter-notebook python3-ipykernel jupyter-client chromium
NPM_DIRS := widgets/node mlxgo/lm/tokenizer/oracle mlxgo/lm/gguf/llamacpp mlxgo/lm/server/client

.PHONY: setup deps-apt deps-npm deps-go test walkthrough bench fuzz

setup: deps-apt deps-npm deps-go

deps-apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

deps-npm:
	@for d in $(NPM_DIRS); do \
	  if [ -f $$d/package.json ] && [ ! -d $$d/node_modules ]; then (cd $$d && { npm ci --no-audit --no-fund --loglevel=silent || npm install --no-audit --no-fund --loglevel=error; }) || exit 1; fi; \
	done

deps-go:
	$(GO) mod download

test: setup
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 40m ./...

# Every parser fuzzed in turn, one worker (the machine is shared); FUZZTIME each.
# Crashes land in the package's testdata/fuzz, where plain `go test` replays them.
FUZZTIME ?= 10m
FUZZ_TARGETS := ./mlxgo/lm/tokenizer:FuzzLoad ./mlxgo/lm/tokenizer:FuzzLoadDir ./mlxgo/lm/tokenizer:FuzzChatTemplate \
	./mlxgo/lm/tokenizer:FuzzChatMessages ./mlxgo/lm/tokenizer:FuzzEncode ./mlxgo/lm:FuzzParseConfig \
	./mlxgo/lm/data:FuzzLoadSplit ./mlxgo/lm/lora:FuzzAdapterConfig ./mlxgo/cmd/mlxgo:FuzzLoraYAML \
	./kernel:FuzzStateFiles ./mlxgo/safetensors:FuzzOpen
fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  echo "== $$t"; \
	  out=$$($(GO) test $${t%%:*} -run '^$$' -fuzz "^$${t##*:}$$" -fuzztime $(FUZZTIME) -parallel 1 2>&1); \
	  echo "$$out" | grep -E 'execs: [0-9]+' | tail -1; echo "$$out" | grep -E -A20 '^--- FAIL' | head -30; \
	done

bench: setup
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

walkthrough: setup
	$(GO) run ./kernel/cmd/install
ifeq ($(HEADLESS),1)
	$(GO) run ./kernel/cmd/runnb notebooks/lora_walkthrough.ipynb
else
	cd notebooks && /usr/bin/jupyter notebook $$([ "$$(id -u)" = 0 ] && echo --allow-root) lora_walkthrough.ipynb
endif
