#!/usr/bin/env bash
# Pushes a packaged chart to an OCI registry with `helm push` and prints the pushed manifest's digest (sha256:...)
# on stdout, for `cosign sign <registry>/<chart>@<digest>`; helm's own output goes to stderr. The release workflow
# runs exactly this (after `helm registry login`), and test/chartrepo against a loopback registry.
#
# usage: hack/release/chart-push.sh CHART_TGZ OCI_REPO [HELM_FLAGS...]
#   CHART_TGZ   e.g. dist/chart/maintenance-window-manager-0.2.0.tgz (from hack/release/chart-repo.sh)
#   OCI_REPO    e.g. oci://ghcr.io/mamrezb/charts; the chart lands at OCI_REPO/<chart name>:<chart version>
#   HELM_FLAGS  passed to helm push, e.g. --plain-http for a registry without TLS
#   HELM (env)  the helm binary (default bin/helm, built by `make helm`)
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ $# -lt 2 ]]; then
  echo "usage: $0 CHART_TGZ OCI_REPO [HELM_FLAGS...]   (e.g. $0 dist/chart/maintenance-window-manager-0.2.0.tgz oci://ghcr.io/mamrezb/charts)" >&2
  exit 2
fi
tgz=$1 repo=$2
shift 2
helm=${HELM:-bin/helm}
if [[ $repo != oci://* ]]; then
  echo "ERROR: OCI_REPO $repo must start with oci://, e.g. oci://ghcr.io/mamrezb/charts" >&2
  exit 2
fi
if [[ ! -f $tgz ]]; then
  echo "ERROR: $tgz not found: package the chart first with hack/release/chart-repo.sh" >&2
  exit 1
fi
out=$("$helm" push "$tgz" "$repo" "$@" 2>&1) || {
  echo "$out" >&2
  echo "ERROR: helm push $tgz $repo failed (see above); log in first with: helm registry login <registry>" >&2
  exit 1
}
echo "$out" >&2
digest=$(sed -n 's/^Digest: //p' <<< "$out")
if [[ $digest != sha256:* ]]; then
  echo "ERROR: helm push printed no Digest line; cannot name the pushed chart for signing" >&2
  exit 1
fi
echo "$digest"
