# etcdkit: every target runs under strict bash. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# The pins (etcd releases, the root keep-list, tool versions) live in scripts/pins.env; its
# ETCD_VERSION is the release whose protos `make gen` trims (`make gen ETCD_VERSION=...` overrides it).
include scripts/pins.env
# `make demo ENDPOINTS=host:port` tours an existing cluster instead of starting one.
ENDPOINTS ?=

.PHONY: help gen check-gen etcd vet test demo bench test-kit test-faults test-compat fuzz

help: ## List the targets (variables in their descriptions show their values).
	@echo 'usage: make TARGET [ETCD_VERSION=...] [ENDPOINTS=host:port]; ETCD_VERSION is $(ETCD_VERSION)'
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' -v v='$(ETCD_VERSION)' \
	  '{ gsub(/\$$\(ETCD_VERSION\)/, v, $$2); n[NR] = $$1; d[NR] = $$2; if (length($$1) > w) w = length($$1) } \
	   END { for (i = 1; i <= NR; i++) printf "  %-" w "s  %s\n", n[i], d[i] }'

gen: ## Regenerate proto/ and gen/ from etcd $(ETCD_VERSION) (v3.4.23: Debian's sources) with every service.
	scripts/gen.sh $(ETCD_VERSION)

check-gen: ## Regenerate into a temporary copy with buf and in-process; fail on any difference, writing nothing.
	scripts/check-gen.sh

etcd: ## Build or reuse the pinned etcd servers under .cache/.
	scripts/etcd.sh all

vet: ## go vet every module, staticcheck the root and cmd modules.
	scripts/test.sh vet

test: ## Everything: check-gen, vet, and go test -race for every module against real etcd.
	scripts/test.sh all

demo: ## Start a throwaway etcd (or use ENDPOINTS) and tour the kit.
	ENDPOINTS='$(ENDPOINTS)' scripts/demo.sh

bench: ## Benchmarks: etcdkit vs clientv3 vs the raw stubs, KV to scale, against a local etcd (~15-25 min; writes bench/results.md).
	scripts/bench.sh

test-faults: ## The full fault-injection suite on three-member clusters (a short version runs in make test).
	scripts/faults.sh

test-kit: ## The kit matrix: every release x keep-list vendored, built and vetted; the diagonal tested against its server.
	scripts/test-kit.sh

test-compat: ## The etcd package's integration suite against etcd 3.4.23, 3.5.x, 3.6.x and 3.7.x.
	scripts/compat.sh

fuzz: ## Run every fuzz target for 2 minutes each.
	scripts/fuzz.sh
