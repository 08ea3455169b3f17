package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// MaintenanceWindowPhase is where a MaintenanceWindow stands, as written to status.phase.
// +kubebuilder:validation:Enum=Scheduled;Active;Completed;Suspended;Invalid
type MaintenanceWindowPhase string

// Phases of a MaintenanceWindow.
const (
	// PhaseScheduled: the window is valid and not active now; status.next lists its coming occurrences.
	PhaseScheduled MaintenanceWindowPhase = "Scheduled"
	// PhaseActive: an occurrence is under way (status.current); the window covers its ServiceCheckers.
	PhaseActive MaintenanceWindowPhase = "Active"
	// PhaseCompleted: a one-off window that has ended. It is kept, without effect, until deleted.
	PhaseCompleted MaintenanceWindowPhase = "Completed"
	// PhaseSuspended: spec.suspend is true; the window has no effect whatever its times.
	PhaseSuspended MaintenanceWindowPhase = "Suspended"
	// PhaseInvalid: the operator cannot compute the window's occurrences (condition Valid=False says why); the
	// window has no effect.
	PhaseInvalid MaintenanceWindowPhase = "Invalid"
)

// LabelManual, with the value "true", marks a one-off MaintenanceWindow switched on by hand (`mwmctl maintenance
// on`), so that such windows can be listed with a label selector. It has no effect of its own.
const LabelManual = "maintenance.mamrezb.com/manual"

// Condition type and reasons of a MaintenanceWindow's status.conditions.
const (
	// ConditionValid is True when the operator can compute the window's occurrences: its schedule parses and
	// its time zone is known. Admission checks only the shape of the spec; this condition carries the rest.
	ConditionValid = "Valid"

	// ReasonValid is the Valid condition's reason when the window is valid.
	ReasonValid = "Valid"
	// ReasonInvalidSchedule is the Valid condition's reason when spec.schedule does not parse as a cron schedule
	// (a field out of range such as minute 61, an unknown month name); the message names spec.schedule.
	ReasonInvalidSchedule = "InvalidSchedule"
	// ReasonUnknownTimeZone is the Valid condition's reason when spec.timeZone is not an IANA time zone name the
	// operator knows; the message names spec.timeZone.
	ReasonUnknownTimeZone = "UnknownTimeZone"
)

