// Package v1alpha1 contains the API types of the maintenance.mamrezb.com/v1alpha1 group.
// +kubebuilder:object:generate=true
// +groupName=maintenance.mamrezb.com
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of the ServiceChecker API.
	GroupVersion = schema.GroupVersion{Group: "maintenance.mamrezb.com", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this group version with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this group version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion, &ServiceChecker{}, &ServiceCheckerList{})
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
