# Maintenance Window Manager: build, test and run targets in the Operator SDK tradition.
# Developer tools are pinned in hack/tools/go.mod and run with `go tool`; the control plane used by the tests and
# by run-local is built from source by hack/controlplane. Nothing is downloaded except Go modules.

# Release of the operator: the image tag, the CSV version and the bundle's. Semantic version without the "v".
OPERATOR_VERSION ?= 0.1.0
# Image of the manager, used by the deployment manifests, the Helm chart and the OLM bundle.
IMG ?= ghcr.io/mamrezb/maintenance-window-manager:v$(OPERATOR_VERSION)

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

LOCALBIN ?= $(CURDIR)/bin
K8S_BIN ?= $(LOCALBIN)/k8s
TOOL = go tool -modfile=$(CURDIR)/hack/tools/go.mod
CONTROLLER_GEN = $(TOOL) controller-gen
KUSTOMIZE = $(TOOL) kustomize
GOLANGCI_LINT = $(TOOL) golangci-lint
HELM = $(LOCALBIN)/helm
CHART = charts/maintenance-window-manager
KUBECTL = $(K8S_BIN)/kubectl --cache-dir=$(LOCALBIN)/.kube-cache

# Platforms of the release image.
PLATFORMS ?= linux/amd64,linux/arm64

# Arguments passed to the manager by `make run` and `make run-local` (human-readable logs by default).
RUN_ARGS ?= --zap-devel

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: ## Generate the CRDs (also into the Helm chart) and the manager ClusterRole from the markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases
	rm -f $(CHART)/crds/*.yaml && cp config/crd/bases/*.yaml $(CHART)/crds/

.PHONY: generate
generate: ## Generate the DeepCopy methods of the API types.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## Format the Go code.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: ## Run golangci-lint (built from hack/tools the first time, about 3 minutes).
	@echo ">> golangci-lint (the first run builds it, about 3 minutes)"
	$(GOLANGCI_LINT) run ./...

.PHONY: lint-fix
lint-fix: ## Run golangci-lint and apply its fixes.
	$(GOLANGCI_LINT) run --fix ./...

.PHONY: verify-generated
verify-generated: ## Fail when `make manifests generate` would change any file.
	hack/verify-generated.sh

.PHONY: test-cross
test-cross: ## Cross-compile the image's binaries for every platform of PLATFORMS with the Dockerfile's script.
	@for p in $$(echo $(PLATFORMS) | tr , ' '); do \
		os=$${p%/*}; arch=$${p#*/}; \
		TARGETOS=$$os TARGETARCH=$$arch OUT=$(LOCALBIN)/$${os}_$${arch} hack/build-binaries.sh; \
		go version -m $(LOCALBIN)/$${os}_$${arch}/manager | grep -q "GOARCH=$$arch" || \
			{ echo "ERROR: $(LOCALBIN)/$${os}_$${arch}/manager is not a $$arch binary"; exit 1; }; \
		go version -m $(LOCALBIN)/$${os}_$${arch}/manager | grep -q "CGO_ENABLED=0" || \
			{ echo "ERROR: $(LOCALBIN)/$${os}_$${arch}/manager is not static (CGO_ENABLED=0)"; exit 1; }; \
	done

.PHONY: test
test: verify-generated vet lint helm-lint actionlint controlplane test-cross build krew krew-test-archives chromium ofrep-web ## Check generated files, vet, lint, lint workflows, cross-compile, run every suite.
	KUBEBUILDER_ASSETS=$(K8S_BIN) MANAGER=$(LOCALBIN)/manager MWMCTL=$(LOCALBIN)/mwmctl HELM=$(HELM) \
		KREW=$(KREW) KREW_VALIDATE=$(KREW_VALIDATE) MWMCTL_ARCHIVES=$(KREW_TEST_ARCHIVES) MWMCTL_ARCHIVES_TAG=$(KREW_TEST_TAG) \
		FAULTS_REPORT=$(LOCALBIN)/faults-report.md BROWSER_REPORT=$(LOCALBIN)/browser-report.txt \
		go test $$(go list ./... | grep -v /test/e2e) -coverprofile cover.out
	@# go test shows a passing package's output only with -v: the fault and browser suites' figures are printed from their files.
	@if [ -f $(LOCALBIN)/faults-report.md ]; then echo; cat $(LOCALBIN)/faults-report.md; fi
	@if [ -f $(LOCALBIN)/browser-report.txt ]; then echo; cat $(LOCALBIN)/browser-report.txt; fi
	$(MAKE) --no-print-directory test-e2e

