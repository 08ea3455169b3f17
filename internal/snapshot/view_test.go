package snapshot

import (
	"errors"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/selection"
)

// The scenario of issue #14: shop/storefront judges checkout ready (critical, minReady 1). Another team lists
// shop/checkout with minReady 5 (not ready, critical) and a third creates a ServiceChecker without status yet.
// storefront's answer must stay storefront's own.
func TestAnotherTeamsCheckerCannotPutMyViewInMaintenance(t *testing.T) {
	storefront := checker("shop", "storefront",
		status("shop", "checkout", true, true, 1, v1alpha1.ReasonReady, t0),
		status("shop", "search", false, false, 0, v1alpha1.ReasonNoReadyEndpoints, t0))
	strict := checker("other", "strict",
		status("shop", "checkout", false, true, 1, v1alpha1.ReasonNotEnoughReadyEndpoints, t0))
	fresh := checker("other", "fresh")
	fresh.Generation = 1
	fresh.Spec.Services = []v1alpha1.ServiceRef{{Name: "checkout", Namespace: "shop", Critical: true}}
	snap, err := Build([]v1alpha1.ServiceChecker{storefront, strict, fresh}, 1, t0)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name             string
		sel              selection.Selection
		maintenance      bool
		criticalNotReady []string
		services, ready  int
	}{
		{name: "checker=shop/storefront: its own verdicts only", sel: selection.Selection{Checker: "shop/storefront"},
			criticalNotReady: []string{}, services: 2, ready: 1},
		{name: "checker=other/strict", sel: selection.Selection{Checker: "other/strict"}, maintenance: true,
			criticalNotReady: []string{"shop/checkout"}, services: 1},
		{name: "checker=other/fresh: Pending is not ready", sel: selection.Selection{Checker: "other/fresh"},
			maintenance: true, criticalNotReady: []string{"shop/checkout"}, services: 1},
		{name: "namespace=shop is not a tenancy boundary: every checker's verdicts on shop's Services count",
			sel: selection.Selection{Namespaces: []string{"shop"}}, maintenance: true,
			criticalNotReady: []string{"shop/checkout"}, services: 2},
		{name: "no filter: every pair", sel: selection.Selection{}, maintenance: true,
			criticalNotReady: []string{"shop/checkout"}, services: 2},
		{name: "checker and critical", sel: selection.Selection{Checker: "shop/storefront", Critical: ptr.To(true)},
			criticalNotReady: []string{}, services: 1, ready: 1},
		{name: "checker and ready=false", sel: selection.Selection{Checker: "shop/storefront", Ready: ptr.To(false)},
			criticalNotReady: []string{}, services: 1},
		{name: "service by name", sel: selection.Selection{Services: []string{"search"}},
			criticalNotReady: []string{}, services: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			view, err := snap.Select(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			got := Summarize(view.Entries, t0)
			if got.Maintenance != tt.maintenance || !equal(got.CriticalNotReady, tt.criticalNotReady) ||
				got.Services != tt.services || got.Ready != tt.ready {
				t.Errorf("summary = %+v; want maintenance %v, criticalNotReady %v, services %d, ready %d", got,
					tt.maintenance, tt.criticalNotReady, tt.services, tt.ready)
			}
			if len(view.EntryJSON) != len(view.Entries) {
				t.Errorf("%d encodings for %d entries", len(view.EntryJSON), len(view.Entries))
			}
		})
	}

	view, _ := snap.Select(selection.Selection{Checker: "shop/storefront"})
	if c := view.Entries[0]; c.Key() != "shop/checkout" || !c.Ready || !equal(c.Checkers, []string{"shop/storefront"}) {
		t.Errorf("storefront's checkout entry = %+v, want storefront's own (ready, checkers [shop/storefront])", c)
	}
	_, err = snap.Select(selection.Selection{Checker: "shop/storefrnt"})
	var notFound *CheckerNotFoundError
	if !errors.As(err, &notFound) {
		t.Errorf("a ServiceChecker that does not exist gave %v, want CheckerNotFoundError (never an all clear)", err)
	}
}

