#!/usr/bin/env bash
# Fails when regenerating (make manifests generate build-installer catalog) changes a file: generated files are
# committed and must match their markers. Compares against the working tree, so uncommitted but consistent edits pass.
# The CSV's createdAt, which operator-sdk rewrites on every run, is the one line ignored.
set -euo pipefail
cd "$(dirname "$0")/.."

generated=(api config/crd config/rbac/role.yaml config/manager/kustomization.yaml dist/install.yaml
  charts/maintenance-window-manager/crds config/manifests bundle bundle.Dockerfile catalog catalog.Dockerfile)
snapshot=$(mktemp -d)
trap 'rm -rf "$snapshot"' EXIT
for p in "${generated[@]}"; do
  mkdir -p "$snapshot/$(dirname "$p")"
  if [[ -e "$p" ]]; then cp -r "$p" "$snapshot/$p"; fi
done

# Regenerate with the committed defaults, whatever IMG the caller's environment or command line set.
MAKEFLAGS= env -u IMG make --no-print-directory manifests generate build-installer catalog >/dev/null

stale=0
for p in "${generated[@]}"; do
  if ! diff -ru --ignore-matching-lines='^ *createdAt: ' "$snapshot/$p" "$p"; then
    stale=1
  fi
done
if [[ $stale -ne 0 ]]; then
  echo "ERROR: generated files were stale and have been regenerated (diff above); review and commit them." >&2
  exit 1
fi
# Up to date: put back the files whose only change is a new createdAt, so a passing check leaves the tree clean.
for p in bundle catalog; do
  rm -rf "$p" && cp -r "$snapshot/$p" "$p"
done
# The optional components of config/default must at least render.
for component in certmanager network-policy prometheus; do
  go tool -modfile=hack/tools/go.mod kustomize build "config/$component" >/dev/null \
    || { echo "ERROR: config/$component does not render with kustomize" >&2; exit 1; }
done
echo ">> generated files are up to date; optional components render"
