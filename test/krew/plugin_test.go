package krew

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"

	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

// tag is the release the suite plays: MWMCTL_ARCHIVES_TAG when `make test` built the archives, else v0.2.0.
var tag = "v0.2.0"

// platforms of a release's mwmctl archives, and of the krew manifest.
var platforms = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64"}

func archiveName(platform string) string {
	goos, goarch, _ := strings.Cut(platform, "/")
	if goos == "windows" {
		return "mwmctl_" + goos + "_" + goarch + ".zip"
	}
	return "mwmctl_" + goos + "_" + goarch + ".tar.gz"
}

// run runs a command with kubectl and kubectl-krew first in PATH and returns its combined output.
func run(env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "PATH="+pathDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KREW_NO_UPGRADE_CHECK=1")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func script(name string, args ...string) (string, error) {
	return run(nil, filepath.Join(repoRoot, "hack", "release", name), args...)
}

// unpack writes the files of a .tar.gz or .zip archive into dir and returns their names.
func unpack(archive, dir string) []string {
	var names []string
	write := func(name string, r io.Reader) {
		Expect(name).NotTo(ContainSubstring("/"), "archives hold their files at the top")
		f, err := os.Create(filepath.Join(dir, name))
		Expect(err).NotTo(HaveOccurred())
		_, err = io.Copy(f, r)
		Expect(err).NotTo(HaveOccurred())
		Expect(f.Close()).To(Succeed())
		names = append(names, name)
	}
	if strings.HasSuffix(archive, ".zip") {
		z, err := zip.OpenReader(archive)
		Expect(err).NotTo(HaveOccurred())
		defer func() { _ = z.Close() }()
		for _, f := range z.File {
			r, err := f.Open()
			Expect(err).NotTo(HaveOccurred())
			write(f.Name, r)
			_ = r.Close()
		}
	} else {
		f, err := os.Open(archive)
		Expect(err).NotTo(HaveOccurred())
		defer func() { _ = f.Close() }()
		gz, err := gzip.NewReader(f)
		Expect(err).NotTo(HaveOccurred())
		t := tar.NewReader(gz)
		for {
			h, err := t.Next()
			if err == io.EOF {
				break
			}
			Expect(err).NotTo(HaveOccurred())
			write(h.Name, t)
		}
	}
	slices.Sort(names)
	return names
}

func copyFile(from, to string) {
	raw, err := os.ReadFile(from)
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(to, raw, 0o644)).To(Succeed())
}

func sha256Of(file string) string {
	raw, err := os.ReadFile(file)
	Expect(err).NotTo(HaveOccurred())
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// manifest is the part of a krew Plugin the suite checks.
type manifest struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version   string `json:"version"`
		Platforms []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Bin    string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}