func TestMergedEntryReusesThePartsEncodingOnlyWhenAlone(t *testing.T) {
	a := checker("x", "a", status("x", "only-a", true, false, 1, v1alpha1.ReasonReady, t0),
		status("x", "both", true, true, 2, v1alpha1.ReasonReady, t0))
	b := checker("x", "b", status("x", "both", false, false, 0, v1alpha1.ReasonNoReadyEndpoints, t0.Add(time.Minute)))
	snap, _ := Build([]v1alpha1.ServiceChecker{a, b}, 1, t0)
	all := snap.All()
	pa, _ := snap.Part("x/a")
	i, _ := all.Lookup("x", "only-a")
	j, _ := pa.index["x/only-a"]
	if &all.EntryJSON[i][0] != &pa.EntryJSON[j][0] {
		t.Error("a Service listed by one ServiceChecker was encoded again for the merged list")
	}
	k, _ := all.Lookup("x", "both")
	if got := string(all.EntryJSON[k]); got != string(mustMarshal(&all.Entries[k])) {
		t.Errorf("merged entry JSON %s does not match the merged entry", got)
	}
	if e := all.Entries[k]; e.Ready || !e.Critical || e.Maintenance || !equal(e.Checkers, []string{"x/a", "x/b"}) {
		t.Errorf("merged x/both = %+v", e)
	}
	if pa.Entries[0].Checkers[0] != "x/a" || len(pa.Entries[0].Checkers) != 1 {
		t.Error("merging modified a part")
	}
}

func TestPartSameAs(t *testing.T) {
	one := checker("x", "a", status("x", "s", true, false, 1, v1alpha1.ReasonReady, t0))
	same := checker("x", "a", status("x", "s", true, false, 1, v1alpha1.ReasonReady, t0))
	other := checker("x", "a", status("x", "s", true, false, 2, v1alpha1.ReasonReady, t0))
	p1, _ := NewPart(&one)
	p2, _ := NewPart(&same)
	p3, _ := NewPart(&other)
	if !p1.SameAs(p2) || p1.SameAs(p3) {
		t.Error("SameAs must compare the encoded verdicts")
	}
}

// TestSelectEncoded: every caller asking for everything or for one ServiceChecker gets the one encoding of this
// snapshot; other filters are encoded per call. Either way, the bytes Select would build.
func TestSelectEncoded(t *testing.T) {
	snap, err := Build([]v1alpha1.ServiceChecker{
		checker("shop", "storefront", status("shop", "checkout", true, true, 1, v1alpha1.ReasonReady, t0),
			status("shop", "search", false, false, 0, v1alpha1.ReasonNoReadyEndpoints, t0)),
		checker("other", "strict", status("shop", "checkout", false, true, 1, v1alpha1.ReasonNotEnoughReadyEndpoints, t0)),
	}, 1, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sel    selection.Selection
		shared bool
	}{
		{selection.Selection{}, true},
		{selection.Selection{Checker: "shop/storefront"}, true},
		{selection.Selection{Checker: "shop/storefront", Ready: ptr.To(false)}, false},
		{selection.Selection{Namespaces: []string{"shop"}, Critical: ptr.To(true)}, false},
	} {
		first, err := snap.SelectEncoded(tc.sel)
		if err != nil {
			t.Fatalf("SelectEncoded(%+v): %v", tc.sel, err)
		}
		view, _ := snap.Select(tc.sel)
		if want := view.JSON(); string(first.JSON) != string(want) {
			t.Errorf("SelectEncoded(%+v) = %s, want %s", tc.sel, first.JSON, want)
		}
		again, _ := snap.SelectEncoded(tc.sel)
		if shared := again == first; shared != tc.shared {
			t.Errorf("SelectEncoded(%+v) shared between calls: %v, want %v", tc.sel, shared, tc.shared)
		}
	}
	if _, err := snap.SelectEncoded(selection.Selection{Checker: "shop/storefrnt"}); !errors.As(err, new(*CheckerNotFoundError)) {
		t.Errorf("SelectEncoded of an unknown checker: err = %v, want a CheckerNotFoundError", err)
	}
}
