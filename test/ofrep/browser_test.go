package ofrep

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ofrepprovider "github.com/open-feature/go-sdk-contrib/providers/ofrep"
	"github.com/open-feature/go-sdk/openfeature"

	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

// webDir holds package.json and package-lock.json of the npm packages the test page bundles; `make test-ofrep`
// (and `make test`) runs npm ci there.
var webDir = filepath.Join("web")

// readmeURL is the API's URL in the README's snippets, replaced by the suite's manager.
const readmeURL = "https://mwm.example.com:8443"

// snippets are the README's examples the test page runs, by their marker `<!-- test/ofrep: NAME -->`.
var snippets = []string{"web-sdk", "eventsource", "polling"}

// prelude defines what the README's snippets call: showMaintenancePage records each value with the page's clock,
// and every fetch's status is recorded (the polling example must see 304).
const prelude = `
window.__seen = [];
window.__statuses = [];
window.showMaintenancePage = (on, message) => window.__seen.push({ on, message, at: Date.now() });
const realFetch = window.fetch.bind(window);
window.fetch = async (...args) => {
  const response = await realFetch(...args);
  window.__statuses.push(response.status);
  return response;
};
`

// readmeSnippet returns the fenced js block that follows the README's marker for name.
func readmeSnippet(name string) (string, error) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		return "", err
	}
	marker := "<!-- test/ofrep: " + name + " -->\n```js\n"
	_, rest, found := strings.Cut(string(raw), marker)
	if !found {
		return "", fmt.Errorf("README.md has no %q followed by a js block", strings.TrimSpace(marker))
	}
	code, _, found := strings.Cut(rest, "\n```\n")
	if !found {
		return "", fmt.Errorf("the README's %s block does not end", name)
	}
	return code, nil
}

// exposed are additions to a snippet's prelude: the web SDK's page hands its OpenFeature API to the test, which
// reads the flag's metadata with it.
var exposed = map[string]string{"web-sdk": `import { OpenFeature as __openfeature } from "@openfeature/web-sdk";
window.__openfeature = __openfeature;
`}

// bundle writes NAME.html and NAME.js (the prelude and the README's snippet, with the suite's API URL, bundled with
// the npm packages of webDir by esbuild, offline) into dir.
func bundle(dir, name string) error {
	code, err := readmeSnippet(name)
	if err != nil {
		return err
	}
	esbuild := filepath.Join(webDir, "node_modules", ".bin", "esbuild")
	if _, err := os.Stat(esbuild); err != nil {
		return fmt.Errorf("%s is missing: run `make test-ofrep` (or `npm ci` in test/ofrep/web) first: %w", esbuild, err)
	}
	out, err := filepath.Abs(filepath.Join(dir, name+".js"))
	if err != nil {
		return err
	}
	// From stdin, esbuild resolves imports from its working directory: webDir's node_modules.
	cmd := exec.Command("node_modules/.bin/esbuild", "--bundle", "--format=esm", "--log-level=warning",
		"--sourcefile="+name+".js", "--outfile="+out)
	cmd.Dir = webDir
	cmd.Stdin = strings.NewReader(exposed[name] + prelude + strings.ReplaceAll(code, readmeURL, baseURL(name)))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("esbuild %s: %w: %s", name, err, stderr.String())
	}
	// No favicon request: the page loads only its bundle, and then talks to the API only.
	page := fmt.Sprintf("<!doctype html>\n<title>%s</title>\n<link rel=\"icon\" href=\"data:,\">\n<script type=\"module\" src=\"/%s.js\"></script>\n", name, name)
	return os.WriteFile(filepath.Join(dir, name+".html"), []byte(page), 0o644)
}

// baseURL is the API's URL for a snippet: the web SDK's goes through the prefix-stripping proxy, so that the event
// stream its provider follows is the one advertised under the prefix.
func baseURL(name string) string {
	if name == "web-sdk" {
		return strings.TrimSuffix(ingress.URL, "/")
	}
	return api
}

// seen is what a page's showMaintenancePage recorded.
type seen struct {
	On      bool   `json:"on"`
	Message string `json:"message"`
	At      int64  `json:"at"` // the page's Date.now(), ms
}

