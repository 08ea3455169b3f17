package olm

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/operator-framework/api/pkg/manifests"
	"github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/api/pkg/validation"
	validationerrors "github.com/operator-framework/api/pkg/validation/errors"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

// operatorHubValidators are the validators of `operator-sdk bundle validate --select-optional
// suite=operatorframework` and of the community catalogs' pipelines.
var operatorHubValidators = validation.DefaultBundleValidators.WithValidators(
	validation.OperatorHubV2Validator,
	validation.StandardCapabilitiesValidator,
	validation.StandardCategoriesValidator,
	validation.GoodPracticesValidator,
	validation.AlphaDeprecatedAPIsValidator,
	validation.ObjectValidator,
)

// validate runs the validators on a bundle, for the newest Kubernetes the project is tested on, and returns every
// error and warning as "LEVEL: detail".
func validate(bundle *manifests.Bundle) []string {
	objs := append(bundle.ObjectsToValidate(), map[string]string{"k8s-version": "1.37"})
	results := operatorHubValidators.Validate(objs...)
	Expect(results).NotTo(BeEmpty(), "the validators returned no result at all")
	var found []string
	for _, r := range results {
		for _, list := range [][]validationerrors.Error{r.Errors, r.Warnings} {
			for _, e := range list {
				found = append(found, e.Error()) // "Error: ..." or "Warning: ..."
			}
		}
	}
	return found
}

func loadBundle() *manifests.Bundle {
	bundle, err := manifests.GetBundleFromDir(bundleDir)
	Expect(err).NotTo(HaveOccurred(), "load bundle/: run `make bundle`")
	Expect(bundle.CSV).NotTo(BeNil())
	return bundle
}

