// Package krew proves the kubectl plugin a release publishes: hack/release/mwmctl-archives.sh builds the five mwmctl
// archives and hack/release/krew-manifest.sh fills plugins/mwm.yaml with their sha256 (the scripts the release
// workflow runs), a loopback server serves them like GitHub's release downloads, krew's own validate-krew-manifest
// (sigs.k8s.io/krew v0.4.3, built by `make krew`) validates the manifest and installs every platform from it, and
// `kubectl krew install --manifest-url` installs `kubectl mwm` as the README says.
package krew

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

var (
	// prebuilt holds the mwmctl archives `make test` built with hack/release/mwmctl-archives.sh (MWMCTL_ARCHIVES,
	// for MWMCTL_ARCHIVES_TAG); unset, the suite runs the script itself (minutes when the build cache is cold).
	prebuilt    string
	validateBin string // krew's validate-krew-manifest
	pathDir     string // kubectl and kubectl-krew, first in the PATH of every command the suite runs
	repoRoot    = filepath.Join("..", "..")
)

func TestKrew(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "krew plugin suite")
}

var _ = BeforeSuite(func() {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		Fail("KUBEBUILDER_ASSETS is not set: run `make test`, or export KUBEBUILDER_ASSETS=$PWD/bin/k8s (kubectl is there)")
	}
	kubectl, err := filepath.Abs(filepath.Join(assets, "kubectl"))
	Expect(err).NotTo(HaveOccurred())
	Expect(kubectl).To(BeAnExistingFile())
	validateBin, err = testutil.Binary("KREW_VALIDATE", "validate-krew-manifest")
	Expect(err).NotTo(HaveOccurred(), "build it with `make krew`")
	krew, err := testutil.Binary("KREW", "kubectl-krew")
	Expect(err).NotTo(HaveOccurred(), "build it with `make krew`")

	if dir := os.Getenv("MWMCTL_ARCHIVES"); dir != "" {
		Expect(filepath.Join(dir, "mwmctl_checksums.txt")).To(BeAnExistingFile(),
			"MWMCTL_ARCHIVES=%s holds no archives: run hack/release/mwmctl-archives.sh into it, or unset it", dir)
		Expect(os.Getenv("MWMCTL_ARCHIVES_TAG")).NotTo(BeEmpty(), "MWMCTL_ARCHIVES needs MWMCTL_ARCHIVES_TAG, the tag they were built for")
		prebuilt, tag = dir, os.Getenv("MWMCTL_ARCHIVES_TAG")
	}

	// kubectl finds its plugins, krew among them, in PATH; krew's validator runs `kubectl krew install`.
	pathDir = GinkgoT().TempDir()
	Expect(os.Symlink(kubectl, filepath.Join(pathDir, "kubectl"))).To(Succeed())
	Expect(os.Symlink(krew, filepath.Join(pathDir, "kubectl-krew"))).To(Succeed())
})