var _ = Describe("the README's browser examples in headless Chromium", Ordered, func() {
	var (
		tabs    = map[string]*testutil.Tab{}
		pageDir string
	)
	BeforeAll(func() {
		pageDir = GinkgoT().TempDir()
		start := time.Now()
		for _, name := range snippets {
			Expect(bundle(pageDir, name)).To(Succeed())
		}
		measure("set-up: esbuild the 3 README snippets with @openfeature/web-sdk and ofrep-web-provider", time.Since(start))

		ln, err := net.Listen("tcp", pageAddr)
		Expect(err).NotTo(HaveOccurred())
		files := http.FileServer(http.Dir(pageDir))
		srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			files.ServeHTTP(w, r)
		})}
		go func() { _ = srv.Serve(ln) }()
		DeferCleanup(srv.Close)

		browser, err := testutil.StartBrowser(GinkgoTB())
		Expect(err).NotTo(HaveOccurred())
		for _, name := range snippets {
			tab, err := browser.NewTab()
			Expect(err).NotTo(HaveOccurred())
			Expect(chromedp.Do(tab.Context(), chromedp.Navigate(pageOrigin+"/"+name+".html"))).To(Succeed())
			tabs[name] = tab
		}
	})

	values := func(name string) []seen {
		out, err := chromedp.Run(tabs[name].Context(), chromedp.Evaluate[[]seen](`window.__seen || []`))
		ExpectWithOffset(1, err).NotTo(HaveOccurred())
		return out
	}
	// after waits until the page recorded on at or after since, and returns that delay.
	after := func(name string, on bool, since time.Time, within time.Duration) time.Duration {
		var at int64
		EventuallyWithOffset(1, func() error {
			for _, v := range values(name) {
				if v.On == on && v.At >= since.UnixMilli() {
					at = v.At
					return nil
				}
			}
			return errors.New("not yet")
		}).WithTimeout(within).WithPolling(20*time.Millisecond).Should(Succeed(),
			"%s never showed maintenance %v; console: %v", name, on, tabs[name].Console())
		return time.UnixMilli(at).Sub(since)
	}

	It("each shows maintenance flip false -> true -> false through an outage and a recovery", func() {
		for _, name := range snippets {
			Eventually(func() []seen { return values(name) }).WithTimeout(20*time.Second).
				Should(ContainElement(HaveField("On", false)), "%s never rendered; console: %v", name, tabs[name].Console())
		}
		time.Sleep(300 * time.Millisecond) // the event streams are connected, the first poll answered

		DeferCleanup(setReady, true)
		outage := setReady(false)
		// Polling waits for its next tick (5 s in the README); the two streams must follow within 2 s.
		bounds := map[string]time.Duration{"web-sdk": boundSSE, "eventsource": boundSSE, "polling": 5*time.Second + boundSSE}
		for _, name := range snippets {
			delay := after(name, true, outage, 15*time.Second)
			measure("outage -> "+name+" (README example in Chromium) shows maintenance", delay)
			Expect(delay).To(BeNumerically("<=", bounds[name]), name)
		}
		recovery := setReady(true)
		for _, name := range snippets {
			delay := after(name, false, recovery, 15*time.Second)
			measure("recovery -> "+name+" (README example in Chromium) shows no maintenance", delay)
			Expect(delay).To(BeNumerically("<=", bounds[name]), name)
		}

		apiHost := strings.TrimPrefix(api, "http://")
		for name, tab := range tabs {
			Expect(tab.ConsoleErrors()).To(BeEmpty(), name)
			Expect(tab.ForeignRequests(pageAddr, apiHost, ingress.Addr())).To(BeEmpty(), name)
		}
		// The web provider followed the event stream advertised under the path prefix and re-fetched with the
		// event's tag.
		requests := tabs["web-sdk"].Requests()
		Expect(requests).To(ContainElement(ingress.URL + "ofrep/v1/events?checker=" + url.QueryEscape(checker)))
		Expect(ingress.Outside()).To(BeEmpty(), "requests that missed the path prefix")
		Expect(requests).To(ContainElement(ContainSubstring("/ofrep/v1/evaluate/flags?flagConfigEtag=")))
		// Its next poll, with nothing changed since the recovery, is answered 304.
		Eventually(func() ([]int, error) {
			return chromedp.Run(tabs["polling"].Context(), chromedp.Evaluate[[]int](`window.__statuses`))
		}).WithTimeout(10*time.Second).WithPolling(100*time.Millisecond).Should(ContainElement(http.StatusNotModified),
			"the polling example never got a 304")
	})

	It("serves the last value with metadata stale true while the manager cannot reach kube-apiserver, and false again", func() {
		Expect(openfeature.SetNamedProviderAndWait("mwm-stale", ofrepprovider.NewProvider(api))).To(Succeed())
		goClient := openfeature.NewClient("mwm-stale")
		scoped := openfeature.NewTargetlessEvaluationContext(map[string]any{"checker": checker})
		goStale := func() (any, error) {
			d, err := goClient.BooleanValueDetails(ctx(), "maintenance", true, scoped)
			if err == nil && d.Value {
				err = errors.New("maintenance true: the last value was not kept")
			}
			return d.FlagMetadata["stale"], err
		}
		webStale := func() (any, error) {
			return chromedp.Run(tabs["web-sdk"].Context(), chromedp.Evaluate[any](
				`window.__openfeature.getClient().getBooleanDetails("maintenance", true).flagMetadata.stale`))
		}
		Expect(goStale()).To(BeFalse())
		Expect(webStale()).To(BeFalse())

		DeferCleanup(reconnected)
		cut := time.Now()
		Expect(apiProxy.SetMode(testutil.ProxyRefuse)).To(Succeed())
		Eventually(goStale).WithTimeout(staleAfter + 15*time.Second).WithPolling(50 * time.Millisecond).Should(BeTrue())
		measure("API server refused -> Go SDK metadata stale true (--stale-after 2s)", time.Since(cut))
		Eventually(webStale).WithTimeout(boundSSE).WithPolling(20*time.Millisecond).Should(BeTrue(),
			"the web SDK did not learn of the staleness through the event stream within 2 s of the Go SDK")
		measure("API server refused -> web SDK metadata stale true", time.Since(cut))
		Expect(values("web-sdk")).To(HaveEach(HaveField("Message", "")), "no window appeared")

		back := time.Now()
		Expect(apiProxy.SetMode(testutil.ProxyPass)).To(Succeed())
		Eventually(webStale).WithTimeout(30 * time.Second).WithPolling(20 * time.Millisecond).Should(BeFalse())
		measure("API server back -> web SDK metadata stale false", time.Since(back))
		Expect(goStale()).To(BeFalse())
		Expect(tabs["web-sdk"].ConsoleErrors()).To(BeEmpty())
	})
})
