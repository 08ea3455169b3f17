package admission

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
)

// casesDir holds one invalid ServiceChecker per file. Comment lines at the top say what the API server must answer:
//
//	# want: <text>             every such line must appear in the rejection's message (a field path, e.g.
//	                           spec.services[0].name, and where useful the rule's words)
//	# subresource: status      the object (without its status) is created, then its status is written through the
//	                           status subresource, as the manager writes it; that write must be rejected
//	# field-validation: Strict the request asks for strict field validation, as kubectl apply does by default
var casesDir = filepath.Join(repoRoot, "test", "testdata", "invalid-servicecheckers")

// minCases is the size of the table issue #15 asks for.
const minCases = 30

type invalidCase struct {
	file            string
	want            []string
	statusOnly      bool
	fieldValidation string
	object          *unstructured.Unstructured
}

// ctx is the context of every request; the rest config's timeout bounds each one.
func ctx() context.Context { return context.Background() }

// loadCases reads the table at tree construction, so that each file becomes a spec of its own.
func loadCases() ([]invalidCase, error) {
	return loadTable(casesDir)
}

// loadTable reads every case file of a table directory, sorted by name.
func loadTable(dir string) ([]invalidCase, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	cases := make([]invalidCase, 0, len(files))
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		c, err := parseCaseFile(file, raw)
		if err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	return cases, nil
}

var _ = Describe("invalid ServiceCheckers", func() {
	cases, loadErr := loadCases()

	It(fmt.Sprintf("are a table of at least %d files in test/testdata/invalid-servicecheckers", minCases), func() {
		Expect(loadErr).NotTo(HaveOccurred())
		Expect(len(cases)).To(BeNumerically(">=", minCases))
		AddReportEntry("invalid ServiceCheckers", len(cases))
	})

	It("differ from a ServiceChecker the API server accepts", func() {
		valid := &v1alpha1.ServiceChecker{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "valid"},
			Spec: v1alpha1.ServiceCheckerSpec{Services: []v1alpha1.ServiceRef{
				{Name: "checkout", Critical: true, MinReady: 2}, {Name: "db", Namespace: "data"},
				{Name: "checkout", Namespace: "other"}}},
		}
		Expect(k8sClient.Create(ctx(), valid, client.FieldValidation("Strict"))).To(Succeed())
		DeferCleanup(func() { Expect(k8sClient.Delete(ctx(), valid)).To(Succeed()) })
		valid.Status.ServiceStatuses = []v1alpha1.ServiceStatus{{Name: "checkout", Namespace: namespace,
			Critical: true, Reason: v1alpha1.ReasonNoReadyEndpoints, LastTransitionTime: metav1.Now()}}
		Expect(k8sClient.Status().Update(ctx(), valid)).To(Succeed())
	})

	for _, c := range cases {
		It("rejects "+c.file, func() {
			err := submit(c)
			Expect(err).To(HaveOccurred(), "the API server accepted %s", c.file)
			Expect(apierrors.IsInvalid(err) || apierrors.IsBadRequest(err)).To(BeTrue(),
				"%s: want 422 Invalid or 400 BadRequest, got %s: %v", c.file, apierrors.ReasonForError(err), err)
			for _, want := range c.want {
				Expect(err.Error()).To(ContainSubstring(want), "%s: the rejection does not name %q", c.file, want)
			}
			GinkgoWriter.Printf("%-45s %3d %s\n", c.file, statusCode(err), err)
		})
	}
})

// submit sends a case to the API server and returns its answer; anything it accepts is deleted again.
func submit(c invalidCase) error {
	obj := c.object.DeepCopy()
	var opts []client.CreateOption
	if c.fieldValidation != "" {
		opts = append(opts, client.FieldValidation(c.fieldValidation))
	}
	if !c.statusOnly {
		err := k8sClient.Create(ctx(), obj, opts...)
		if err == nil {
			Expect(k8sClient.Delete(ctx(), obj)).To(Succeed())
		}
		return err
	}
	status, hasStatus := obj.Object["status"]
	Expect(hasStatus).To(BeTrue(), "%s: a status case without a status", c.file)
	delete(obj.Object, "status")
	Expect(k8sClient.Create(ctx(), obj, opts...)).To(Succeed(), "%s: the object without its status is valid", c.file)
	DeferCleanup(func() { Expect(k8sClient.Delete(ctx(), obj)).To(Succeed()) })
	obj.Object["status"] = status
	return k8sClient.Status().Update(ctx(), obj)
}

func statusCode(err error) int32 {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Code
	}
	return 0
}