.PHONY: test-e2e
test-e2e: controlplane build $(HELM) olm ## The end-to-end suite: Pods -> kube-controller-manager's EndpointSlices -> manager -> API, mwmctl.
	@echo ">> e2e: kube-apiserver, etcd and kube-controller-manager from bin/k8s; bin/manager, bin/mwmctl (about 1 minute)"
	@# Ginkgo's own timeout comes first, so that a stuck suite still stops what it started.
	KUBEBUILDER_ASSETS=$(K8S_BIN) MANAGER=$(LOCALBIN)/manager MWMCTL=$(LOCALBIN)/mwmctl HELM=$(HELM) OLM_DIR=$(OLM_DIR) \
		go test ./test/e2e/ -v -count=1 -timeout 20m -ginkgo.timeout 15m

# The browser suites drive Debian's chromium headless (internal/testutil.StartBrowser); a missing one fails them.
CHROMIUM ?= /usr/bin/chromium
.PHONY: chromium
chromium: ## Install Debian's chromium with apt-get when $(CHROMIUM) is missing (about 1-2 minutes the first time).
	@if [ ! -x $(CHROMIUM) ]; then \
		echo ">> $(CHROMIUM) is missing: apt-get install chromium for the browser suites (about 1-2 minutes the first time)"; \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends chromium; \
	fi

.PHONY: test-browser
test-browser: controlplane build chromium ## The status page in headless Chromium against a local kube-apiserver and bin/manager (about 30 seconds).
	@echo ">> browser: kube-apiserver and etcd from bin/k8s, bin/manager, $(CHROMIUM) headless"
	KUBEBUILDER_ASSETS=$(K8S_BIN) MANAGER=$(LOCALBIN)/manager go test ./test/browser/ -v -count=1 -timeout 6m

.PHONY: screenshots
screenshots: controlplane build chromium ## Rewrite docs/status-page.png and docs/status-page-dark.png from a run of the browser suite.
	KUBEBUILDER_ASSETS=$(K8S_BIN) MANAGER=$(LOCALBIN)/manager MWM_UPDATE_SCREENSHOTS=1 go test ./test/browser/ -count=1 -timeout 6m

# test/ofrep bundles the stock OpenFeature web SDK and OFREP web provider from npm (exact versions in its
# package-lock.json) with esbuild; npm ci installs them into test/ofrep/web/node_modules.
OFREP_WEB = test/ofrep/web
.PHONY: ofrep-web
ofrep-web: $(OFREP_WEB)/node_modules/.package-lock.json ## npm ci the OFREP browser test's packages into test/ofrep/web (about 5 seconds the first time).

$(OFREP_WEB)/node_modules/.package-lock.json: $(OFREP_WEB)/package.json $(OFREP_WEB)/package-lock.json
	@if ! command -v npm >/dev/null; then \
		echo ">> npm is missing: apt-get install nodejs npm for the OFREP browser test (about 1 minute the first time)"; \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends nodejs npm; \
	fi
	@echo ">> npm ci in $(OFREP_WEB): @openfeature/web-sdk, @openfeature/ofrep-web-provider, esbuild (about 5 seconds the first time)"
	cd $(OFREP_WEB) && npm ci --no-audit --no-fund

.PHONY: test-ofrep
test-ofrep: controlplane build chromium ofrep-web ## OFREP through the Go SDK and, in headless Chromium, the web SDK and the README's examples against kube-apiserver and bin/manager (about 30 seconds).
	@echo ">> ofrep: kube-apiserver and etcd from bin/k8s, bin/manager, the Go SDK, $(CHROMIUM) headless"
	KUBEBUILDER_ASSETS=$(K8S_BIN) MANAGER=$(LOCALBIN)/manager go test ./test/ofrep/ -v -count=1 -timeout 6m

# Go native fuzz targets as <package>:<target>; their seed corpora (f.Add and testdata/fuzz) run in `make test`.
FUZZ_TARGETS = ./internal/selection:FuzzParse ./internal/readiness:FuzzEvaluate ./internal/snapshot:FuzzMerge \
	./internal/httpapi:FuzzHandler ./internal/ofrep:FuzzEvaluation
