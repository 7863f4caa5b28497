# Aurora Surge. `make demo` runs the demo; `make test` runs the whole suite.
GO       ?= go
BIN      ?= $(CURDIR)/bin
SCENARIO ?= field-avalanche
SPEED    ?= 10
PKGS     := ./...

# Version stamping: build_info and --version report these (promu's
# scheme, into github.com/prometheus/common/version). Each may be set on
# the command line (make release VERSION=1.2.3). The build date is the
# commit's, so it does not change between builds of one commit.
VERSION    ?= $(shell cat $(CURDIR)/VERSION)
REVISION   ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH     ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
BUILD_USER ?= $(shell id -un 2>/dev/null || echo unknown)@$(shell hostname 2>/dev/null || echo unknown)
BUILD_DATE ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d-%H:%M:%S 2>/dev/null || date -u +%Y%m%d-%H:%M:%S)
# Expanded once, not on every use.
VERSION    := $(VERSION)
REVISION   := $(REVISION)
BRANCH     := $(BRANCH)
BUILD_USER := $(BUILD_USER)
BUILD_DATE := $(BUILD_DATE)
VERSION_PKG := github.com/prometheus/common/version
LDFLAGS := -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Revision=$(REVISION) \
	-X $(VERSION_PKG).Branch=$(BRANCH) -X $(VERSION_PKG).BuildUser=$(BUILD_USER) \
	-X $(VERSION_PKG).BuildDate=$(BUILD_DATE)

