package chartrepo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

const (
	chart     = "maintenance-window-manager"
	release   = "maintenance-window-manager"
	namespace = "maintenance-window-manager-system"
	image     = "ghcr.io/mamrezb/maintenance-window-manager"
)

// index is the part of a chart repository's index.yaml the suite checks.
type index struct {
	Entries map[string][]struct {
		Version    string   `json:"version"`
		AppVersion string   `json:"appVersion"`
		URLs       []string `json:"urls"`
		Digest     string   `json:"digest"`
	} `json:"entries"`
}

func readIndex(dir string) index {
	raw, err := os.ReadFile(filepath.Join(dir, "index.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var i index
	Expect(yaml.Unmarshal(raw, &i)).To(Succeed(), string(raw))
	return i
}

// sha256Of is the digest helm repo index records for a chart archive.
func sha256Of(file string) string {
	raw, err := os.ReadFile(file)
	Expect(err).NotTo(HaveOccurred())
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// chartRepo runs hack/release/chart-repo.sh, the script of the release workflow, with bin/helm.
func chartRepo(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(repoRoot, "hack", "release", "chart-repo.sh"), args...)
	cmd.Env = append(os.Environ(), "HELM="+helmBin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var _ = Describe("The chart repository of the releases", Ordered, func() {
	var (
		releases *testutil.Releases
		helmHome string // one Helm configuration for the whole suite: helm repo add, then search and install
	)
	helm := func(args ...string) (string, error) {
		cmd := exec.Command(helmBin, append(args, "--kubeconfig", kubeconfig)...)
		cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+helmHome, "HELM_CACHE_HOME="+helmHome+"/cache",
			"HELM_DATA_HOME="+helmHome+"/data")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	archive := func(tag string) string { return filepath.Join(releases.Dir(tag), chart+"-"+tag[1:]+".tgz") }

	BeforeAll(func() {
		releases = testutil.NewReleases(GinkgoT().TempDir())
		DeferCleanup(releases.Close)
		helmHome = GinkgoT().TempDir()
	})

	// As release.yml calls it: "-" for the first final release, else the index of the previous one, by its tag.
	It("packages the first release and starts a new index", func() {
		out, err := chartRepo("v0.1.0", releases.Dir("v0.1.0"), releases.DownloadURL("v0.1.0"), "-")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("starting a new index"))
		entries := readIndex(releases.Dir("v0.1.0")).Entries[chart]
		Expect(entries).To(HaveLen(1))
		Expect(entries[0].Version).To(Equal("0.1.0"))
		Expect(entries[0].AppVersion).To(Equal("v0.1.0"), "appVersion is the tag, the image's tag")
		Expect(entries[0].URLs).To(Equal([]string{releases.DownloadURL("v0.1.0") + "/" + chart + "-0.1.0.tgz"}))
		Expect(entries[0].Digest).To(Equal(sha256Of(archive("v0.1.0"))))
		releases.Publish("v0.1.0")
	})

	It("merges the previous release's index, keeping each version's own URL", func() {
		out, err := chartRepo("v0.2.0", releases.Dir("v0.2.0"), releases.DownloadURL("v0.2.0"),
			releases.DownloadURL("v0.1.0")+"/index.yaml")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("merging the previous release's index"))
		entries := readIndex(releases.Dir("v0.2.0")).Entries[chart]
		Expect(entries).To(HaveLen(2))
		Expect(entries[0].Version).To(Equal("0.2.0"), "newest first")
		Expect(entries[0].AppVersion).To(Equal("v0.2.0"))
		Expect(entries[0].URLs).To(Equal([]string{releases.DownloadURL("v0.2.0") + "/" + chart + "-0.2.0.tgz"}))
		Expect(entries[0].Digest).To(Equal(sha256Of(archive("v0.2.0"))))
		Expect(entries[1].Version).To(Equal("0.1.0"))
		Expect(entries[1].URLs).To(Equal([]string{releases.DownloadURL("v0.1.0") + "/" + chart + "-0.1.0.tgz"}))
		Expect(entries[1].Digest).To(Equal(sha256Of(archive("v0.1.0"))))
		releases.Publish("v0.2.0")
	})

	It("refuses what would publish a wrong index, saying what to do", func() {
		out, err := chartRepo("0.3.0", GinkgoT().TempDir(), releases.DownloadURL("0.3.0"), releases.LatestURL()+"/index.yaml")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("TAG 0.3.0 is not a release tag vMAJOR.MINOR.PATCH"))

		out, err = chartRepo("v0.3.0", releases.Dir("v0.2.0"), releases.DownloadURL("v0.3.0"), releases.LatestURL()+"/index.yaml")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("already holds chart archives"))

		// The previous index cannot be fetched (nothing listens): the new index would silently drop every version.
		out, err = chartRepo("v0.3.0", GinkgoT().TempDir(), releases.DownloadURL("v0.3.0"),
			"http://"+testutil.FreeAddr()+"/releases/latest/download/index.yaml")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("cannot fetch the previous index"))
	})

	It("is added with helm repo add from the latest release's URL and lists every version", func() {
		out, err := helm("repo", "add", "mwm", releases.LatestURL())
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring(`"mwm" has been added`))
		out, err = helm("search", "repo", "mwm/", "--versions", "--output", "json")
		Expect(err).NotTo(HaveOccurred(), out)
		var found []struct {
			Name       string `json:"name"`
			Version    string `json:"version"`
			AppVersion string `json:"app_version"`
		}
		Expect(json.Unmarshal([]byte(out), &found)).To(Succeed(), out)
		Expect(found).To(HaveLen(2), out)
		for i, want := range []string{"0.2.0", "0.1.0"} {
			Expect(found[i].Name).To(Equal("mwm/" + chart))
			Expect(found[i].Version).To(Equal(want))
			Expect(found[i].AppVersion).To(Equal("v" + want))
		}
	})

	It("installs the newest chart from the repository into the cluster, with the image of its tag", func() {
		out, err := helm("install", release, "mwm/"+chart, "--namespace", namespace, "--create-namespace")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("STATUS: deployed"))
		out, err = helm("list", "--namespace", namespace, "--output", "json")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring(`"chart":"` + chart + `-0.2.0"`))
		deployment := &appsv1.Deployment{}
		Expect(k8sClient.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: release + "-controller-manager"},
			deployment)).To(Succeed())
		Expect(deployment.Spec.Template.Spec.Containers[0].Image).To(Equal(image + ":v0.2.0"))
	})

	It("still serves the older version from its own release, through the merged index", func() {
		out, err := helm("template", release, "mwm/"+chart, "--version", "0.1.0", "--namespace", namespace)
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("image: " + image + ":v0.1.0"))
	})

	It("is pushed to an OCI registry by hack/release/chart-push.sh, which prints the digest to sign", func() {
		// A registry in memory on loopback (go-containerregistry's), without TLS: hence --plain-http.
		registry := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(GinkgoWriter, "registry: ", 0))))
		DeferCleanup(registry.Close)
		repo := "oci://" + strings.TrimPrefix(registry.URL, "http://") + "/charts"

		cmd := exec.Command(filepath.Join(repoRoot, "hack", "release", "chart-push.sh"), archive("v0.2.0"), repo, "--plain-http")
		cmd.Env = append(os.Environ(), "HELM="+helmBin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		Expect(cmd.Run()).To(Succeed(), stderr.String())
		digest := strings.TrimSpace(stdout.String())
		Expect(digest).To(MatchRegexp(`^sha256:[0-9a-f]{64}$`), "stdout is the digest alone; helm's output: %s", stderr.String())

		// What users install: the chart by version, and the very manifest the workflow signs, by digest.
		ref := repo + "/" + chart
		out, err := helm("template", release, ref, "--version", "0.2.0", "--plain-http", "--namespace", namespace)
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("image: " + image + ":v0.2.0"))
		out, err = helm("show", "chart", ref+"@"+digest, "--plain-http")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("version: 0.2.0"))

		out, err = chartRepoPush(archive("v0.2.0"), "https://"+strings.TrimPrefix(registry.URL, "http://")+"/charts")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("must start with oci://"))
	})
})

// chartRepoPush runs hack/release/chart-push.sh with bin/helm and returns its combined output.
func chartRepoPush(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(repoRoot, "hack", "release", "chart-push.sh"), args...)
	cmd.Env = append(os.Environ(), "HELM="+helmBin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
