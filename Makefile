# cemon: make demo runs the main job, make test runs every check.
GO        ?= go
GOBIN     := $(shell $(GO) env GOPATH)/bin
STATICCHECK ?= $(GOBIN)/staticcheck
BIN       := bin/cemon
PKGS      := ./...

.PHONY: all setup build demo test vet staticcheck unit e2e fuzz bench bench-scale clean validate-migration

all: build

setup:
	bash scripts/setup.sh
	bash scripts/qemu.sh >/dev/null

build:
	$(GO) build -o $(BIN) ./cmd/cemon

demo: setup build
	bash scripts/demo.sh

# vet: gofmt, go vet, and go.mod/go.sum listing exactly what the code uses.
vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)
	@$(GO) mod tidy -diff || { echo "go.mod or go.sum is not tidy: run go mod tidy"; exit 1; }

staticcheck:
	$(STATICCHECK) $(PKGS)

# unit: every package's tests under the race detector (Mininet end-to-end tests skip
# themselves unless CEMON_E2E=1).
unit:
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

# e2e: tests against the real Open vSwitch, Mininet, tshark and cbc.
e2e: build
	CEMON_E2E=1 CEMON_BIN=$(abspath $(BIN)) $(GO) test -count=1 -timeout 30m -p 1 -run '^TestE2E' $(PKGS)

test: setup vet staticcheck unit e2e

# validate-migration: the migration model against real QEMU live migrations on the
# Mininet testbed (guest memory x dirty rate x link rate, see
# mininet/qemu_validate_test.go for the CEMON_VALIDATE_* settings); the table goes
# to $(VALIDATE_OUT)/report.md with the plot beside it.
VALIDATE_OUT ?= out/validate-migration
VALIDATE_NICE ?= -10
validate-migration: build
	bash scripts/qemu.sh >/dev/null
	rm -f $(abspath $(VALIDATE_OUT))/results.jsonl
	CEMON_E2E=1 CEMON_VALIDATE_MIGRATION=1 CEMON_VALIDATE_OUT=$(abspath $(VALIDATE_OUT)) CEMON_BIN=$(abspath $(BIN)) CEMON_VALIDATE_NICE=$(VALIDATE_NICE) \
		$(GO) test -count=1 -timeout 180m -p 1 -run '^TestValidateMigration$$' -v ./mininet/

FUZZTIME ?= 2m
fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# Polling at scale (not part of test): SCALE_TOPO switches, SCALE_FLOWS flows, MCPS
# every second; see BENCHMARKS.md.
SCALE_TOPO ?= er:1000:0.006
SCALE_FLOWS ?= 1000000
SCALE_ROUNDS ?= 10
bench-scale: build
	./bin/cemon cbench -mode poll -topology $(SCALE_TOPO) -flows $(SCALE_FLOWS) -rounds $(SCALE_ROUNDS) -outstanding 64

clean:
	rm -rf bin out