FUZZTIME ?= 30s
.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 30s); a failing input is saved under its package's testdata/fuzz.
	@failed=""; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
		echo ">> go test -run=^\$$ -fuzz=^$$name\$$ -fuzztime=$(FUZZTIME) $$pkg"; \
		go test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg || failed="$$failed $$name"; \
	done; \
	if [ -n "$$failed" ]; then echo "ERROR: fuzz targets failed:$$failed (inputs in testdata/fuzz)"; exit 1; fi

##@ Release checks

# actionlint has a module of its own (hack/actionlint): its YAML library clashes with golangci-lint's in hack/tools.
ACTIONLINT = go tool -modfile=$(CURDIR)/hack/actionlint/go.mod actionlint
# Shell scripts of the release and of the demo, checked by shellcheck beside the workflows' run: steps.
RELEASE_SCRIPTS = hack/build-binaries.sh hack/release/*.sh hack/demo/session.sh

# Debian packages the release checks use: shellcheck (actionlint's shell checks), zip (the windows archive of
# hack/release/mwmctl-archives.sh) and curl (the previous index in hack/release/chart-repo.sh).
RELEASE_DEBS = shellcheck zip curl
.PHONY: release-tools
release-tools: ## Install shellcheck, zip and curl with apt-get (as root, or through sudo) when missing (about 30 s once).
	@missing=""; for d in $(RELEASE_DEBS); do command -v $$d >/dev/null 2>&1 || missing="$$missing $$d"; done; \
	if [ -n "$$missing" ]; then \
		if command -v apt-get >/dev/null 2>&1; then \
			echo ">> installing Debian's$$missing for the release checks (apt-get, about 30 s once)"; \
			sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
			$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null || \
				echo ">> WARNING: apt-get could not install$$missing: install them yourself"; \
		else \
			echo ">> WARNING:$$missing not installed and there is no apt-get: install them yourself"; \
		fi; \
	fi

.PHONY: actionlint
actionlint: release-tools ## Lint .github/workflows with actionlint v1.7.12 (built from hack/actionlint, about 1 minute once), with shellcheck.
	@echo ">> actionlint v1.7.12 on .github/workflows (the first run builds it, about 1 minute)"
	@if command -v shellcheck >/dev/null 2>&1; then \
		$(ACTIONLINT) -no-color .github/workflows/*.yml && \
		echo ">> shellcheck $(RELEASE_SCRIPTS)" && shellcheck $(RELEASE_SCRIPTS); \
	else \
		echo ">> shellcheck is not installed (install it: apt-get install shellcheck): actionlint runs WITHOUT checking run: scripts"; \
		$(ACTIONLINT) -no-color -shellcheck= .github/workflows/*.yml; \
	fi
	@echo ">> actionlint: no problems in $$(ls .github/workflows/*.yml | wc -l) workflow files"

# krew's kubectl plugin and its manifest validator, from sigs.k8s.io/krew v0.4.3 in a module of their own
# (hack/krew: krew's Kubernetes libraries are older than the operator's). test/krew and the release run them.
KREW = $(LOCALBIN)/kubectl-krew
KREW_VALIDATE = $(LOCALBIN)/validate-krew-manifest
$(KREW) $(KREW_VALIDATE) &: hack/krew/go.mod hack/krew/go.sum
	@echo ">> building krew and validate-krew-manifest v0.4.3 from hack/krew into bin/ (about 1 minute the first time)"
	go build -modfile=hack/krew/go.mod -o $(KREW) sigs.k8s.io/krew/cmd/krew
	go build -modfile=hack/krew/go.mod -o $(KREW_VALIDATE) sigs.k8s.io/krew/cmd/validate-krew-manifest

.PHONY: krew
krew: $(KREW) $(KREW_VALIDATE) ## Build krew (bin/kubectl-krew) and its validate-krew-manifest into bin/.

# The mwmctl archives test/krew serves and installs, built with the release's script before go test runs: a cold
# cross-compile takes minutes per platform, more than go test's timeout allows a package.
KREW_TEST_TAG = v0.0.0-krewtest
KREW_TEST_ARCHIVES = $(LOCALBIN)/krew-test/$(KREW_TEST_TAG)
.PHONY: krew-test-archives
krew-test-archives: release-tools ## Build the five mwmctl archives test/krew checks into bin/krew-test (seconds warm, minutes cold).
	@echo ">> mwmctl archives for test/krew: hack/release/mwmctl-archives.sh (cold, a few minutes per darwin/windows platform)"
	rm -rf $(KREW_TEST_ARCHIVES)
	hack/release/mwmctl-archives.sh $(KREW_TEST_TAG) $(KREW_TEST_ARCHIVES)

# What the release workflow attaches, built here as it builds them, for a look before tagging (TAG=vX.Y.Z).
TAG ?= v$(OPERATOR_VERSION)
RELEASE_DIR ?= $(LOCALBIN)/release/$(TAG)
RELEASE_URL ?= https://github.com/mamrezb/maintenance-window-manager/releases
# The index the chart's index.yaml merges: before tagging, latest is the previous release (release.yml names it by
# tag instead); - starts a new one (offline).
PREVIOUS_INDEX ?= $(RELEASE_URL)/latest/download/index.yaml
.PHONY: release-assets
release-assets: $(HELM) $(KREW) $(KREW_VALIDATE) ## Build the chart, index.yaml, mwmctl archives and krew manifest of TAG into bin/release/TAG.
	rm -rf $(RELEASE_DIR) && mkdir -p $(RELEASE_DIR)
	HELM=$(HELM) hack/release/chart-repo.sh $(TAG) $(RELEASE_DIR) $(RELEASE_URL)/download/$(TAG) $(PREVIOUS_INDEX)
	hack/release/mwmctl-archives.sh $(TAG) $(RELEASE_DIR)
	hack/release/krew-manifest.sh $(TAG) $(RELEASE_URL)/download/$(TAG) $(RELEASE_DIR) $(RELEASE_DIR)/mwm.yaml
	$(KREW_VALIDATE) -manifest $(RELEASE_DIR)/mwm.yaml -skip-install
	@echo ">> $(RELEASE_DIR):" && ls -l $(RELEASE_DIR)

##@ Benchmarks

BENCH_ARGS ?=
.PHONY: bench
bench: controlplane build ## Measure API throughput, freshness, status writes, 1,000 streams and cost at 100-10,000 watched; writes bench/ (about 15 minutes; BENCH_ARGS=-scale: the scale section alone).
	@echo ">> bench: a local kube-apiserver + etcd, 1,000 then 10,000 Services; figures are medians of 3 runs; each section prints its wall time"
	go build -o $(LOCALBIN)/bench ./hack/bench
	$(LOCALBIN)/bench --bin-dir $(K8S_BIN) --manager $(LOCALBIN)/manager --out bench $(BENCH_ARGS)

##@ Helm chart

# As Helm's own Makefile stamps them: its version, and the Kubernetes version helm template and lint assume
# (that of its client libraries, v0.37; unstamped it would be 1.20, below the chart's kubeVersion).
HELM_LDFLAGS = -X helm.sh/helm/v3/internal/version.version=v3.22.0 \
	$(foreach p,pkg/lint/rules pkg/chartutil,-X helm.sh/helm/v3/$(p).k8sVersionMajor=1 -X helm.sh/helm/v3/$(p).k8sVersionMinor=37)
$(HELM): hack/tools/go.mod hack/tools/go.sum
	@echo ">> building helm v3.22.0 from hack/tools into bin/ (about 2 minutes the first time)"
	go build -modfile=hack/tools/go.mod -ldflags "$(HELM_LDFLAGS)" -o $@ helm.sh/helm/v3/cmd/helm

.PHONY: helm
helm: $(HELM) ## Build helm into bin/.

.PHONY: helm-lint
helm-lint: $(HELM) ## helm lint --strict the chart with its default values and with each values file in ci/.
	$(HELM) lint --strict $(CHART)
	@for f in $(CHART)/ci/*-values.yaml; do echo "$(HELM) lint --strict $(CHART) -f $$f"; \
		$(HELM) lint --strict $(CHART) -f $$f --quiet || exit 1; done

##@ Control plane

CONTROLPLANE_STAMP = $(K8S_BIN)/.built-with-controller-manager
.PHONY: controlplane
controlplane: $(CONTROLPLANE_STAMP) ## Build kube-apiserver, etcd, kubectl and kube-controller-manager into bin/k8s (about 15 minutes the first time).

$(CONTROLPLANE_STAMP): hack/controlplane/go.mod hack/controlplane/go.sum hack/controlplane/build.sh
	hack/controlplane/build.sh $(K8S_BIN) --with-controller-manager
	touch $@

##@ Build

VERSION ?= v0.1.0-dev

.PHONY: build
build: ## Build the manager and mwmctl into bin/.
	go build -o $(LOCALBIN)/manager ./cmd/manager
	go build -ldflags "-X github.com/mamrezb/maintenance-window-manager/internal/cli.Version=$(VERSION)" \
		-o $(LOCALBIN)/mwmctl ./cmd/mwmctl

.PHONY: run
run: ## Run the manager against the cluster of the current kubeconfig.
	go run ./cmd/manager $(RUN_ARGS)

.PHONY: run-local
run-local: controlplane build ## Start a local control plane (with the EndpointSlice controller), a demo and the manager until Ctrl-C.
	go build -o $(LOCALBIN)/runlocal ./hack/runlocal
	$(LOCALBIN)/runlocal --bin-dir $(K8S_BIN) --manager $(LOCALBIN)/manager \
		--apply config/samples/maintenance_v1alpha1_servicechecker.yaml --apply hack/runlocal/demo.yaml -- $(RUN_ARGS)

.PHONY: demo-outage demo-recover
demo-outage: ## In a running `make run-local`: checkout's Pods fail readiness; storefront enters maintenance.
	go build -o $(LOCALBIN)/runlocal ./hack/runlocal
	$(LOCALBIN)/runlocal outage --kubeconfig $(LOCALBIN)/run-local/kubeconfig --namespace shop --service checkout

demo-recover: ## In a running `make run-local`: checkout's Pods are ready again.
	go build -o $(LOCALBIN)/runlocal ./hack/runlocal
	$(LOCALBIN)/runlocal recover --kubeconfig $(LOCALBIN)/run-local/kubeconfig --namespace shop --service checkout

.PHONY: demo-window
demo-window: ## In a running `make run-local`: a 2-minute maintenance window on shop/storefront (mwmctl maintenance on).
	go build -ldflags "-X github.com/mamrezb/maintenance-window-manager/internal/cli.Version=$(VERSION)" \
		-o $(LOCALBIN)/mwmctl ./cmd/mwmctl
	KUBECONFIG=$(LOCALBIN)/run-local/kubeconfig $(LOCALBIN)/mwmctl maintenance on storefront -n shop --for 2m \
		--title "Demo window" --message "A 2-minute demo of planned maintenance."
	@echo ">> storefront is in maintenance for 2 minutes; watch it with:"
	@echo "    curl -sk https://127.0.0.1:8443/status               # \"maintenance\":true, windows.active"
	@echo "    KUBECONFIG=$(LOCALBIN)/run-local/kubeconfig $(LOCALBIN)/mwmctl windows -n shop"
	@echo "    KUBECONFIG=$(LOCALBIN)/run-local/kubeconfig $(LOCALBIN)/mwmctl watch -n shop   # window-ended in 2 minutes"
	@echo ">> end it early with: KUBECONFIG=$(LOCALBIN)/run-local/kubeconfig $(LOCALBIN)/mwmctl maintenance off storefront -n shop"

# docs/usage.gif: hack/demo records hack/demo/session.sh (make run-local, then status, an outage, the recovery and a
# maintenance window) in a pseudo-terminal as docs/usage.cast (asciicast v2), then renders it to the GIF.
.PHONY: demo-gif
demo-gif: controlplane build ## Record docs/usage.gif and docs/usage.cast from a real make run-local session (about 2 minutes).
	@echo ">> recording hack/demo/session.sh: make run-local, status, an outage, recovery, a window (about 2 minutes)"
	go build -C hack/demo -o $(LOCALBIN)/demo .
	$(LOCALBIN)/demo record -o docs/usage.cast -cols 120 -rows 32 -timeout 6m \
		-title "Maintenance Window Manager: make run-local" -- hack/demo/session.sh
	$(LOCALBIN)/demo render -i docs/usage.cast -o docs/usage.gif

.PHONY: build-installer
build-installer: manifests ## Render the complete install (CRD, RBAC, Deployment, Services) into dist/install.yaml.
	mkdir -p dist
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/default > dist/install.yaml

##@ OLM bundle and catalog

# operator-sdk and opm are built from their own modules (hack/operator-sdk, hack/opm): their Kubernetes libraries
# clash with the operator's. The containers_image_openpgp tag avoids the gpgme C library.
OPERATOR_SDK = $(LOCALBIN)/operator-sdk
OPM = $(LOCALBIN)/opm
# OLM channels; the good-practices validator wants names starting with candidate, fast or stable.
CHANNELS ?= stable-v0
DEFAULT_CHANNEL ?= stable-v0
BUNDLE_IMG_BASE ?= ghcr.io/mamrezb/maintenance-window-manager-bundle
BUNDLE_IMG ?= $(BUNDLE_IMG_BASE):v$(OPERATOR_VERSION)
CATALOG_IMG ?= ghcr.io/mamrezb/maintenance-window-manager-catalog:latest
PACKAGE = maintenance-window-manager

# operator-sdk stamps its version into the bundle (operators.operatorframework.io.metrics.builder).
OPERATOR_SDK_VERSION = v1.42.2
OPERATOR_SDK_LDFLAGS = $(foreach v,Version GitVersion ImageVersion,\
	-X github.com/operator-framework/operator-sdk/internal/version.$(v)=$(OPERATOR_SDK_VERSION))
$(OPERATOR_SDK): hack/operator-sdk/go.mod hack/operator-sdk/go.sum
	@echo ">> building operator-sdk v1.42.2 from hack/operator-sdk into bin/ (about 4 minutes the first time)"
	cd hack/operator-sdk && go build -tags containers_image_openpgp -ldflags "$(OPERATOR_SDK_LDFLAGS)" \
		-o $@ github.com/operator-framework/operator-sdk/cmd/operator-sdk

$(OPM): hack/opm/go.mod hack/opm/go.sum
	@echo ">> building opm v1.73.0 from hack/opm into bin/ (about 4 minutes the first time)"
	cd hack/opm && go build -tags json1,containers_image_openpgp -o $@ github.com/operator-framework/operator-registry/cmd/opm

.PHONY: operator-sdk opm
operator-sdk: $(OPERATOR_SDK) ## Build operator-sdk into bin/.
opm: $(OPM) ## Build opm into bin/.

.PHONY: bundle
bundle: manifests $(OPERATOR_SDK) ## Generate the OLM bundle (bundle/, bundle.Dockerfile) and validate it like OperatorHub does.
	$(OPERATOR_SDK) generate kustomize manifests -q --interactive=false
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/manifests | $(OPERATOR_SDK) generate bundle -q --overwrite \
		--version $(OPERATOR_VERSION) --channels=$(CHANNELS) --default-channel=$(DEFAULT_CHANNEL)
	@# The image the CSV advertises, and olm.skipRange so that any older release upgrades straight to this one.
	sed -i.bak -e 's|^    containerImage: .*|    containerImage: $(IMG)|' \
		-e "s|^    olm.skipRange: .*|    olm.skipRange: '<$(OPERATOR_VERSION)'|" \
		bundle/manifests/$(PACKAGE).clusterserviceversion.yaml && rm bundle/manifests/$(PACKAGE).clusterserviceversion.yaml.bak
	$(OPERATOR_SDK) bundle validate ./bundle --select-optional suite=operatorframework

.PHONY: catalog
catalog: bundle $(OPM) ## Render the file-based catalog (catalog/) for a CatalogSource from bundle/ and validate it.
	hack/render-catalog.sh $(OPM) $(PACKAGE) $(DEFAULT_CHANNEL) '$(BUNDLE_IMG_BASE):v{{.Version}}' '<$(OPERATOR_VERSION)'

# Operator Lifecycle Manager's olm and catalog operators and its CRDs, for the e2e suite's OLM proof (hack/olm).
OLM_DIR = $(LOCALBIN)/olm
OLM_STAMP = $(OLM_DIR)/.built
.PHONY: olm
olm: $(OLM_STAMP) ## Build OLM v0.33.0's olm and catalog operators into bin/olm, with its CRDs in bin/olm/crds.

$(OLM_STAMP): hack/olm/go.mod hack/olm/go.sum
	@echo ">> building OLM v0.33.0 (olm, catalog) from hack/olm into bin/olm (about 3 minutes the first time)"
	cd hack/olm && go build -o $(OLM_DIR)/olm github.com/operator-framework/operator-lifecycle-manager/cmd/olm
	cd hack/olm && go build -o $(OLM_DIR)/catalog github.com/operator-framework/operator-lifecycle-manager/cmd/catalog
	rm -rf $(OLM_DIR)/crds && mkdir -p $(OLM_DIR)/crds
	cp "$$(cd hack/olm && go list -m -f '{{.Dir}}' github.com/operator-framework/operator-lifecycle-manager)"/deploy/chart/crds/*.yaml \
		$(OLM_DIR)/crds/
	chmod u+w $(OLM_DIR)/crds/*.yaml
	touch $@

.PHONY: bundle-build bundle-push catalog-build catalog-push
bundle-build: ## Build the bundle image (needs a container engine).
	$(CONTAINER_TOOL) build -f bundle.Dockerfile -t $(BUNDLE_IMG) .
bundle-push: ## Push the bundle image.
	$(CONTAINER_TOOL) push $(BUNDLE_IMG)
catalog-build: ## Build the catalog image (needs a container engine).
	$(CONTAINER_TOOL) build -f catalog.Dockerfile -t $(CATALOG_IMG) .
catalog-push: ## Push the catalog image.
	$(CONTAINER_TOOL) push $(CATALOG_IMG)

##@ Images

CONTAINER_TOOL ?= docker

.PHONY: docker-build
docker-build: ## Build the image for this machine's platform (needs a Docker engine).
	$(CONTAINER_TOOL) build --build-arg VERSION=$(VERSION) -t $(IMG) .

.PHONY: docker-push
docker-push: ## Push the image.
	$(CONTAINER_TOOL) push $(IMG)

# Extra docker buildx flags; the release adds --metadata-file (for the digest it signs; its SBOM comes from syft).
BUILDX_FLAGS ?=
.PHONY: docker-buildx
docker-buildx: ## Build and push the multi-arch image for PLATFORMS (needs docker buildx).
	$(CONTAINER_TOOL) buildx build --push --platform=$(PLATFORMS) --build-arg VERSION=$(VERSION) $(BUILDX_FLAGS) -t $(IMG) .

# The kind cluster docker-load loads the image into.
KIND ?= kind
KIND_CLUSTER ?= kind
.PHONY: docker-load
docker-load: ## Load IMG into the kind cluster KIND_CLUSTER (default kind), after docker-build; then deploy.
	@command -v $(KIND) >/dev/null 2>&1 || { echo "ERROR: $(KIND) not found: make docker-load needs kind" \
		"(go install sigs.k8s.io/kind@v0.33.0, or https://kind.sigs.k8s.io/docs/user/quick-start/#installation)," \
		"or set KIND to its path"; exit 1; }
	@command -v $(CONTAINER_TOOL) >/dev/null 2>&1 || { echo "ERROR: $(CONTAINER_TOOL) not found: make docker-load" \
		"needs Docker (https://docs.docker.com/engine/install/) to hold the image kind loads"; exit 1; }
	@$(CONTAINER_TOOL) info >/dev/null 2>&1 || { echo "ERROR: $(CONTAINER_TOOL) is installed but its daemon does not" \
		"answer ($(CONTAINER_TOOL) info fails): start Docker, e.g. sudo systemctl start docker"; exit 1; }
	@$(CONTAINER_TOOL) image inspect $(IMG) >/dev/null 2>&1 || { echo "ERROR: no image $(IMG) in $(CONTAINER_TOOL):" \
		"build it first with make docker-build IMG=$(IMG)"; exit 1; }
	$(KIND) load docker-image $(IMG) --name $(KIND_CLUSTER)

##@ Deployment

.PHONY: install
install: manifests ## Install the CRDs into the cluster of the current kubeconfig.
	$(KUSTOMIZE) build config/crd | kubectl apply -f -

.PHONY: deploy
deploy: build-installer ## Install everything into the cluster of the current kubeconfig.
	kubectl apply -f dist/install.yaml

.PHONY: undeploy
undeploy: ## Remove everything installed by deploy.
	kubectl delete --ignore-not-found -f dist/install.yaml

.PHONY: uninstall
uninstall: ## Remove the CRDs (and every ServiceChecker) from the cluster of the current kubeconfig.
	$(KUSTOMIZE) build config/crd | kubectl delete --ignore-not-found -f -
