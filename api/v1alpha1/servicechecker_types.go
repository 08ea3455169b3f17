package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Reasons a watched Service is or is not ready, as written to status.serviceStatuses[].reason.
const (
	// ReasonReady: the Service has at least minReady ready endpoints.
	ReasonReady = "Ready"
	// ReasonNoReadyEndpoints: the Service exists but none of its endpoints is ready.
	ReasonNoReadyEndpoints = "NoReadyEndpoints"
	// ReasonNotEnoughReadyEndpoints: some endpoints are ready, but fewer than minReady.
	ReasonNotEnoughReadyEndpoints = "NotEnoughReadyEndpoints"
	// ReasonServiceNotFound: no Service of that name exists in that namespace.
	ReasonServiceNotFound = "ServiceNotFound"
	// ReasonExternalNameService: the Service is of type ExternalName, which has no endpoints to check.
	ReasonExternalNameService = "ExternalNameService"
	// ReasonCrossNamespaceReferenceDenied: the Service is in another namespace than the ServiceChecker, the manager
	// runs with --no-cross-namespace-refs, and no ReferenceGrant in the Service's namespace allows the reference.
	// The Service was not read, so the entry says nothing about it.
	ReasonCrossNamespaceReferenceDenied = "CrossNamespaceReferenceDenied"
)

// Condition types and reasons of status.conditions.
const (
	// ConditionReady is True when every listed Service is ready.
	ConditionReady = "Ready"
	// ConditionMaintenance is True when at least one critical Service is not ready, or an active MaintenanceWindow
	// covers the ServiceChecker whole or covers a Service it marks critical.
	ConditionMaintenance = "Maintenance"

	// ReasonAllServicesReady is the Ready condition's reason when every Service is ready.
	ReasonAllServicesReady = "AllServicesReady"
	// ReasonServicesNotReady is the Ready condition's reason when at least one Service is not ready.
	ReasonServicesNotReady = "ServicesNotReady"
	// ReasonCriticalServiceNotReady is the Maintenance condition's reason when a critical Service is not ready.
	ReasonCriticalServiceNotReady = "CriticalServiceNotReady"
	// ReasonCriticalServicesReady is the Maintenance condition's reason when every critical Service is ready.
	ReasonCriticalServicesReady = "CriticalServicesReady"
	// ReasonWithinGracePeriod is the Maintenance condition's reason (status False) when every critical Service not
	// ready is still within its grace period; the message names them and when each grace period ends.
	ReasonWithinGracePeriod = "WithinGracePeriod"
	// ReasonMaintenanceWindow is the Maintenance condition's reason when an active MaintenanceWindow puts the
	// ServiceChecker in maintenance; the message names the window and its title.
	ReasonMaintenanceWindow = "MaintenanceWindow"
)

// ServiceRef names a Service to watch and how to judge it.
type ServiceRef struct {
	// name of the Service to watch.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z]([-a-z0-9]*[a-z0-9])?$`
	// +operator-sdk:csv:customresourcedefinitions:type=spec,displayName="Service Name",xDescriptors={"urn:alm:descriptor:com.tectonic.ui:text"}
	Name string `json:"name"`

	// namespace of the Service. Defaults to the ServiceChecker's own namespace when empty.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +operator-sdk:csv:customresourcedefinitions:type=spec,displayName="Service Namespace",xDescriptors={"urn:alm:descriptor:io.kubernetes:Namespace"}
	Namespace string `json:"namespace,omitempty"`

	// critical marks a Service whose unreadiness puts the whole application in maintenance
	// (status.maintenance and the Maintenance condition become true).
	// +optional
	// +kubebuilder:default=false
	// +operator-sdk:csv:customresourcedefinitions:type=spec,displayName="Critical",xDescriptors={"urn:alm:descriptor:com.tectonic.ui:booleanSwitch"}
	Critical bool `json:"critical,omitempty"`

	// minReady is how many ready endpoints the Service needs to count as ready.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +operator-sdk:csv:customresourcedefinitions:type=spec,displayName="Minimum Ready Endpoints",xDescriptors={"urn:alm:descriptor:com.tectonic.ui:number"}
	MinReady int32 `json:"minReady,omitempty"`

	// gracePeriod overrides spec.gracePeriod for this Service: how long it must have been not ready, continuously,
	// before it counts for maintenance. A Go duration string from 0s to 1h, such as 30s.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) <= duration('1h')",message="must be a duration from 0s to 1h, such as 30s"
	// +operator-sdk:csv:customresourcedefinitions:type=spec,displayName="Grace Period",xDescriptors={"urn:alm:descriptor:com.tectonic.ui:text"}
	GracePeriod *metav1.Duration `json:"gracePeriod,omitempty"`
}

// ServiceCheckerSpec lists the Services whose readiness this ServiceChecker reports.
type ServiceCheckerSpec struct {
	// services to watch. The same (name, namespace) may appear only once; entries that become equal only after
	// the namespace defaults to the ServiceChecker's namespace are treated as one Service.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:XValidation:rule="self.all(s, self.exists_one(t, t.name == s.name && (has(t.__namespace__) ? t.__namespace__ : '') == (has(s.__namespace__) ? s.__namespace__ : '')))",message="each Service (name, namespace) may be listed only once"
	// +operator-sdk:csv:customresourcedefinitions:type=spec,displayName="Services"
	Services []ServiceRef `json:"services"`

	// gracePeriod is how long a critical Service must have been not ready, continuously since the operator first
	// saw it not ready, before it counts for maintenance; a shorter spell (a rolling restart) never puts the
	// ServiceChecker in maintenance. A Go duration string from 0s (count at once) to 1h, such as 30s;
	// services[].gracePeriod overrides it. Readiness itself stays truthful.
	// +optional
	// +kubebuilder:default="0s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) <= duration('1h')",message="must be a duration from 0s to 1h, such as 30s"
	// +operator-sdk:csv:customresourcedefinitions:type=spec,displayName="Grace Period",xDescriptors={"urn:alm:descriptor:com.tectonic.ui:text"}
	GracePeriod *metav1.Duration `json:"gracePeriod,omitempty"`
}

