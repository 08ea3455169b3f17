package manual

import (
	"errors"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
)

var now = time.Date(2026, 11, 25, 12, 0, 30, 700_000_000, time.UTC)

func TestNewWindow(t *testing.T) {
	w := NewWindow(Request{Namespace: "shop", Checker: "storefront", For: 2 * time.Hour, Services: []string{"checkout"},
		Title: "Database upgrade", Message: "Back soon."}, now)
	start := time.Date(2026, 11, 25, 12, 0, 30, 0, time.UTC)
	if w.GenerateName != "storefront-manual-" || w.Name != "" || w.Namespace != "shop" ||
		w.Labels[v1alpha1.LabelManual] != "true" {
		t.Errorf("metadata = %+v", w.ObjectMeta)
	}
	if !w.Spec.Start.Time.Equal(start) || !w.Spec.End.Time.Equal(start.Add(2*time.Hour)) || w.Spec.Duration != nil ||
		w.Spec.Schedule != "" {
		t.Errorf("times = start %v end %v duration %v, want start at the second, end 2h later, no duration",
			w.Spec.Start, w.Spec.End, w.Spec.Duration)
	}
	if strings.Join(w.Spec.Checkers, ",") != "storefront" || strings.Join(w.Spec.Services, ",") != "checkout" ||
		w.Spec.Title != "Database upgrade" || w.Spec.Message != "Back soon." {
		t.Errorf("spec = %+v", w.Spec)
	}
	if st := Evaluate(&w.Spec, now); st.Phase != "Active" {
		t.Errorf("the new window is %s at now, want Active", st.Phase)
	}
	open := NewWindow(Request{Namespace: "shop", Checker: "storefront"}, now)
	if open.Spec.End != nil || open.Spec.Duration != nil {
		t.Errorf("without --for: end %v duration %v, want an open-ended window", open.Spec.End, open.Spec.Duration)
	}
}

func TestValidate(t *testing.T) {
	ok := Request{Namespace: "shop", Checker: "storefront", For: time.Hour, Services: []string{"checkout", "db/postgres"}}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(%+v) = %v", ok, err)
	}
	for _, tt := range []struct {
		change func(*Request)
		want   string
	}{
		{func(r *Request) { r.Checker = "Store_Front" }, `"Store_Front" is not NAME of a ServiceChecker`},
		{func(r *Request) { r.For = -time.Minute }, "--for -1m0s must be at least 1s"},
		{func(r *Request) { r.For = 500 * time.Millisecond }, "--for 500ms must be at least 1s"},
		{func(r *Request) { r.Services = []string{"Check_Out"} }, `--services "Check_Out"`},
		{func(r *Request) { r.Title = strings.Repeat("é", 129) }, "--title has 129 characters, at most 128"},
		{func(r *Request) { r.Message = strings.Repeat("x", 2049) }, "--message has 2049 characters"},
	} {
		r := ok
		tt.change(&r)
		if err := r.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate = %v, want %q", err, tt.want)
		}
	}
}

func at(t time.Time) *metav1.Time { return ptr.To(metav1.NewTime(t)) }

