# Aurora Surge. `make demo` runs the demo; `make test` runs the whole suite.
GO       ?= go
BIN      ?= $(CURDIR)/bin
SCENARIO ?= field-avalanche
SPEED    ?= 10
PKGS     := ./...

.PHONY: all build vet test test-unit bench demo clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

vet:
	$(GO) vet $(PKGS)

# The whole suite: vet, unit and end-to-end tests (the emulator runs
# in-process on a virtual clock; the AWS CLI test uses Debian's awscli).
test: vet
	$(GO) test -count=1 -timeout 15m $(PKGS)

# Benchmarks print their figures (queries/s, calls per refresh, ...).
bench:
	$(GO) test -run '^$$' -bench . -benchtime 20x -timeout 30m ./sim/...

# The demo: the emulator playing the field's avalanche 10x faster than
# real time, printing the fleet every 5 s. Ctrl-C stops it.
demo: build
	$(BIN)/aurora_sim --scenario $(SCENARIO) --speed $(SPEED) --summary.interval 5s

clean:
	rm -rf $(BIN)
