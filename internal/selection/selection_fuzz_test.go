package selection_test

import (
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mamrezb/maintenance-window-manager/internal/selection"
)

// FuzzParse feeds arbitrary query strings to Parse, the way the API reads r.URL.Query() (which ignores the errors of
// url.ParseQuery and keeps what it could parse). Whatever the input: no panic; an error says something; a selection
// Parse accepts is valid and survives Values() and a trip through an encoded query string unchanged; Empty agrees
// with Values; an entry matching every filter is kept.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"",
		"_=1700000000",
		"checker=shop/storefront&namespace=shop,data&service=checkout,data/db&critical=true&ready=false",
		"checkers=shop/storefront",
		"checker=shop",
		"checker=a/b&checker=a/c",
		"namespace=Shop",
		"service=a/b/c",
		"critical=yes",
		"checker=",
		"namespace=",
		"namespace=shop,,data",
		"service=%00",
		"service=..%2F..%2Fetc",
		"checker=shop/a.b.c",
		"checker=shop%2Fstorefront",
		"ready=TRUE",
		"ready=1",
		"_=1&_=2&ready=false",
		"a;b=c",
		"%zz=1",
		"namespace=" + strings.Repeat("a", 64),
		"service=" + strings.Repeat("a", 63),
		"service=a-,b",
		"&&&=&==",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // as r.URL.Query(): the error is dropped, the parsed pairs kept
		sel, err := selection.Parse(q)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("Parse(%q): an empty error message", raw)
			}
			return
		}
		if err := sel.Validate(); err != nil {
			t.Fatalf("Parse(%q) accepted %+v, which Validate rejects: %v", raw, sel, err)
		}

		values := sel.Values()
		back, err := selection.Parse(values)
		if err != nil || !reflect.DeepEqual(back, sel) {
			t.Fatalf("Parse(%q) = %+v does not round-trip through Values() %v: %+v, %v", raw, sel, values, back, err)
		}
		encoded := values.Encode()
		again, err := url.ParseQuery(encoded)
		if err != nil {
			t.Fatalf("Values().Encode() = %q does not parse: %v", encoded, err)
		}
		if back, err := selection.Parse(again); err != nil || !reflect.DeepEqual(back, sel) {
			t.Fatalf("Parse(%q) = %+v does not round-trip through the query string %q: %+v, %v", raw, sel, encoded,
				back, err)
		}
		if sel.Empty() != (len(values) == 0) {
			t.Fatalf("Parse(%q) = %+v: Empty() = %v but Values() = %v", raw, sel, sel.Empty(), values)
		}

		// A Service that matches every filter is kept; with a filter on it, the opposite value is not.
		for _, ns := range append([]string{"shop"}, sel.Namespaces...) {
			for _, svc := range append([]string{"checkout"}, sel.Services...) {
				name := svc
				if n, s, qualified := strings.Cut(svc, "/"); qualified {
					if n != ns {
						continue
					}
					name = s
				}
				critical := sel.Critical != nil && *sel.Critical
				ready := sel.Ready == nil || *sel.Ready
				matches := (len(sel.Namespaces) == 0 || slices.Contains(sel.Namespaces, ns)) &&
					(len(sel.Services) == 0 || slices.Contains(sel.Services, name) || slices.Contains(sel.Services, ns+"/"+name))
				if got := sel.Keep(ns, name, critical, ready); got != matches {
					t.Fatalf("%+v Keep(%s, %s, %v, %v) = %v, want %v", sel, ns, name, critical, ready, got, matches)
				}
				if matches && sel.Ready != nil && sel.Keep(ns, name, critical, !ready) {
					t.Fatalf("%+v keeps %s/%s with ready=%v", sel, ns, name, !ready)
				}
				if matches && sel.Critical != nil && sel.Keep(ns, name, !critical, ready) {
					t.Fatalf("%+v keeps %s/%s with critical=%v", sel, ns, name, !critical)
				}
			}
		}
	})
}
