package kubeletsim

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Kubelet runs Pods on one Node, in name only: no container starts, the status is written by hand.
type Kubelet struct {
	Client client.Client
	// Node is the name of the Node the Pods are bound to.
	Node string

	mu     sync.Mutex
	nextV4 netip.Addr
	nextV6 netip.Addr
}

// New returns a Kubelet for the named Node; Pod IPs come from 10.244.0.0/16 and fd00:10:244::/64.
func New(c client.Client, node string) *Kubelet {
	return &Kubelet{Client: c, Node: node,
		nextV4: netip.MustParseAddr("10.244.0.10"), nextV6: netip.MustParseAddr("fd00:10:244::10")}
}

// RegisterNode creates the Node object. The EndpointSlice controller skips Pods whose Node it cannot find, so it
// must exist before the first Pod.
func (k *Kubelet) RegisterNode(ctx context.Context) error {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: k.Node, Labels: map[string]string{
		corev1.LabelHostname: k.Node, corev1.LabelOSStable: "linux"}}}
	if err := k.Client.Create(ctx, node); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("register Node %s: %w", k.Node, err)
	}
	return nil
}

// PodSpec describes a Pod to run.
type PodSpec struct {
	Namespace, Name string
	Labels          map[string]string
	// DualStack gives the Pod an IPv6 address as well as an IPv4 one.
	DualStack bool
	// Ready is the initial Ready condition.
	Ready bool
}

// Run creates the Pod bound to the Node and reports it Running with its IPs and the Ready condition.
func (k *Kubelet) Run(ctx context.Context, spec PodSpec) (*corev1.Pod, error) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: spec.Namespace, Name: spec.Name, Labels: spec.Labels},
		Spec: corev1.PodSpec{
			NodeName:   k.Node,
			Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}},
		},
	}
	if err := k.Client.Create(ctx, pod); err != nil {
		return nil, fmt.Errorf("create Pod %s/%s: %w", spec.Namespace, spec.Name, err)
	}
	return pod, k.start(ctx, pod, spec.DualStack, spec.Ready)
}

// start reports a Pod Running with its IPs and the Ready condition, as a kubelet does once its containers run.
func (k *Kubelet) start(ctx context.Context, pod *corev1.Pod, dualStack, ready bool) error {
	ips := []corev1.PodIP{{IP: k.allocate(false)}}
	if dualStack {
		ips = append(ips, corev1.PodIP{IP: k.allocate(true)})
	}
	pod.Status = corev1.PodStatus{
		Phase:  corev1.PodRunning,
		HostIP: "192.168.0.10", HostIPs: []corev1.HostIP{{IP: "192.168.0.10"}},
		PodIP: ips[0].IP, PodIPs: ips,
		StartTime: &metav1.Time{Time: pod.CreationTimestamp.Time},
	}
	for _, c := range pod.Spec.Containers {
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{Name: c.Name,
			Image: c.Image, Started: ptr.To(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}})
	}
	setReady(pod, ready)
	if err := k.Client.Status().Update(ctx, pod); err != nil {
		return fmt.Errorf("report the status of Pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// Annotations a Pod may carry for Sync.
const (
	// AnnotationReady "false" starts the Pod not ready (its readiness probe failing).
	AnnotationReady = "kubeletsim.mamrezb.com/ready"
	// AnnotationDualStack "true" gives the Pod an IPv6 address as well.
	AnnotationDualStack = "kubeletsim.mamrezb.com/dual-stack"
)

// Sync acts, every interval until ctx ends, as the scheduler and kubelet of a one-Node cluster for Pods created by
// others (kubectl, manifests): it binds Pods no scheduler placed to the Node, starts bound Pods that have no IP
// yet, and confirms the deletion of Pods being deleted. Pods it has started are otherwise left alone, so
// SetReady's changes stay. Errors go to onError and the next pass tries again.
func (k *Kubelet) Sync(ctx context.Context, interval time.Duration, onError func(error)) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if err := k.syncOnce(ctx); err != nil && ctx.Err() == nil {
			onError(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (k *Kubelet) syncOnce(ctx context.Context) error {
	pods := &corev1.PodList{}
	if err := k.Client.List(ctx, pods); err != nil {
		return fmt.Errorf("list Pods: %w", err)
	}
	for i := range pods.Items {
		pod := &pods.Items[i]
		if pod.DeletionTimestamp != nil {
			// A kubelet confirms a deletion once the containers stopped; these never ran.
			if err := k.Remove(ctx, pod.Namespace, pod.Name); err != nil {
				return err
			}
			continue
		}
		if pod.Status.PodIP != "" {
			continue
		}
		if pod.Spec.NodeName == "" {
			binding := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name},
				Target: corev1.ObjectReference{Kind: "Node", Name: k.Node}}
			if err := k.Client.SubResource("binding").Create(ctx, pod, binding); err != nil {
				return fmt.Errorf("bind Pod %s/%s to Node %s: %w", pod.Namespace, pod.Name, k.Node, err)
			}
			continue // started on the next pass, once the binding shows
		}
		if pod.Spec.NodeName != k.Node {
			continue
		}
		ready := pod.Annotations[AnnotationReady] != "false"
		if err := k.start(ctx, pod, pod.Annotations[AnnotationDualStack] == "true", ready); err != nil {
			return err
		}
	}
	return nil
}

// SetReady reports the Pod's Ready condition, as a kubelet does when its readiness probe passes or fails.
func (k *Kubelet) SetReady(ctx context.Context, namespace, name string, ready bool) error {
	pod := &corev1.Pod{}
	if err := k.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, pod); err != nil {
		return fmt.Errorf("get Pod %s/%s: %w", namespace, name, err)
	}
	setReady(pod, ready)
	if err := k.Client.Status().Update(ctx, pod); err != nil {
		return fmt.Errorf("report Pod %s/%s ready=%t: %w", namespace, name, ready, err)
	}
	return nil
}

// Remove deletes the Pod at once. A normal delete would leave it terminating forever: only a kubelet confirms
// that the containers stopped.
func (k *Kubelet) Remove(ctx context.Context, namespace, name string) error {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if err := k.Client.Delete(ctx, pod, client.GracePeriodSeconds(0)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete Pod %s/%s: %w", namespace, name, err)
	}
	return nil
}

func (k *Kubelet) allocate(v6 bool) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if v6 {
		ip := k.nextV6
		k.nextV6 = ip.Next()
		return ip.String()
	}
	ip := k.nextV4
	k.nextV4 = ip.Next()
	return ip.String()
}

func setReady(pod *corev1.Pod, ready bool) {
	for i := range pod.Status.ContainerStatuses { // what kubectl's READY column counts
		pod.Status.ContainerStatuses[i].Ready = ready
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	now := metav1.Now()
	for _, t := range []corev1.PodConditionType{corev1.PodReady, corev1.ContainersReady} {
		found := false
		for i := range pod.Status.Conditions {
			if pod.Status.Conditions[i].Type == t {
				found = true
				if pod.Status.Conditions[i].Status != status {
					pod.Status.Conditions[i].Status = status
					pod.Status.Conditions[i].LastTransitionTime = now
				}
			}
		}
		if !found {
			pod.Status.Conditions = append(pod.Status.Conditions,
				corev1.PodCondition{Type: t, Status: status, LastTransitionTime: now})
		}
	}
}
