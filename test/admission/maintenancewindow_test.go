package admission

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
)

// windowCasesDir holds one invalid MaintenanceWindow per file, with the same header lines as casesDir (see its
// README.md): every rule issue #16 asks admission to enforce has at least one file.
var windowCasesDir = filepath.Join(repoRoot, "test", "testdata", "invalid-maintenancewindows")

// parseCaseFile reads one file of an invalid-object table: its header comments and the object.
func parseCaseFile(file string, raw []byte) (invalidCase, error) {
	c := invalidCase{file: filepath.Base(file)}
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		key, value, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "#")), ":")
		value = strings.TrimSpace(value)
		switch key {
		case "want":
			c.want = append(c.want, value)
		case "subresource":
			if value != "status" {
				return c, fmt.Errorf("%s: subresource %q: only status is known", c.file, value)
			}
			c.statusOnly = true
		case "field-validation":
			c.fieldValidation = value
		}
	}
	if len(c.want) == 0 {
		return c, fmt.Errorf("%s: no '# want: <field path>' line: say what the API server must name", c.file)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(raw, &obj); err != nil {
		return c, fmt.Errorf("%s: %w", c.file, err)
	}
	c.object = &unstructured.Unstructured{Object: obj}
	if c.object.GetNamespace() == "" {
		c.object.SetNamespace(namespace)
	}
	return c, nil
}

func loadWindowCases() ([]invalidCase, error) {
	cases, err := loadTable(windowCasesDir)
	if err != nil {
		return nil, err
	}
	for _, c := range cases {
		if c.object.GetKind() != "MaintenanceWindow" {
			return nil, fmt.Errorf("%s: kind %q, want MaintenanceWindow", c.file, c.object.GetKind())
		}
	}
	return cases, nil
}

// ruleFiles maps each rule of issue #16 to a file of the table that breaks it (and only it), so that removing a
// rule from the CRD, or its case from the table, fails a spec that names the rule.
var ruleFiles = map[string]string{
	"neither start nor schedule":         "start-and-schedule-missing.yaml",
	"both start and schedule":            "start-and-schedule-both.yaml",
	"end with schedule":                  "end-with-schedule.yaml",
	"end not after start":                "end-before-start.yaml",
	"both end and duration":              "end-and-duration.yaml",
	"schedule without duration":          "schedule-without-duration.yaml",
	"schedule not five fields":           "schedule-four-fields.yaml",
	"schedule with a TZ= prefix":         "schedule-tz-prefix-five-fields.yaml",
	"schedule with a CRON_TZ= prefix":    "schedule-cron-tz-prefix.yaml",
	"duration not above 0":               "duration-zero.yaml",
	"duration above 168h":                "duration-too-long.yaml",
	"empty checkers":                     "checkers-empty.yaml",
	"more than 64 checkers":              "checkers-too-many.yaml",
	"checker not a DNS-1123 name":        "checkers-uppercase.yaml",
	"service not name or namespace/name": "services-two-slashes.yaml",
	"title over 128 characters":          "title-too-long.yaml",
	"message over 2048 characters":       "message-too-long.yaml",
	"announce below 0s":                  "announce-negative.yaml",
	"announce above 720h":                "announce-too-long.yaml",
}

var _ = Describe("invalid MaintenanceWindows", func() {
	cases, loadErr := loadWindowCases()

	It("are a table in test/testdata/invalid-maintenancewindows with a file for every rule of issue #16", func() {
		Expect(loadErr).NotTo(HaveOccurred())
		files := map[string]bool{}
		for _, c := range cases {
			files[c.file] = true
		}
		for rule, file := range ruleFiles {
			Expect(files).To(HaveKey(file), "the rule %q has no case", rule)
		}
		AddReportEntry("invalid MaintenanceWindows", len(cases))
	})

	for _, c := range cases {
		It("rejects "+c.file, func() {
			err := submit(c)
			Expect(err).To(HaveOccurred(), "the API server accepted %s", c.file)
			for _, want := range c.want {
				Expect(err.Error()).To(ContainSubstring(want), "%s: the rejection does not name %q", c.file, want)
			}
			GinkgoWriter.Printf("%-45s %3d %s\n", c.file, statusCode(err), err)
		})
	}
})

