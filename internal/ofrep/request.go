package ofrep

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mamrezb/maintenance-window-manager/internal/selection"
)

// ContextChecker is the evaluation-context attribute naming the ServiceChecker ("<namespace>/<name>") whose verdicts
// the flags answer, as ?checker= does for the API; without it the flags are global.
const ContextChecker = "checker"

// Query parameters of the bulk evaluation. The OFREP OpenAPI document names the event-triggered re-fetch metadata
// flagConfigEtag and flagConfigLastModified (what @openfeature/ofrep-web-provider sends); ADR 0008's draft named
// them sseEtag and sseLastModified, which are accepted alike.
const (
	ParamConfigETag         = "flagConfigEtag"
	ParamConfigLastModified = "flagConfigLastModified"
	ParamSSEETag            = "sseEtag"
	ParamSSELastModified    = "sseLastModified"
	paramCacheBuster        = selection.ParamCacheBuster
	maxBody                 = 64 << 10
	maxBodyText             = "64 KiB"
)

// evaluationParams are the query parameters both evaluations accept.
var evaluationParams = []string{ParamConfigETag, ParamConfigLastModified, ParamSSEETag, ParamSSELastModified, paramCacheBuster}

// failure is an OFREP error answer before any flag is evaluated.
type failure struct {
	code, details string
}

// refetch is the re-fetch metadata of a request triggered by a refetchEvaluation event.
type refetch struct {
	// ETag is the entity tag the event announced; empty when the request was not triggered by an event.
	ETag string
	// LastModified is the time of the announced data (the event's lastModified), nil when not sent.
	LastModified *time.Time
}

// parseParams checks the query of an evaluation. Parameters it does not know are ignored: the web provider's query
// option adds the application's own to every request. Only checker is refused, since it belongs in the evaluation
// context and would otherwise be silently ignored, answering the global flags to a scoped question.
func parseParams(q url.Values) (refetch, *failure) {
	var r refetch
	for param, values := range q {
		if param == ContextChecker {
			return r, &failure{CodeParseError, `query parameter checker is not read here; give the ServiceChecker ` +
				`as the evaluation context's "checker" attribute`}
		}
		if !slices.Contains(evaluationParams, param) {
			continue
		}
		if len(values) != 1 && param != paramCacheBuster {
			return r, &failure{CodeParseError, fmt.Sprintf("query parameter %s is given %d times; give it once",
				param, len(values))}
		}
	}
	for _, p := range []string{ParamConfigETag, ParamSSEETag} {
		if v := q.Get(p); v != "" {
			r.ETag = v
		}
	}
	for _, p := range []string{ParamConfigLastModified, ParamSSELastModified} {
		v, ok := q[p]
		if !ok {
			continue
		}
		t, valid := parseLastModified(v[0])
		if !valid {
			return r, &failure{CodeParseError, fmt.Sprintf("query parameter %s: %q is neither Unix seconds nor an "+
				"RFC 3339 time; send the event's lastModified as it came", p, v[0])}
		}
		r.LastModified = &t
	}
	return r, nil
}

func parseLastModified(v string) (time.Time, bool) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), n >= 0
	}
	t, err := time.Parse(time.RFC3339, v)
	return t, err == nil
}

// parseContext reads the ServiceChecker of an evaluation request {"context": {...}}. A missing or null context is
// an empty one (the SDKs send {} without a context); the other attributes, targetingKey among them, do not change
// these flags and are ignored.
func parseContext(body []byte) (string, *failure) {
	if len(bytes.TrimSpace(body)) == 0 {
		return "", &failure{CodeParseError, `the request body is empty; send a JSON object such as ` +
			`{"context": {"checker": "<namespace>/<name>"}} with Content-Type: application/json`}
	}
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		return "", &failure{CodeParseError, "the request body is not a JSON object: " + err.Error() +
			`; send {"context": {...}}`}
	}
	raw, ok := req["context"]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var ctx map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ctx); err != nil {
		return "", &failure{CodeInvalidContext, "the evaluation context is not a JSON object; send " +
			`{"context": {"checker": "<namespace>/<name>"}}, or {} for the global flags`}
	}
	rawChecker, ok := ctx[ContextChecker]
	if !ok {
		return "", nil
	}
	var checker string
	if err := json.Unmarshal(rawChecker, &checker); err != nil {
		return "", &failure{CodeInvalidContext, `evaluation context attribute checker is not a string; give ` +
			`"<namespace>/<name>" of a ServiceChecker, or leave it out for the global flags`}
	}
	if err := validChecker(checker); err != nil {
		return "", err
	}
	return checker, nil
}

func validChecker(checker string) *failure {
	if checker == "" {
		// An unset template variable must not turn into the whole cluster's answer.
		return &failure{CodeInvalidContext, `evaluation context attribute checker is empty; give ` +
			`"<namespace>/<name>" of a ServiceChecker, or leave the attribute out for the global flags`}
	}
	if !selection.IsCheckerKey(checker) {
		return &failure{CodeInvalidContext, fmt.Sprintf(`evaluation context attribute checker: %q is not `+
			`"<namespace>/<name>" of a ServiceChecker`, checker)}
	}
	return nil
}

// CheckPathPrefix tells whether p can be a PathPrefix: empty, or a path such as /mwm without query, fragment, ".."
// or spaces.
func CheckPathPrefix(p string) error {
	if p != "" && streamPrefix(p) == "" {
		return fmt.Errorf("%q is not a path prefix such as /mwm (a path starting with one /, without .., ?, # or "+
			"spaces)", p)
	}
	return nil
}

// streamPrefix is the path prefix a proxy in front of the API announced in X-Forwarded-Prefix ("/mwm"), so that the
// event stream advertised to a browser goes through it too; "" when absent or not a plain path.
func streamPrefix(header string) string {
	p := strings.TrimRight(header, "/")
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, "..") ||
		strings.ContainsAny(p, "?#\\ \t\r\n\"") {
		return ""
	}
	return p
}
