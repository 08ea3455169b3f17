// Package v1alpha1 contains the API types of the maintenance.mamrezb.com/v1alpha1 group.
// +kubebuilder:object:generate=true
// +groupName=maintenance.mamrezb.com
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the ServiceChecker API.
	GroupVersion = schema.GroupVersion{Group: "maintenance.mamrezb.com", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this group version with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this group version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