// validWindows are windows admission must accept, including the ones only the operator can judge (an unknown time
// zone, a minute 61, a start in the past): those become Invalid or Completed in status, not errors of kubectl.
var validWindows = map[string]string{
	"one-off": `
checkers: [storefront]
title: Database upgrade
message: Checkout is paused while we upgrade the database.
start: "2027-06-05T02:00:00+02:00"
end: "2027-06-05T04:00:00+02:00"`,
	"one-off-with-duration": `
checkers: [storefront, search]
start: "2027-06-05T00:00:00Z"
duration: 168h`,
	"recurring-berlin": `
checkers: [storefront]
services: [checkout, payments/gateway]
schedule: "0 3 * * 0"
timeZone: Europe/Berlin
duration: 30m
announce: 0s`,
	"recurring-new-york-lists-and-steps": `
checkers: [storefront]
schedule: "*/15 2-4 1,15 JAN-MAR MON-FRI"
timeZone: America/New_York
duration: 1h30m
announce: 720h
suspend: true`,
	"open-ended": `
checkers: [storefront]
title: Emergency maintenance
start: "2026-12-01T22:00:00Z"`,
	"past-start": `
checkers: [storefront]
start: "2020-01-01T00:00:00Z"
end: "2020-01-01T01:00:00Z"`,
	"unknown-time-zone": `
checkers: [storefront]
schedule: "0 3 * * 0"
timeZone: Mars/Olympus_Mons
duration: 30m`,
	"minute-61": `
checkers: [storefront]
schedule: "61 3 * * 0"
duration: 30m`,
	// Lengths count characters, not bytes: 128 Ü are 256 bytes.
	"longest-names-and-texts": `
checkers: [` + strings.Repeat("c", 253) + `]
services: [` + strings.Repeat("n", 63) + `/s` + strings.Repeat("s", 62) + `]
title: "` + strings.Repeat("Ü", 128) + `"
message: "` + strings.Repeat("é", 2048) + `"
start: "2027-06-05T02:00:00.123456789-07:00"
end: "2027-06-05T02:00:00.2-07:00"`,
}