func TestPlanOff(t *testing.T) {
	oneOff := func(name string, start time.Time, end *time.Time, checkers ...string) v1alpha1.MaintenanceWindow {
		w := v1alpha1.MaintenanceWindow{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name},
			Spec: v1alpha1.MaintenanceWindowSpec{Checkers: checkers, Start: at(start)}}
		if end != nil {
			w.Spec.End = at(*end)
		}
		return w
	}
	second := now.Truncate(time.Second)
	hourAgo, inAnHour := second.Add(-time.Hour), second.Add(time.Hour)
	withDuration := oneOff("with-duration", hourAgo, nil, "storefront")
	withDuration.Spec.Duration = &metav1.Duration{Duration: 2 * time.Hour}
	suspended := oneOff("suspended", hourAgo, nil, "storefront")
	suspended.Spec.Suspend = true
	// The status says Active, but the spec ended it a minute ago: the spec, evaluated now, decides.
	lagging := oneOff("lagging", hourAgo, ptr.To(second.Add(-time.Minute)), "storefront")
	lagging.Status.Phase = v1alpha1.PhaseActive
	weekly := v1alpha1.MaintenanceWindow{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "weekly"},
		Spec: v1alpha1.MaintenanceWindowSpec{Checkers: []string{"storefront"}, Schedule: "0 12 * * 3",
			TimeZone: "UTC", Duration: &metav1.Duration{Duration: 30 * time.Minute}}}
	nightly := weekly
	nightly.Name, nightly.Spec.Schedule = "nightly", "0 2 * * *"
	badZone := weekly
	badZone.Name, badZone.Spec.TimeZone = "bad-zone", "Mars/Olympus"

	plan := PlanOff([]v1alpha1.MaintenanceWindow{
		oneOff("open", hourAgo, nil, "storefront"),
		oneOff("until-later", hourAgo, &inAnHour, "admin", "storefront"),
		withDuration,
		oneOff("just-started", second, nil, "storefront"),
		oneOff("future", inAnHour, nil, "storefront"),
		oneOff("other-checker", hourAgo, nil, "admin"),
		suspended, lagging, weekly, nightly, badZone,
	}, "storefront", now)

	ended := make([]string, 0, len(plan.End))
	for _, e := range plan.End {
		ended = append(ended, e.Window.Name+"@"+e.End.Format("15:04:05"))
	}
	if got, want := strings.Join(ended, " "),
		"just-started@12:00:31 open@12:00:30 until-later@12:00:30 with-duration@12:00:30"; got != want {
		t.Errorf("ends %s, want %s (now to the second, at least a second after start)", got, want)
	}
	if len(plan.Keep) != 1 || plan.Keep[0].Window.Name != "weekly" ||
		!plan.Keep[0].Current.End.Equal(time.Date(2026, 11, 25, 12, 30, 0, 0, time.UTC)) {
		t.Errorf("keeps %+v, want the active recurring window weekly until 12:30", plan.Keep)
	}
	if got := SuspendCommand(&weekly); got != `kubectl patch mwin weekly -n shop --type merge -p '{"spec":{"suspend":true}}'` {
		t.Errorf("SuspendCommand = %s", got)
	}
}

func TestExplain(t *testing.T) {
	s := &Switch{host: "https://127.0.0.1:6443"}
	gr := schema.GroupResource{Group: v1alpha1.GroupVersion.Group, Resource: "maintenancewindows"}
	for _, tt := range []struct {
		err  error
		want string
	}{
		{&meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: gr.Group, Kind: "MaintenanceWindow"}},
			"the MaintenanceWindow CRD (maintenancewindows.maintenance.mamrezb.com) is not installed in the cluster at " +
				"https://127.0.0.1:6443"},
		{apierrors.NewForbidden(gr, "", errors.New(`User "nobody" cannot create resource`)),
			`the cluster at https://127.0.0.1:6443 denied create maintenancewindows.maintenance.mamrezb.com in namespace ` +
				`shop (maintenancewindows.maintenance.mamrezb.com is forbidden: User "nobody" cannot create resource); ` +
				"ask an admin to bind the maintenance-window-manager-maintenancewindow-editor-role ClusterRole to you in " +
				"namespace shop"},
		{apierrors.NewUnauthorized("expired"), "did not accept your credentials (401)"},
		{apierrors.NewInvalid(schema.GroupKind{Group: gr.Group, Kind: "MaintenanceWindow"}, "x",
			field.ErrorList{field.Invalid(field.NewPath("spec", "end"), "", "end must be after start")}),
			"the cluster at https://127.0.0.1:6443 rejected the MaintenanceWindow: MaintenanceWindow.maintenance.mamrezb.com " +
				`"x" is invalid: spec.end: Invalid value: "": end must be after start`},
	} {
		if got := s.explain(tt.err, "create", windowsResource, "shop").Error(); !strings.Contains(got, tt.want) {
			t.Errorf("explain(%v) =\n%s\nwant\n%s", tt.err, got, tt.want)
		}
	}
}