// MaintenanceWindowSpec says when maintenance happens and what it covers.
// Exactly one of start (a one-off window) and schedule (a recurring window) is set.
// +kubebuilder:validation:XValidation:rule="has(self.start) || has(self.schedule)",message="set start (a one-off window) or schedule (a recurring window)",reason=FieldValueRequired
// +kubebuilder:validation:XValidation:rule="!(has(self.start) && has(self.schedule))",message="start and schedule are mutually exclusive: a window is one-off (start) or recurring (schedule)",fieldPath=".schedule",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!(has(self.end) && has(self.schedule))",message="end applies to a one-off window (start); a recurring window (schedule) takes duration",fieldPath=".end",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!(has(self.end) && has(self.start)) || self.end > self.start",message="end must be after start",fieldPath=".end"
// +kubebuilder:validation:XValidation:rule="!(has(self.end) && has(self.duration))",message="end and duration are mutually exclusive: give one of them",fieldPath=".duration",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.schedule) || has(self.duration)",message="a recurring window (schedule) needs a duration",fieldPath=".duration",reason=FieldValueRequired
type MaintenanceWindowSpec struct {
	// checkers are the names of the ServiceCheckers this window applies to, all in the window's namespace.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +operator-sdk:csv:customresourcedefinitions:type=spec,displayName="Service Checkers"
	Checkers []string `json:"checkers"`

	// services narrows the window to these Services of its ServiceCheckers, each given as name (a Service in the
	// window's namespace) or namespace/name. Empty: the window covers the whole ServiceCheckers, which are then in
	// maintenance while it is active; listed: only these Services' entries are covered, and a ServiceChecker is in
	// maintenance when one of them is critical for it.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=127
	// +kubebuilder:validation:items:Pattern=`^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?/)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`
	// +operator-sdk:csv:customresourcedefinitions:type=spec,displayName="Services"
	Services []string `json:"services,omitempty"`

	// title is a short headline shown to end users, such as "Database upgrade".
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +operator-sdk:csv:customresourcedefinitions:type=spec,displayName="Title",xDescriptors={"urn:alm:descriptor:com.tectonic.ui:text"}
	Title string `json:"title,omitempty"`

	// message tells end users what happens and what to expect, such as "Checkout is paused while we upgrade the
	// database."
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +operator-sdk:csv:customresourcedefinitions:type=spec,displayName="Message",xDescriptors={"urn:alm:descriptor:com.tectonic.ui:textarea"}
	Message string `json:"message,omitempty"`

	// start of a one-off window, RFC 3339 with a UTC offset ("2026-12-05T02:00:00+01:00" or
	// "2026-12-05T01:00:00Z"). With neither end nor duration the window is open-ended: active from start until
	// the window is deleted or suspended. A start in the past is accepted. Mutually exclusive with schedule.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Format=date-time
	// +kubebuilder:validation:Pattern=`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`
	// +operator-sdk:csv:customresourcedefinitions:type=spec,displayName="Start",xDescriptors={"urn:alm:descriptor:com.tectonic.ui:text"}
	Start *metav1.Time `json:"start,omitempty"`

	// end of a one-off window, RFC 3339 with a UTC offset, after start. Only with start; mutually exclusive with
	// duration.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Format=date-time
	// +kubebuilder:validation:Pattern=`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`
	// +operator-sdk:csv:customresourcedefinitions:type=spec,displayName="End",xDescriptors={"urn:alm:descriptor:com.tectonic.ui:text"}
	End *metav1.Time `json:"end,omitempty"`

	// schedule of a recurring window: a cron expression of exactly five space-separated fields (minute hour
	// day-of-month month day-of-week, such as "0 3 * * 0" for Sundays at 03:00), read in timeZone. Admission
	// checks only this shape; the operator judges the fields (minute 61 makes the window Invalid). A TZ= or
	// CRON_TZ= prefix is refused: set timeZone instead. Mutually exclusive with start; needs duration.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^\S+( +\S+){4}$`
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('TZ=') && !self.startsWith('CRON_TZ=')",message="must not carry a TZ= or CRON_TZ= prefix: set spec.timeZone instead"
	// +operator-sdk:csv:customresourcedefinitions:type=spec,displayName="Schedule",xDescriptors={"urn:alm:descriptor:com.tectonic.ui:text"}
	Schedule string `json:"schedule,omitempty"`

	// timeZone is the IANA time zone name (such as Europe/Berlin) in which schedule is read, daylight saving time
	// included. It does not apply to start and end, which carry their own UTC offset. Any string is accepted; the
	// operator makes a window with an unknown zone Invalid.
	// +optional
	// +kubebuilder:default=UTC
	// +kubebuilder:validation:MaxLength=128
	// +operator-sdk:csv:customresourcedefinitions:type=spec,displayName="Time Zone",xDescriptors={"urn:alm:descriptor:com.tectonic.ui:text"}
	TimeZone string `json:"timeZone,omitempty"`

	// duration of each occurrence, as elapsed time (a DST change inside an occurrence does not stretch or shrink
	// it): a Go duration string above 0 and at most 168h, such as 30m or 2h30m. Required with schedule; with
	// start, an alternative to end.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) > duration('0s') && duration(self) <= duration('168h')",message="must be a duration above 0 and at most 168h, such as 30m or 2h30m"
	// +operator-sdk:csv:customresourcedefinitions:type=spec,displayName="Duration",xDescriptors={"urn:alm:descriptor:com.tectonic.ui:text"}
	Duration *metav1.Duration `json:"duration,omitempty"`

	// announce is how long before an occurrence's start the window is listed as upcoming by the API: a Go
	// duration string from 0s (never announced) to 720h (30 days).
	// +optional
	// +kubebuilder:default="24h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) <= duration('720h')",message="must be a duration from 0s to 720h, such as 24h"
	// +operator-sdk:csv:customresourcedefinitions:type=spec,displayName="Announce",xDescriptors={"urn:alm:descriptor:com.tectonic.ui:text"}
	Announce *metav1.Duration `json:"announce,omitempty"`

	// suspend turns the window off without deleting it: while true it has no effect and its phase is Suspended.
	// +optional
	// +kubebuilder:default=false
	// +operator-sdk:csv:customresourcedefinitions:type=spec,displayName="Suspend",xDescriptors={"urn:alm:descriptor:com.tectonic.ui:booleanSwitch"}
	Suspend bool `json:"suspend,omitempty"`
}

