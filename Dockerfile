# Multi-arch image of the manager (and mwmctl). Build with `make docker-build` (one platform) or
# `make docker-buildx PLATFORMS=linux/amd64,linux/arm64`. Binaries are cross-compiled on the build platform.
FROM --platform=$BUILDPLATFORM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /workspace
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY internal/ internal/
COPY hack/build-binaries.sh hack/
RUN TARGETOS=${TARGETOS} TARGETARCH=${TARGETARCH} VERSION=${VERSION} OUT=/out hack/build-binaries.sh

# Static binaries on a minimal base; runs as the distroless non-root user.
FROM gcr.io/distroless/static:nonroot
LABEL org.opencontainers.image.source=https://github.com/mamrezb/maintenance-window-manager \
      org.opencontainers.image.description="Maintenance Window Manager: is the backend up, or in maintenance?" \
      org.opencontainers.image.licenses=Apache-2.0
WORKDIR /
COPY --from=builder /out/manager /manager
COPY --from=builder /out/mwmctl /mwmctl
USER 65532:65532
ENTRYPOINT ["/manager"]
