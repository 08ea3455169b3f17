package olm

import (
	"context"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

var _ = Describe("The file-based catalog", func() {
	// blobs returns the catalog's objects by schema (olm.package, olm.channel, olm.bundle).
	blobs := func() map[string][]*unstructured.Unstructured {
		objs, err := testutil.DecodeYAMLFile(filepath.Join(repoRoot, "catalog", packageName, "index.yaml"))
		Expect(err).NotTo(HaveOccurred())
		bySchema := map[string][]*unstructured.Unstructured{}
		for _, b := range objs {
			schema, _, _ := unstructured.NestedString(b.Object, "schema")
			bySchema[schema] = append(bySchema[schema], b)
		}
		return bySchema
	}

	It("offers the bundle in its default channel, under the bundle image, with the manager image related", func() {
		csv := loadBundle().CSV
		catalog := blobs()
		Expect(catalog["olm.package"]).To(HaveLen(1))
		Expect(catalog["olm.package"][0].Object).To(HaveKeyWithValue("name", packageName))
		Expect(catalog["olm.package"][0].Object).To(HaveKeyWithValue("defaultChannel", "stable-v0"))

		Expect(catalog["olm.channel"]).To(HaveLen(1))
		entries, _, _ := unstructured.NestedSlice(catalog["olm.channel"][0].Object, "entries")
		Expect(entries).To(ConsistOf(And(HaveKeyWithValue("name", csv.Name),
			HaveKeyWithValue("skipRange", "<"+csv.Spec.Version.String()))), "every older release upgrades to this one")
		Expect(csv.Annotations).To(HaveKeyWithValue("olm.skipRange", "<"+csv.Spec.Version.String()))

		Expect(catalog["olm.bundle"]).To(HaveLen(1))
		bundle := catalog["olm.bundle"][0].Object
		Expect(bundle).To(HaveKeyWithValue("name", csv.Name))
		Expect(bundle).To(HaveKeyWithValue("image", "ghcr.io/mamrezb/maintenance-window-manager-bundle:v"+csv.Spec.Version.String()))
		related, _, _ := unstructured.NestedSlice(bundle, "relatedImages")
		Expect(related).To(ContainElement(HaveKeyWithValue("image", pinnedImage())))
	})

	It("is installed by config/olm, whose objects a kube-apiserver with OLM's CRDs accepts", func() {
		ctx := context.Background()
		catalog := blobs()
		sources, err := testutil.DecodeYAMLFile(filepath.Join(repoRoot, "config", "olm", "catalogsource.yaml"))
		Expect(err).NotTo(HaveOccurred())
		for _, obj := range sources {
			createNamespace(ctx, obj.GetNamespace())
			Expect(k8sClient.Create(ctx, obj, client.DryRunAll)).To(Succeed())
		}
		subscriptions, err := testutil.DecodeYAMLFile(filepath.Join(repoRoot, "config", "olm", "subscription.yaml"))
		Expect(err).NotTo(HaveOccurred())
		for _, sub := range subscriptions {
			createNamespace(ctx, sub.GetNamespace())
			Expect(sub.Object["spec"]).To(And(
				HaveKeyWithValue("name", catalog["olm.package"][0].Object["name"]),
				HaveKeyWithValue("channel", catalog["olm.package"][0].Object["defaultChannel"]),
				HaveKeyWithValue("source", "maintenance-window-manager-catalog")))
			Expect(k8sClient.Create(ctx, sub, client.DryRunAll)).To(Succeed())
		}
	})
})

func createNamespace(ctx context.Context, name string) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx, ns))).To(Succeed())
}