var _ = Describe("The OLM bundle", func() {
	It("passes the validators OperatorHub runs with no error and no warning", func() {
		Expect(validate(loadBundle())).To(BeEmpty())
	})

	It("would be reported by the same validators if it lacked what OperatorHub requires", func() {
		bundle := loadBundle()
		bundle.CSV.Spec.Icon = nil
		bundle.CSV.Annotations["categories"] = "Maintenance"
		bundle.Channels = []string{"preview"}
		Expect(validate(bundle)).To(ContainElements(
			ContainSubstring("Icon not specified"), ContainSubstring(`"Maintenance" is not in the set of standard categories`),
			ContainSubstring(`["preview"] are not following the recommended naming convention`)))
	})

	It("describes the operator for OperatorHub", func() {
		csv := loadBundle().CSV
		Expect(csv.Name).To(Equal(packageName + ".v" + csv.Spec.Version.String()))
		Expect(csv.Annotations).To(HaveKeyWithValue("categories", "Monitoring"))
		Expect(csv.Annotations).To(HaveKeyWithValue("capabilities", "Basic Install"))
		Expect(csv.Spec.MinKubeVersion).NotTo(BeEmpty())
		Expect(csv.Spec.Description).To(And(ContainSubstring("/services"), ContainSubstring("mwmctl")))
		Expect(csv.Spec.Icon).To(HaveLen(1))
		Expect(csv.Spec.Icon[0].MediaType).To(Equal("image/svg+xml"))
		Expect(csv.Spec.InstallModes).To(ConsistOf(
			v1alpha1.InstallMode{Type: v1alpha1.InstallModeTypeOwnNamespace, Supported: false},
			v1alpha1.InstallMode{Type: v1alpha1.InstallModeTypeSingleNamespace, Supported: false},
			v1alpha1.InstallMode{Type: v1alpha1.InstallModeTypeMultiNamespace, Supported: false},
			v1alpha1.InstallMode{Type: v1alpha1.InstallModeTypeAllNamespaces, Supported: true},
		), "the manager reads Services cluster-wide, so only AllNamespaces can work")

		owned := map[string]v1alpha1.CRDDescription{}
		for _, crd := range csv.Spec.CustomResourceDefinitions.Owned {
			owned[crd.Kind] = crd
		}
		Expect(owned).To(HaveLen(2))
		specPaths, statusPaths := descriptorPaths(owned["ServiceChecker"])
		Expect(specPaths).To(ContainElements("services", "services[0].name", "services[0].namespace", "services[0].critical",
			"gracePeriod", "services[0].gracePeriod"), "the grace periods of issue #17 have descriptors")
		Expect(statusPaths).To(ContainElements("serviceStatuses", "maintenance", "conditions"))

		window := owned["MaintenanceWindow"]
		Expect(window.Name).To(Equal("maintenancewindows.maintenance.mamrezb.com"))
		Expect(window.DisplayName).To(Equal("Maintenance Window"))
		specPaths, statusPaths = descriptorPaths(window)
		Expect(specPaths).To(ConsistOf("checkers", "services", "title", "message", "start", "end", "schedule",
			"timeZone", "duration", "announce", "suspend"), "every spec field of issue #16 has a descriptor")
		Expect(statusPaths).To(ContainElements("phase", "current", "next", "start", "end", "conditions"))
		for _, d := range window.SpecDescriptors {
			Expect(d.Description).NotTo(BeEmpty(), "spec descriptor %s", d.Path)
		}
		for _, d := range window.StatusDescriptors {
			Expect(d.Description).NotTo(BeEmpty(), "status descriptor %s", d.Path)
		}
	})

	It("runs the image the Makefile and config/ pin", func() {
		csv := loadBundle().CSV
		image := pinnedImage()
		Expect(csv.Annotations).To(HaveKeyWithValue("containerImage", image))
		deployments := csv.Spec.InstallStrategy.StrategySpec.DeploymentSpecs
		Expect(deployments).To(HaveLen(1))
		containers := deployments[0].Spec.Template.Spec.Containers
		Expect(containers).To(HaveLen(1))
		Expect(containers[0].Image).To(Equal(image))
	})

	It("grants exactly the RBAC of config/rbac", func() {
		spec := loadBundle().CSV.Spec.InstallStrategy.StrategySpec
		rbacDir := filepath.Join(repoRoot, "config", "rbac")
		manager, err := testutil.RulesOfFile(filepath.Join(rbacDir, "role.yaml"))
		Expect(err).NotTo(HaveOccurred())
		metricsAuth, err := testutil.RulesOfFile(filepath.Join(rbacDir, "metrics_auth_role.yaml"))
		Expect(err).NotTo(HaveOccurred())
		leader, err := testutil.RulesOfFile(filepath.Join(rbacDir, "leader_election_role.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(spec.ClusterPermissions).To(HaveLen(1))
		Expect(spec.ClusterPermissions[0].Rules).To(ConsistOf(append(manager, metricsAuth...)))
		Expect(spec.Permissions).To(HaveLen(1))
		Expect(spec.Permissions[0].Rules).To(ConsistOf(leader))
	})

	It("ships the CRDs of config/crd/bases (kustomize only adds labels)", func() {
		for _, plural := range crdPlurals {
			file := "maintenance.mamrezb.com_" + plural + ".yaml"
			bundled := readYAML(filepath.Join(bundleDir, "manifests", file))
			generated := readYAML(filepath.Join(repoRoot, "config", "crd", "bases", file))
			Expect(bundled["spec"]).To(Equal(generated["spec"]), file)
			Expect(bundled["metadata"]).To(HaveKeyWithValue("name", plural+".maintenance.mamrezb.com"))
		}
	})

	It("labels bundle.Dockerfile exactly like metadata/annotations.yaml", func() {
		var annotations struct {
			Annotations map[string]string `json:"annotations"`
		}
		Expect(yaml.Unmarshal(mustRead(filepath.Join(bundleDir, "metadata", "annotations.yaml")), &annotations)).To(Succeed())
		labels := map[string]string{}
		label := regexp.MustCompile(`^LABEL ([^=\s]+)=(\S+)$`)
		scanner := bufio.NewScanner(bytes.NewReader(mustRead(filepath.Join(repoRoot, "bundle.Dockerfile"))))
		for scanner.Scan() {
			if m := label.FindStringSubmatch(scanner.Text()); m != nil {
				labels[m[1]] = m[2]
			}
		}
		Expect(labels).To(Equal(annotations.Annotations))
		for _, channel := range strings.Split(annotations.Annotations["operators.operatorframework.io.bundle.channels.v1"], ",") {
			Expect(channel).To(MatchRegexp(`^(candidate|fast|stable)`))
		}
		Expect(annotations.Annotations).To(HaveKeyWithValue("operators.operatorframework.io.bundle.package.v1", packageName))
	})

	Context("on a kube-apiserver with OLM's CRDs", func() {
		ctx := context.Background()

		It("accepts the CSV and every other bundle object (server-side dry run)", func() {
			createNamespace(ctx, "operators")
			entries, err := os.ReadDir(filepath.Join(bundleDir, "manifests"))
			Expect(err).NotTo(HaveOccurred())
			Expect(entries).NotTo(BeEmpty())
			for _, e := range entries {
				objs, err := testutil.DecodeYAMLFile(filepath.Join(bundleDir, "manifests", e.Name()))
				Expect(err).NotTo(HaveOccurred())
				for _, obj := range objs {
					if obj.GetKind() != "ClusterRole" && obj.GetKind() != "CustomResourceDefinition" {
						obj.SetNamespace("operators") // OLM creates namespaced objects in the operator's namespace
					}
					Expect(k8sClient.Create(ctx, obj, client.DryRunAll)).To(Succeed(), "%s %s", obj.GetKind(), obj.GetName())
				}
			}
		})

		It("accepts the alm-examples once the CRDs are installed", func() {
			bundled := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(crdPlurals))
			for _, plural := range crdPlurals {
				crd := &apiextensionsv1.CustomResourceDefinition{}
				Expect(yaml.Unmarshal(mustRead(filepath.Join(bundleDir, "manifests", "maintenance.mamrezb.com_"+plural+".yaml")), crd)).
					To(Succeed())
				bundled = append(bundled, crd)
			}
			_, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{CRDs: bundled})
			Expect(err).NotTo(HaveOccurred())

			var examples []map[string]any
			Expect(json.Unmarshal([]byte(loadBundle().CSV.Annotations["alm-examples"]), &examples)).To(Succeed())
			kinds := map[string]bool{}
			for _, example := range examples {
				kinds[example["kind"].(string)] = true
			}
			Expect(kinds).To(Equal(map[string]bool{"ServiceChecker": true, "MaintenanceWindow": true}),
				"an alm-example of each owned CRD")
			for _, example := range examples {
				obj := &unstructured.Unstructured{Object: example}
				obj.SetNamespace("default")
				Expect(k8sClient.Create(ctx, obj, client.DryRunAll)).To(Succeed(), "alm-example %s", obj.GetName())
			}
		})
	})
})

