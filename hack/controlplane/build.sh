#!/usr/bin/env bash
# Builds the control-plane binaries envtest and run-local need (kube-apiserver, etcd, kubectl,
# and, with --with-controller-manager, kube-controller-manager) from the Go module proxy into
# the directory given as $1. No binary is downloaded: everything compiles from source, which
# takes about 8-10 minutes and 2.5 GiB of RAM the first time and seconds afterwards (Go build cache).
set -euo pipefail

out=${1:?usage: build.sh OUTPUT_DIR [--with-controller-manager]}
shift
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

k8s_version=v1.37.2
pkg=k8s.io/component-base/version
ldflags="-s -w -X ${pkg}.gitVersion=${k8s_version} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=37 \
  -X ${pkg}.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=${k8s_version}"

targets=(
  "etcd go.etcd.io/etcd/server/v3"
  "kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver"
  "kubectl k8s.io/kubernetes/cmd/kubectl"
)
if [[ "${1:-}" == "--with-controller-manager" ]]; then
  targets+=("kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager")
fi

cd "$here"
for t in "${targets[@]}"; do
  name=${t%% *}
  path=${t#* }
  start=$(date +%s)
  echo ">> building ${name} (${path}); the first build can take several minutes"
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/$name" "$path"
  echo ">> built $out/$name in $(( $(date +%s) - start ))s"
done