// Occurrence is one occurrence of a window, in UTC.
type Occurrence struct {
	// start of the occurrence.
	// +required
	Start metav1.Time `json:"start"`

	// end of the occurrence; absent when the window is open-ended.
	// +optional
	End *metav1.Time `json:"end,omitempty"`
}

// MaintenanceWindowStatus is the window as the operator computed it. Clients read times here, never parse cron.
type MaintenanceWindowStatus struct {
	// observedGeneration is the metadata.generation this status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// phase: Scheduled, Active, Completed (a one-off window that ended), Suspended or Invalid.
	// +optional
	// +operator-sdk:csv:customresourcedefinitions:type=status,displayName="Phase",xDescriptors={"urn:alm:descriptor:io.kubernetes.phase"}
	Phase MaintenanceWindowPhase `json:"phase,omitempty"`

	// current is the occurrence under way; set only while the phase is Active.
	// +optional
	// +operator-sdk:csv:customresourcedefinitions:type=status,displayName="Current Occurrence"
	Current *Occurrence `json:"current,omitempty"`

	// next lists up to 3 occurrences that start after now, earliest first; empty when none is left (a one-off
	// window that started) or the window is Suspended or Invalid.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=3
	// +operator-sdk:csv:customresourcedefinitions:type=status,displayName="Next Occurrences"
	Next []Occurrence `json:"next,omitempty"`

	// start is the start of the occurrence in focus, for `kubectl get` (the START column): current's while
	// Active, else the first of next, else, for a Completed window, that of the occurrence that ended.
	// +optional
	// +operator-sdk:csv:customresourcedefinitions:type=status,displayName="Start",xDescriptors={"urn:alm:descriptor:text"}
	Start *metav1.Time `json:"start,omitempty"`

	// end is the end of the occurrence in focus (see start), for `kubectl get` (the END column); absent when that
	// occurrence is open-ended.
	// +optional
	// +operator-sdk:csv:customresourcedefinitions:type=status,displayName="End",xDescriptors={"urn:alm:descriptor:text"}
	End *metav1.Time `json:"end,omitempty"`

	// conditions: Valid (False with reason InvalidSchedule or UnknownTimeZone and a message naming the field).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +operator-sdk:csv:customresourcedefinitions:type=status,displayName="Conditions",xDescriptors={"urn:alm:descriptor:io.kubernetes.conditions"}
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// MaintenanceWindow is planned maintenance, one-off or recurring in a time zone, for some ServiceCheckers of its
// namespace (or some of their Services): while it is active they are in maintenance, and before it the API lists
// it as upcoming.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=mwin
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Start",type=string,JSONPath=`.status.start`,description="start of the current occurrence, else of the next"
// +kubebuilder:printcolumn:name="End",type=string,JSONPath=`.status.end`,description="end of the current occurrence, else of the next"
// +kubebuilder:printcolumn:name="Checkers",type=string,JSONPath=`.spec.checkers`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Schedule",type=string,JSONPath=`.spec.schedule`,priority=1
// +kubebuilder:printcolumn:name="Time Zone",type=string,JSONPath=`.spec.timeZone`,priority=1
// +kubebuilder:printcolumn:name="Title",type=string,JSONPath=`.spec.title`,priority=1
// +operator-sdk:csv:customresourcedefinitions:displayName="Maintenance Window",resources={{ServiceChecker,v1alpha1,""},{Event,v1,""}}
type MaintenanceWindow struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says when the maintenance happens and what it covers.
	// +required
	Spec MaintenanceWindowSpec `json:"spec"`

	// status is the window's phase and occurrences as the operator computed them.
	// +optional
	Status MaintenanceWindowStatus `json:"status,omitempty"`
}

// MaintenanceWindowList is a list of MaintenanceWindows.
// +kubebuilder:object:root=true
type MaintenanceWindowList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the MaintenanceWindows.
	Items []MaintenanceWindow `json:"items"`
}

func init() {
	SchemeBuilder.Register(func(scheme *runtime.Scheme) error {
		scheme.AddKnownTypes(GroupVersion, &MaintenanceWindow{}, &MaintenanceWindowList{})
		return nil
	})
}