# Release: static binaries of every command for these platforms.
DIST      ?= $(CURDIR)/dist
PLATFORMS ?= linux/amd64 linux/arm64
COMMANDS  := $(notdir $(wildcard cmd/*))

# Prometheus tools, pinned to Debian's packages and unpacked into a
# project-local directory (no system install, no download beyond apt).
TOOLS                 := $(CURDIR)/.build/tools
PROMETHEUS_DEB        := prometheus=2.42.0+ds-5+b6
ALERTMANAGER_DEB      := prometheus-alertmanager=0.25.0-1+b4
export PROMTOOL       := $(TOOLS)/promtool
export AMTOOL         := $(TOOLS)/amtool
export PROMETHEUS_BIN := $(TOOLS)/prometheus
export ALERTMANAGER_BIN := $(TOOLS)/alertmanager

.PHONY: all build vet test test-unit bench demo demo-stack demo-sim backtest clean tools dashboards docker-build docker-up docker-down docker-test release print-ldflags

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

# dist/<command>-<version>.<os>-<arch> for every command and platform,
# static (CGO_ENABLED=0), stripped, with paths trimmed, and dist/SHA256SUMS.
release:
	rm -rf $(DIST) && mkdir -p $(DIST)
	for p in $(PLATFORMS); do \
		for c in $(COMMANDS); do \
			echo "$(DIST)/$$c-$(VERSION).$${p%/*}-$${p#*/}"; \
			CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build -trimpath \
				-ldflags '-s -w $(LDFLAGS)' -o $(DIST)/$$c-$(VERSION).$${p%/*}-$${p#*/} ./cmd/$$c || exit 1; \
		done; \
	done
	cd $(DIST) && sha256sum *-$(VERSION).* > SHA256SUMS && cat SHA256SUMS

# The flags build and release stamp with (the version test reads them).
print-ldflags:
	@echo '$(LDFLAGS)'

vet:
	$(GO) vet $(PKGS)

# The whole suite: vet, unit and end-to-end tests (the emulator runs
# in-process on a virtual clock; the AWS CLI test uses Debian's awscli).
# The webhook decoder is fuzzed for a bounded time on every run.
test: vet tools
	$(GO) test -count=1 -timeout 15m $(PKGS)
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeWebhook$$' -fuzztime 20s -fuzzminimizetime 0 ./scaler/

# Regenerate rules/*.rules.yml from rules/gen/ (templates and the field
# defaults). THRESHOLDS=my.yml RULES_OUT=/etc/prometheus/rules writes a
# deployment's overrides elsewhere; rules/ keeps the defaults the tests pin.
# The defaults also go to deploy/kubernetes/prometheusrule.yaml.
RULES_OUT ?= rules
.PHONY: rules
rules:
	$(GO) run ./rules/cmd/rulegen -out $(RULES_OUT) $(if $(THRESHOLDS),-thresholds $(THRESHOLDS),-prometheusrule deploy/kubernetes/prometheusrule.yaml)

# Benchmarks print their figures (queries/s, calls per refresh, ...).
bench:
	$(GO) test -run '^$$' -bench . -benchtime 20x -timeout 30m ./sim/... ./cmd/...
	$(GO) test -run '^$$' -bench . -benchtime 2000x -timeout 10m ./scaler/
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 10m ./backtest/

# The demo: aurora_backtest plays the field's avalanche through the whole
# loop on a virtual clock, once per policy, with a live view of the
# product's run, then prints the comparison and the report's paths.
BACKTEST_OUT ?= backtest-out
PACE ?= 300ms
demo: build
	$(BIN)/aurora_backtest --scenario $(SCENARIO) --out $(BACKTEST_OUT) --live surge --pace $(PACE) --log.level error

# The backtest alone (POLICIES=surge,none to choose).
POLICIES ?= none,aws-target-tracking,field,surge,surge+schedule
backtest: build
	$(BIN)/aurora_backtest --scenario $(SCENARIO) --out $(BACKTEST_OUT) --policies $(POLICIES) --log.level error

# The real-time stack: aurora_sim, aurora_exporter, Prometheus, Alertmanager
# and aurora_scaler as processes on a compressed scenario
# (scripts/demo-stack.sh prints the URLs to look around). Ctrl-C stops all.
demo-stack: build tools
	BIN=$(BIN) scripts/demo-stack.sh

# The emulator alone, faster than real time, printing the fleet every 5 s.
demo-sim: build
	$(BIN)/aurora_sim --scenario $(SCENARIO) --speed $(SPEED) --summary.interval 5s

# Debian's Alertmanager reads its notification templates from the path the
# package installs them to; put them there (the suite runs as root in CI).
AM_TEMPLATES := /usr/share/prometheus/alertmanager/default.tmpl

tools: $(PROMTOOL) $(AM_TEMPLATES)

$(AM_TEMPLATES): $(PROMTOOL)
	mkdir -p $(dir $(AM_TEMPLATES)) && cp $(CURDIR)/.build/deb/x/usr/share/prometheus/alertmanager/*.tmpl $(dir $(AM_TEMPLATES)) || \
		echo "warning: cannot install Alertmanager templates into $(dir $(AM_TEMPLATES)) (not root?): the whole-stack test will skip"

$(PROMTOOL):
	rm -rf $(CURDIR)/.build/deb && mkdir -p $(CURDIR)/.build/deb $(TOOLS)
	cd $(CURDIR)/.build/deb && { apt-get download $(PROMETHEUS_DEB) $(ALERTMANAGER_DEB) 2>/dev/null || \
		{ apt-get update -q >/dev/null && apt-get download $(PROMETHEUS_DEB) $(ALERTMANAGER_DEB); } || \
		{ echo "tools: the pinned Debian builds are gone from the index; taking its rebuild of the same upstream versions"; \
		  apt-get download prometheus prometheus-alertmanager; }; }
	cd $(CURDIR)/.build/deb && for f in *.deb; do dpkg-deb -x $$f x; done
	# Debian may rebuild (+bN, +deb12uN); the upstream versions must stay the tested ones.
	cd $(CURDIR)/.build/deb && ls prometheus_2.42.0+* prometheus-alertmanager_0.25.0-* >/dev/null
	cp $(CURDIR)/.build/deb/x/usr/bin/promtool $(CURDIR)/.build/deb/x/usr/bin/amtool $(CURDIR)/.build/deb/x/usr/bin/prometheus $(TOOLS)/
	cp $(CURDIR)/.build/deb/x/usr/bin/prometheus-alertmanager $(TOOLS)/alertmanager
	$(PROMTOOL) --version | head -1

# The monitoring host (docker-compose.yml; deploy/README.md). The images
# are stamped with the version of the checkout.
DOCKER_VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.0.0-dev)
DOCKER_REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DOCKER_BRANCH   ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
COMPOSE         ?= $(shell docker compose version >/dev/null 2>&1 && echo docker compose || echo docker-compose)
DOCKER_ENV      := VERSION=$(DOCKER_VERSION) REVISION=$(DOCKER_REVISION) BRANCH=$(DOCKER_BRANCH)

docker-build:
	$(DOCKER_ENV) $(COMPOSE) build

docker-up:
	$(DOCKER_ENV) $(COMPOSE) up -d --build

docker-down:
	$(COMPOSE) down

# The compose test alone (make test runs it too; it skips without Docker
# unless AURORA_REQUIRE_DOCKER is set).
docker-test:
	$(GO) test -count=1 -v -timeout 20m -run 'TestComposeStackRuns' ./deploy/

# Regenerate deploy/grafana/dashboards/*.json (provisioning) and
# dashboards/export/*.json (import) from dashboards/.
dashboards:
	$(GO) run ./dashboards/cmd/dashgen -out deploy/grafana/dashboards -export dashboards/export

clean:
	rm -rf $(BIN) $(DIST) $(CURDIR)/.build
