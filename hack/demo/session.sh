#!/usr/bin/env bash
# The session docs/usage.gif shows, recorded by `make demo-gif` (hack/demo records it in a pseudo-terminal): it
# starts `make run-local` in the background (its own log, not on screen), then types and runs, in order, status, an
# outage, maintenance, the recovery and a maintenance window, and stops run-local (Ctrl-C, as a user would) at the
# end. Every wait is bounded; it fails rather than hangs.
set -euo pipefail
cd "$(dirname "$0")/../.."

export KUBECONFIG=$PWD/bin/run-local/kubeconfig
export PATH=$PWD/bin:$PWD/bin/k8s:$PATH
log=$(mktemp)

# setsid: run-local and what it starts form one process group, stopped as a whole by the Ctrl-C below.
setsid make --no-print-directory run-local > "$log" 2>&1 &
runlocal=$!
stop() {
  kill -INT -- "-$runlocal" 2> /dev/null || true
  for _ in $(seq 1 30); do kill -0 "$runlocal" 2> /dev/null || break; sleep 1; done
  kill -KILL -- "-$runlocal" 2> /dev/null || true
  rm -f "$log"
}
trap stop EXIT

# Typing, at a human pace; a comment line in grey.
say() { printf '\e[90m# %s\e[0m\n' "$1"; sleep 1; }
type_out() {
  printf '\e[1;32m$\e[0m '
  local s=$1 i
  for ((i = 0; i < ${#s}; i++)); do printf '%s' "${s:i:1}"; sleep 0.025; done
  sleep 0.4
  printf '\n'
}
# run TEXT [COMMAND...]: types TEXT, runs COMMAND (default: TEXT itself), keeps its exit code off the screen.
run() {
  local text=$1; shift
  type_out "$text"
  if [[ $# -gt 0 ]]; then "$@" || true; else eval "$text" || true; fi
  sleep 2
}

clear
say "make run-local: a local kube-apiserver, etcd, kube-controller-manager, a demo shop and the manager"
for _ in $(seq 1 300); do
  grep -q "try it (Ctrl-C stops everything)" "$log" && break
  kill -0 "$runlocal" 2> /dev/null || { cat "$log"; echo "run-local stopped before it was ready"; exit 1; }
  sleep 1
done
grep -q "try it (Ctrl-C stops everything)" "$log" || { cat "$log"; echo "run-local was not ready within 300 s"; exit 1; }

run "mwmctl status"
run "curl -sk https://127.0.0.1:8443/status"
echo
say "an outage: checkout's Pods fail readiness, so storefront enters maintenance"
run "make demo-outage" make -s --no-print-directory demo-outage
run "kubectl wait --for=condition=Maintenance=True servicechecker/storefront -n shop --timeout=60s"
run "mwmctl check --checker shop/storefront"
clear
say "recovery: checkout is ready again; check --wait returns when the maintenance ends"
run "make demo-recover" make -s --no-print-directory demo-recover
run "mwmctl check --checker shop/storefront --wait 1m"
run "mwmctl status -n shop"
echo
say "a planned maintenance window, from mwmctl"
run "mwmctl maintenance on storefront -n shop --for 2m --title \"Demo window\""
run "mwmctl windows -n shop"
run "mwmctl check --checker shop/storefront"
run "mwmctl maintenance off storefront -n shop"
run "mwmctl check --checker shop/storefront --wait 30s"
