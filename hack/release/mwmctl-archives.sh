#!/usr/bin/env bash
# Builds the release's mwmctl archives: mwmctl_<os>_<arch>.tar.gz for linux and darwin, mwmctl_windows_amd64.zip,
# each holding the binary and LICENSE (krew's validation wants a license in every archive), and
# mwmctl_checksums.txt (sha256sum format). The release workflow and test/krew run exactly this.
#
# usage: hack/release/mwmctl-archives.sh TAG OUT_DIR
#   TAG      the release tag, e.g. v0.2.0 (stamped into `mwmctl version`)
#   OUT_DIR  where the archives go (created)
#   PLATFORMS (env) space-separated os/arch list; default: the five platforms of a release
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ $# -ne 2 ]]; then
  echo "usage: $0 TAG OUT_DIR   (e.g. $0 v0.2.0 dist/release)" >&2
  exit 2
fi
tag=$1
out=$2
platforms=${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64}
if [[ $platforms == *windows/* ]] && ! command -v zip > /dev/null; then
  echo "ERROR: zip not found; the windows archive needs it: apt-get install zip (make release-tools does)" >&2
  exit 1
fi
# Fixed timestamps and owners, so that the same commit gives the same tar archives.
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

archives=()
for p in $platforms; do
  os=${p%/*} arch=${p#*/}
  dir=$work/${os}_${arch}
  TARGETOS=$os TARGETARCH=$arch VERSION=$tag CMDS=mwmctl OUT=$dir hack/build-binaries.sh
  cp LICENSE "$dir/"
  touch -d "@$epoch" "$dir"/*
  name=mwmctl_${os}_${arch}
  if [[ $os == windows ]]; then
    rm -f "$out/$name.zip"
    (cd "$dir" && zip -q -X "$out/$name.zip" mwmctl.exe LICENSE)
    archives+=("$name.zip")
  else
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -C "$dir" -cf - mwmctl LICENSE |
      gzip -n > "$out/$name.tar.gz"
    archives+=("$name.tar.gz")
  fi
done
(cd "$out" && sha256sum "${archives[@]}" > mwmctl_checksums.txt)
echo ">> mwmctl $tag archives in $out:"
sed 's/^/   /' "$out/mwmctl_checksums.txt"
