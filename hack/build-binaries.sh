#!/usr/bin/env bash
# Builds static manager and mwmctl binaries for TARGETOS/TARGETARCH into OUT (default bin/<os>_<arch>); CMDS picks
# which (default "manager mwmctl"; the release's mwmctl archives build only mwmctl, with .exe on windows).
# The Dockerfile runs exactly this, and `make test-cross` runs it for every platform of the release image,
# so the flags the image is built with are tested on machines without a Docker engine.
set -euo pipefail
cd "$(dirname "$0")/.."

os=${TARGETOS:-linux}
arch=${TARGETARCH:-$(go env GOARCH)}
out=${OUT:-bin/${os}_${arch}}
version=${VERSION:-dev}
cmds=${CMDS:-manager mwmctl}
ext=""
[[ $os == windows ]] && ext=.exe
mkdir -p "$out"
for cmd in $cmds; do
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath \
    -ldflags "-s -w -X github.com/mamrezb/maintenance-window-manager/internal/cli.Version=${version}" \
    -o "$out/$cmd$ext" "./cmd/$cmd"
done
echo ">> built $cmds into $out for $os/$arch"
