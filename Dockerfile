# Images of the monitoring host (docker-compose.yml). Two targets:
#   aurora      aurora_exporter, aurora_scaler, aurora_sim and healthcheck
#               on distroless static (no shell), running as uid 65532;
#               the default target
#   monitoring  Debian bookworm's Prometheus and Alertmanager: the versions
#               every rule and routing test runs (Makefile PROMETHEUS_DEB,
#               ALERTMANAGER_DEB; deploy/compose_test.go checks they agree)
# Build args VERSION, REVISION and BRANCH stamp the binaries (--version,
# *_build_info), as `make build` does.
ARG GO_IMAGE=golang:1.26-bookworm
ARG AURORA_BASE=gcr.io/distroless/static-debian12:nonroot
ARG DEBIAN_BASE=debian:bookworm-slim

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG BRANCH=unknown
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w \
      -X github.com/prometheus/common/version.Version=${VERSION} \
      -X github.com/prometheus/common/version.Revision=${REVISION} \
      -X github.com/prometheus/common/version.Branch=${BRANCH} \
      -X github.com/prometheus/common/version.BuildUser=docker \
      -X github.com/prometheus/common/version.BuildDate=$(date -u +%Y%m%d-%H:%M:%S)" \
      -o /out/bin/ ./cmd/... ./deploy/healthcheck \
 && mkdir -p /out/var/lib/aurora_scaler

FROM ${DEBIAN_BASE} AS monitoring
# The versions the tests pin, whichever Debian rebuild or security update
# of them bookworm serves now (+bN, +deb12uN).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      'prometheus=2.42.0+ds-5*' 'prometheus-alertmanager=0.25.0-1*' \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/bin/healthcheck /usr/local/bin/healthcheck
# The data volumes mount here: directories the image lacks would be
# created by Docker owned by root, where the prometheus user cannot write.
RUN mkdir -p /var/lib/prometheus/metrics2 /var/lib/prometheus/alertmanager \
 && chown prometheus:prometheus /var/lib/prometheus/metrics2 /var/lib/prometheus/alertmanager
USER prometheus

FROM ${AURORA_BASE} AS aurora
COPY --from=build /out/bin/ /bin/
# The scaler's events volume mounts here: a directory the image lacks
# would be created by Docker owned by root, and uid 65532 could not
# register an event.
COPY --from=build --chown=65532:65532 /out/var/lib/aurora_scaler/ /var/lib/aurora_scaler/
USER 65532:65532