var _ = Describe("The kubectl plugin of a release", Ordered, func() {
	var (
		releases *testutil.Releases
		assets   string // the release's assets directory
		filled   string // the filled manifest, kept for the specs after the one that writes it
	)

	BeforeAll(func() {
		releases = testutil.NewReleases(GinkgoT().TempDir())
		DeferCleanup(releases.Close)
		assets = releases.Dir(tag)
		filled = filepath.Join(GinkgoT().TempDir(), "mwm.yaml") // a BeforeAll's TempDir lasts for every spec
	})

	It("has mwmctl archives for every platform, each with the binary of its platform and LICENSE", func() {
		if prebuilt != "" {
			// `make test` ran the same script before go test (a cold cross-compile takes minutes per platform,
			// too long for go test's timeout): serve its archives as this release's.
			Expect(os.MkdirAll(assets, 0o755)).To(Succeed())
			entries, err := os.ReadDir(prebuilt)
			Expect(err).NotTo(HaveOccurred())
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), "mwmctl_") {
					copyFile(filepath.Join(prebuilt, e.Name()), filepath.Join(assets, e.Name()))
				}
			}
		} else {
			out, err := script("mwmctl-archives.sh", tag, assets)
			Expect(err).NotTo(HaveOccurred(), out)
		}
		sums := map[string]string{}
		f, err := os.Open(filepath.Join(assets, "mwmctl_checksums.txt"))
		Expect(err).NotTo(HaveOccurred())
		lines := bufio.NewScanner(f)
		for lines.Scan() {
			sum, name, ok := strings.Cut(lines.Text(), "  ")
			Expect(ok).To(BeTrue(), "sha256sum format: %q", lines.Text())
			sums[name] = sum
		}
		Expect(f.Close()).To(Succeed())
		Expect(sums).To(HaveLen(len(platforms)))

		for _, p := range platforms {
			name := archiveName(p)
			Expect(sums).To(HaveKeyWithValue(name, sha256Of(filepath.Join(assets, name))))
			dir := GinkgoT().TempDir()
			bin := "mwmctl"
			if strings.HasPrefix(p, "windows/") {
				bin = "mwmctl.exe"
			}
			Expect(unpack(filepath.Join(assets, name), dir)).To(Equal([]string{"LICENSE", bin}), name)
			// go version -m reads the build settings of a binary of any platform.
			info, err := exec.Command("go", "version", "-m", filepath.Join(dir, bin)).CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(info))
			goos, goarch, _ := strings.Cut(p, "/")
			Expect(string(info)).To(ContainSubstring("GOOS="+goos), name)
			Expect(string(info)).To(ContainSubstring("GOARCH="+goarch), name)
			Expect(string(info)).To(ContainSubstring("CGO_ENABLED=0"), name)
			// -trimpath keeps -ldflags out of the build information: the version stamp is checked by running
			// `kubectl mwm version` below.
		}
	})

	It("fills plugins/mwm.yaml with the release's URLs and the archives' sha256", func() {
		out, err := script("krew-manifest.sh", tag, releases.DownloadURL(tag), assets, filled)
		Expect(err).NotTo(HaveOccurred(), out)
		raw, err := os.ReadFile(filled)
		Expect(err).NotTo(HaveOccurred())
		var m manifest
		Expect(yaml.Unmarshal(raw, &m)).To(Succeed())
		Expect(m.Metadata.Name).To(Equal("mwm"), "the plugin is kubectl mwm")
		Expect(m.Spec.Version).To(Equal(tag))
		Expect(m.Spec.Platforms).To(HaveLen(len(platforms)))
		for i, p := range platforms {
			goos, goarch, _ := strings.Cut(p, "/")
			got := m.Spec.Platforms[i]
			Expect(got.Selector.MatchLabels).To(Equal(map[string]string{"os": goos, "arch": goarch}))
			Expect(got.URI).To(Equal(releases.DownloadURL(tag) + "/" + archiveName(p)))
			Expect(got.SHA256).To(Equal(sha256Of(filepath.Join(assets, archiveName(p)))))
		}
		Expect(os.WriteFile(filepath.Join(assets, "mwm.yaml"), raw, 0o600)).To(Succeed())
		releases.Publish(tag)
	})

	It("refuses to write a manifest with a checksum missing, or under another name", func() {
		partial := GinkgoT().TempDir()
		raw, err := os.ReadFile(filepath.Join(assets, "mwmctl_checksums.txt"))
		Expect(err).NotTo(HaveOccurred())
		var kept []string
		for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
			if !strings.HasSuffix(line, "mwmctl_darwin_arm64.tar.gz") {
				kept = append(kept, line)
			}
		}
		Expect(os.WriteFile(filepath.Join(partial, "mwmctl_checksums.txt"), []byte(strings.Join(kept, "\n")+"\n"), 0o600)).
			To(Succeed())
		out, err := script("krew-manifest.sh", tag, releases.DownloadURL(tag), partial, filepath.Join(partial, "mwm.yaml"))
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("still has placeholders"))
		Expect(out).To(ContainSubstring("SHA256_mwmctl_darwin_arm64.tar.gz"))

		out, err = script("krew-manifest.sh", tag, releases.DownloadURL(tag), assets, filepath.Join(partial, "plugin.yaml"))
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("must be named mwm.yaml"))
	})

	It("passes krew's validate-krew-manifest, which installs every platform from the release's URLs", func() {
		out, err := run(nil, validateBin, "-manifest", filled)
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("structural validation OK"))
		Expect(out).To(ContainSubstring("all 5 spec.platforms installed fine"))
	})

	It("is installed with kubectl krew install --manifest-url and runs as kubectl mwm", func() {
		if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
			Skip("kubectl mwm is run here on linux and darwin only")
		}
		root := GinkgoT().TempDir()
		env := make([]string, 0, 2)
		env = append(env, "KREW_ROOT="+root)
		// --no-update-index: krew would first clone its default plugin index from github.com, which a user's krew
		// has already done and this loopback-only test must not.
		out, err := run(env, "kubectl", "krew", "install", "--no-update-index",
			"--manifest-url="+releases.LatestURL()+"/mwm.yaml")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring(`Installed plugin: mwm`))

		// kubectl finds kubectl-mwm in krew's bin directory, as after the PATH line krew tells users to add.
		env = append(env, "PATH="+filepath.Join(root, "bin")+string(os.PathListSeparator)+pathDir+
			string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err = run(env, "kubectl", "mwm", "version")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring(tag))
		out, err = run(env, "kubectl", "mwm", "--help")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("kubectl mwm"), "help names the plugin as users type it")
	})
})
