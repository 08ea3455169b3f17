package ofrep

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// FuzzEvaluation sends arbitrary bodies, queries and flag keys to both evaluations. Whatever the input: no panic;
// 200, 400 or 404 only; every body is one of OFREP's documents, with its reasons and error codes from OFREP's
// enums; a 200 bulk answer has every flag once, in order, and an ETag.
func FuzzEvaluation(f *testing.F) {
	f.Add(`{}`, "", "maintenance")
	f.Add(`{"context":{"targetingKey":"u","checker":"shop/storefront"}}`, "flagConfigEtag=W/%22x%22", "maintenance-message")
	f.Add(`{"context":{"checker":"shop/gone"}}`, "sseLastModified=2026-02-20T21:28:18Z", "maintenance-upcoming")
	f.Add(`{"context":{"checker":null}}`, "checker=shop/storefront", "x")
	f.Add(`{"context":[1,2]}`, "_=1&_=2", "")
	f.Add(`{"context":{"checker":"a/b/c"}}`, "flagConfigLastModified=-5", "maintenance")
	f.Add("\x00", "%zz", "maintenance%2F")
	f.Add(`{"context":{"checker":"shop/healthy"}}`, "flagConfigEtag=a&flagConfigEtag=b", "maintenance")
	f.Fuzz(func(t *testing.T, body, rawQuery, key string) {
		s, _ := newService(t)
		s.RefetchWait = 1 // a tag never reached must not slow the fuzzer
		for _, single := range []bool{false, true} {
			r := httptest.NewRequest(http.MethodPost, RouteBulk, strings.NewReader(body))
			r.URL.RawQuery = rawQuery
			var a Answer
			if single {
				a = s.Flag(r, key)
			} else {
				a = s.Bulk(r)
			}
			what := map[bool]string{false: "bulk", true: "flag " + key}[single] + " ?" + rawQuery + " " + body
			checkAnswer(t, what, a, single, key)
		}
	})
}

var (
	reasons    = []string{ReasonStatic, ReasonTargetingMatch}
	errorCodes = []string{CodeFlagNotFound, CodeInvalidContext, CodeParseError}
)

func checkAnswer(t *testing.T, what string, a Answer, single bool, key string) {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(a.Body, &doc); err != nil {
		t.Fatalf("%s: %d with a body that is not a JSON object: %q", what, a.Status, a.Body)
	}
	switch {
	case a.Status == http.StatusOK && single:
		checkEvaluation(t, what, doc, key)
	case a.Status == http.StatusOK:
		var flags []map[string]json.RawMessage
		if err := json.Unmarshal(doc["flags"], &flags); err != nil || len(flags) != len(Flags) || a.ETag == "" {
			t.Fatalf("%s: bulk 200 %s (ETag %q)", what, a.Body, a.ETag)
		}
		for i, f := range flags {
			checkEvaluation(t, what, f, Flags[i])
		}
	case a.Status == http.StatusBadRequest || a.Status == http.StatusNotFound:
		var fail struct{ Key, ErrorCode, ErrorDetails string }
		_ = json.Unmarshal(a.Body, &fail)
		if !slices.Contains(errorCodes, fail.ErrorCode) || fail.ErrorDetails == "" ||
			(a.Status == http.StatusNotFound) != (fail.ErrorCode == CodeFlagNotFound) || single && fail.Key != key {
			t.Fatalf("%s: %d %s", what, a.Status, a.Body)
		}
	default:
		t.Fatalf("%s: status %d", what, a.Status)
	}
}

// checkEvaluation checks one evaluationSuccess or evaluationFailure of flag key.
func checkEvaluation(t *testing.T, what string, doc map[string]json.RawMessage, key string) {
	t.Helper()
	var e struct {
		Key, Reason, Variant, ErrorCode, ErrorDetails string
		Value                                         any
		Metadata                                      map[string]any
	}
	raw, _ := json.Marshal(doc)
	if err := json.Unmarshal(raw, &e); err != nil || e.Key != key {
		t.Fatalf("%s: evaluation %s of %s", what, raw, key)
	}
	if _, stale := e.Metadata["stale"].(bool); !stale {
		t.Fatalf("%s: metadata without stale: %s", what, raw)
	}
	for k, v := range e.Metadata {
		switch v.(type) {
		case bool, string, float64:
		default:
			t.Fatalf("%s: metadata %s is not flat: %s", what, k, raw)
		}
	}
	if e.ErrorCode != "" {
		if !slices.Contains(errorCodes, e.ErrorCode) || e.Value != nil || e.ErrorDetails == "" {
			t.Fatalf("%s: failure %s", what, raw)
		}
		return
	}
	if !slices.Contains(reasons, e.Reason) || e.Value == nil || e.Variant == "" {
		t.Fatalf("%s: success %s", what, raw)
	}
}