// ServiceStatus is the observed readiness of one watched Service.
type ServiceStatus struct {
	// name of the Service.
	Name string `json:"name"`

	// namespace of the Service, after defaulting.
	Namespace string `json:"namespace"`

	// ready is true when the Service has at least minReady ready endpoints.
	Ready bool `json:"ready"`

	// critical repeats spec.services[].critical for this Service.
	Critical bool `json:"critical"`

	// readyEndpoints is the number of distinct ready endpoints across the Service's EndpointSlices.
	ReadyEndpoints int32 `json:"readyEndpoints"`

	// reason is a CamelCase word for the verdict: Ready, NoReadyEndpoints, NotEnoughReadyEndpoints,
	// ServiceNotFound, ExternalNameService, or CrossNamespaceReferenceDenied (the manager runs with
	// --no-cross-namespace-refs and no ReferenceGrant in the Service's namespace allows this ServiceChecker's
	// namespace to read it; the Service is not read, readyEndpoints is 0).
	// +kubebuilder:validation:Enum=Ready;NoReadyEndpoints;NotEnoughReadyEndpoints;ServiceNotFound;ExternalNameService;CrossNamespaceReferenceDenied
	Reason string `json:"reason"`

	// message explains the verdict in a human sentence.
	// +optional
	Message string `json:"message,omitempty"`

	// maintenanceWindow is the name of the MaintenanceWindow, in the ServiceChecker's namespace, that covers this
	// entry while it is active; absent when none does. With several, the earliest started, then by name.
	// ready still says what the endpoints say.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	MaintenanceWindow string `json:"maintenanceWindow,omitempty"`

	// graceUntil is set while a critical Service is not ready within its grace period: it does not count for
	// maintenance until then (when the operator first saw it not ready plus the grace period, rounded up to the
	// second). Absent when the Service is ready, not critical, or past its grace period.
	// +optional
	GraceUntil *metav1.Time `json:"graceUntil,omitempty"`

	// lastTransitionTime is when ready last changed (or when the Service was first observed).
	LastTransitionTime metav1.Time `json:"lastTransitionTime"`
}

// ServiceCheckerStatus is the readiness of the listed Services as last observed by the controller.
type ServiceCheckerStatus struct {
	// observedGeneration is the metadata.generation this status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// serviceStatuses holds one entry per distinct listed Service, in spec order.
	// +optional
	// +listType=atomic
	// +operator-sdk:csv:customresourcedefinitions:type=status,displayName="Service Statuses"
	ServiceStatuses []ServiceStatus `json:"serviceStatuses,omitempty"`

	// readyServices is how many of the listed Services are ready.
	// +optional
	// +operator-sdk:csv:customresourcedefinitions:type=status,displayName="Ready Services",xDescriptors={"urn:alm:descriptor:text"}
	ReadyServices int32 `json:"readyServices"`

	// totalServices is how many distinct Services are listed.
	// +optional
	// +operator-sdk:csv:customresourcedefinitions:type=status,displayName="Total Services",xDescriptors={"urn:alm:descriptor:text"}
	TotalServices int32 `json:"totalServices"`

	// maintenance is true when at least one critical Service is not ready, or an active MaintenanceWindow covers
	// this ServiceChecker whole or covers a Service it marks critical.
	// +optional
	// +operator-sdk:csv:customresourcedefinitions:type=status,displayName="Maintenance",xDescriptors={"urn:alm:descriptor:text"}
	Maintenance bool `json:"maintenance"`

	// conditions: Ready (every Service ready) and Maintenance (a critical Service is not ready, or an active
	// MaintenanceWindow puts the ServiceChecker in maintenance).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +operator-sdk:csv:customresourcedefinitions:type=status,displayName="Conditions",xDescriptors={"urn:alm:descriptor:io.kubernetes.conditions"}
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ServiceChecker watches a list of Services and reports in its status whether each one is ready,
// and whether a critical one is not (maintenance).
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=svcchk
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyServices`
// +kubebuilder:printcolumn:name="Total",type=integer,JSONPath=`.status.totalServices`
// +kubebuilder:printcolumn:name="Maintenance",type=boolean,JSONPath=`.status.maintenance`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +operator-sdk:csv:customresourcedefinitions:displayName="Service Checker",resources={{Service,v1,""},{EndpointSlice,v1,""},{Event,v1,""},{ReferenceGrant,v1beta1,""}}
type ServiceChecker struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec lists the Services to watch.
	// +required
	Spec ServiceCheckerSpec `json:"spec"`

	// status is their observed readiness.
	// +optional
	Status ServiceCheckerStatus `json:"status,omitempty"`
}

// ServiceCheckerList is a list of ServiceCheckers.
// +kubebuilder:object:root=true
type ServiceCheckerList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the ServiceCheckers.
	Items []ServiceChecker `json:"items"`
}