var _ = Describe("valid MaintenanceWindows", func() {
	names := make([]string, 0, len(validWindows))
	for name := range validWindows {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		It("accepts "+name, func() {
			// Sent as written (a typed client would re-encode the times in UTC to the second).
			var spec map[string]any
			Expect(yaml.Unmarshal([]byte(validWindows[name]), &spec)).To(Succeed())
			window := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
			window.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("MaintenanceWindow"))
			window.SetNamespace(namespace)
			window.SetName(name)
			Expect(k8sClient.Create(ctx(), window, client.FieldValidation("Strict"))).To(Succeed())
			DeferCleanup(func() { Expect(k8sClient.Delete(ctx(), window)).To(Succeed()) })
			// What admission lets in, the manager's informers must decode.
			Expect(k8sClient.Get(ctx(), client.ObjectKeyFromObject(window), &v1alpha1.MaintenanceWindow{})).To(Succeed())
		})
	}

	It("defaults timeZone to UTC, announce to 24h and suspend to false", func() {
		window := &v1alpha1.MaintenanceWindow{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "defaults"},
			Spec: v1alpha1.MaintenanceWindowSpec{Checkers: []string{"storefront"}, Schedule: "0 3 * * 0",
				Duration: &metav1.Duration{Duration: 30 * time.Minute}}}
		Expect(k8sClient.Create(ctx(), window)).To(Succeed())
		DeferCleanup(func() { Expect(k8sClient.Delete(ctx(), window)).To(Succeed()) })
		got := &v1alpha1.MaintenanceWindow{}
		Expect(k8sClient.Get(ctx(), client.ObjectKeyFromObject(window), got)).To(Succeed())
		Expect(got.Spec.TimeZone).To(Equal("UTC"))
		Expect(got.Spec.Announce).To(Equal(&metav1.Duration{Duration: 24 * time.Hour}))
		Expect(got.Spec.Suspend).To(BeFalse())
	})

	It("takes the status the manager writes, and kubectl shows PHASE, START, END, CHECKERS and AGE from it", func() {
		window := &v1alpha1.MaintenanceWindow{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "weekly"},
			Spec: v1alpha1.MaintenanceWindowSpec{Checkers: []string{"storefront", "search"}, Schedule: "0 3 * * 0",
				TimeZone: "Europe/Berlin", Duration: &metav1.Duration{Duration: 30 * time.Minute}, Title: "Weekly restart"}}
		Expect(k8sClient.Create(ctx(), window)).To(Succeed())
		DeferCleanup(func() { Expect(k8sClient.Delete(ctx(), window)).To(Succeed()) })

		at := func(s string) metav1.Time {
			t, err := time.Parse(time.RFC3339, s)
			Expect(err).NotTo(HaveOccurred())
			return metav1.NewTime(t)
		}
		occurrence := func(start, end string) v1alpha1.Occurrence {
			e := at(end)
			return v1alpha1.Occurrence{Start: at(start), End: &e}
		}
		current := occurrence("2027-06-06T01:00:00Z", "2027-06-06T01:30:00Z")
		window.Status = v1alpha1.MaintenanceWindowStatus{
			ObservedGeneration: window.Generation,
			Phase:              v1alpha1.PhaseActive,
			Current:            &current,
			Next: []v1alpha1.Occurrence{occurrence("2027-06-13T01:00:00Z", "2027-06-13T01:30:00Z"),
				occurrence("2027-06-20T01:00:00Z", "2027-06-20T01:30:00Z"),
				occurrence("2027-06-27T01:00:00Z", "2027-06-27T01:30:00Z")},
			Start: &current.Start,
			End:   current.End,
			Conditions: []metav1.Condition{{Type: v1alpha1.ConditionValid, Status: metav1.ConditionTrue,
				Reason: v1alpha1.ReasonValid, Message: "the schedule and the time zone are valid",
				ObservedGeneration: window.Generation, LastTransitionTime: metav1.Now()}},
		}
		Expect(k8sClient.Status().Update(ctx(), window)).To(Succeed())

		table := getTable(fmt.Sprintf("/apis/%s/namespaces/%s/maintenancewindows/%s",
			v1alpha1.GroupVersion, namespace, window.Name))
		columns := make([]string, 0, len(table.ColumnDefinitions))
		for _, c := range table.ColumnDefinitions {
			if c.Priority == 0 {
				columns = append(columns, c.Name)
			}
		}
		Expect(columns).To(Equal([]string{"Name", "Phase", "Start", "End", "Checkers", "Age"}))
		Expect(table.Rows).To(HaveLen(1))
		GinkgoWriter.Printf("kubectl get mwin: %v\n", table.Rows[0].Cells)
		Expect(table.Rows[0].Cells[:5]).To(Equal([]any{"weekly", "Active", "2027-06-06T01:00:00Z",
			"2027-06-06T01:30:00Z", `["storefront","search"]`}))
	})

	It("is a MaintenanceWindow with the short name mwin", func() {
		list := &v1alpha1.MaintenanceWindowList{}
		Expect(k8sClient.List(ctx(), list, client.InNamespace(namespace))).To(Succeed())
		resources, err := discoveryResources()
		Expect(err).NotTo(HaveOccurred())
		Expect(resources).To(ContainElement(And(
			HaveField("Name", "maintenancewindows"), HaveField("Kind", "MaintenanceWindow"),
			HaveField("Namespaced", true), HaveField("ShortNames", ConsistOf("mwin")))))
	})
})

// getTable GETs path from the API server as a Table, the way kubectl get asks for it.
func getTable(path string) *metav1.Table {
	body := getRaw(path, "application/json;as=Table;v=v1;g=meta.k8s.io")
	table := &metav1.Table{}
	Expect(json.Unmarshal(body, table)).To(Succeed())
	return table
}

func discoveryResources() ([]metav1.APIResource, error) {
	list := &metav1.APIResourceList{}
	if err := json.Unmarshal(getRaw("/apis/"+v1alpha1.GroupVersion.String(), "application/json"), list); err != nil {
		return nil, err
	}
	return list.APIResources, nil
}

func getRaw(path, accept string) []byte {
	httpClient, err := rest.HTTPClientFor(testEnv.Config)
	Expect(err).NotTo(HaveOccurred())
	req, err := http.NewRequestWithContext(ctx(), http.MethodGet, strings.TrimSuffix(testEnv.Config.Host, "/")+path, nil)
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Accept", accept)
	resp, err := httpClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.StatusCode).To(Equal(http.StatusOK), "GET %s: %s", path, body)
	return body
}
