package selection

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"k8s.io/utils/ptr"
)

func TestParse(t *testing.T) {
	tests := []struct {
		query   string
		want    Selection
		wantErr string
	}{
		{query: "", want: Selection{}},
		{query: "_=1700000000", want: Selection{}},
		{query: "checker=shop/storefront&namespace=shop,data&service=checkout,data/db&critical=true&ready=false",
			want: Selection{Checker: "shop/storefront", Namespaces: []string{"shop", "data"},
				Services: []string{"checkout", "data/db"}, Critical: ptr.To(true), Ready: ptr.To(false)}},
		{query: "checkers=shop/storefront", wantErr: `unknown parameter "checkers"; the accepted ones are checker, namespace, service, critical, ready`},
		{query: "checker=shop", wantErr: "parameter checker"},
		{query: "checker=", wantErr: "parameter checker is empty"},
		{query: "checker=&_=1", wantErr: "parameter checker is empty"},
		{query: "checker=a/b&checker=a/c", wantErr: "given 2 times"},
		{query: "namespace=Shop", wantErr: "parameter namespace"},
		{query: "service=a/b/c", wantErr: "parameter service"},
		{query: "critical=yes", wantErr: "parameter critical"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(q)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want one containing %q", tt.query, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tt.query, got, err, tt.want)
			}
			back, err := Parse(got.Values())
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Errorf("Values() does not round-trip: %q -> %+v, %v", got.Values().Encode(), back, err)
			}
		})
	}
}

func TestKeep(t *testing.T) {
	sel := Selection{Namespaces: []string{"shop"}, Services: []string{"checkout", "data/db"}}
	if !sel.Keep("shop", "checkout", false, true) || sel.Keep("data", "checkout", false, true) ||
		sel.Keep("shop", "search", false, true) {
		t.Error("namespace and service filters must both apply")
	}
	if (Selection{Critical: ptr.To(true)}).Keep("a", "b", false, true) ||
		(Selection{Ready: ptr.To(false)}).Keep("a", "b", false, true) {
		t.Error("critical and ready filters must apply")
	}
	if !(Selection{}).Empty() || (Selection{Ready: ptr.To(true)}).Empty() {
		t.Error("Empty is wrong")
	}
}