// crdPlurals are the owned CRDs, each in config/crd/bases and bundle/manifests as maintenance.mamrezb.com_<plural>.yaml.
var crdPlurals = []string{"servicecheckers", "maintenancewindows"}

// descriptorPaths returns the paths of an owned CRD's spec and status descriptors.
func descriptorPaths(crd v1alpha1.CRDDescription) (spec, status []string) {
	for _, d := range crd.SpecDescriptors {
		spec = append(spec, d.Path)
	}
	for _, d := range crd.StatusDescriptors {
		status = append(status, d.Path)
	}
	return spec, status
}

// pinnedImage is the manager image config/manager/kustomization.yaml pins (set from the Makefile's IMG).
func pinnedImage() string {
	var k struct {
		Images []struct {
			Name, NewName, NewTag string
		} `json:"images"`
	}
	Expect(yaml.Unmarshal(mustRead(filepath.Join(repoRoot, "config", "manager", "kustomization.yaml")), &k)).To(Succeed())
	Expect(k.Images).To(HaveLen(1))
	return k.Images[0].NewName + ":" + k.Images[0].NewTag
}

func readYAML(path string) map[string]any {
	var m map[string]any
	Expect(yaml.Unmarshal(mustRead(path), &m)).To(Succeed(), path)
	return m
}

func mustRead(path string) []byte {
	b, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	return b
}
