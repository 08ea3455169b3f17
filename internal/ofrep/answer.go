package ofrep

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"k8s.io/utils/clock"

	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// Routes, as docs/api.md and docs/openapi.yaml list them. The evaluations take POST; the event stream GET.
const (
	RouteBulk   = "/ofrep/v1/evaluate/flags"
	RouteFlag   = "/ofrep/v1/evaluate/flags/{key}"
	RouteEvents = "/ofrep/v1/events"
)

const flagPrefix = RouteBulk + "/"

// Match maps a path to its OFREP route; for a single flag it also returns the key.
func Match(path string) (route, key string, ok bool) {
	switch path {
	case RouteBulk, RouteEvents:
		return path, "", true
	}
	key, found := strings.CutPrefix(path, flagPrefix)
	if !found || key == "" || strings.Contains(key, "/") {
		return "", "", false
	}
	return RouteFlag, key, true
}

// Answer is what to send: a status, a JSON body and, for a bulk evaluation, its entity tag (the sender answers 304
// when If-None-Match matches it).
type Answer struct {
	Status int
	Body   []byte
	ETag   string
	// RetryAfter is set with 503 while the replica has not synced.
	RetryAfter string
}

// Service answers the OFREP routes from the snapshots of a store.
type Service struct {
	Store *snapshot.Store
	Clock clock.PassiveClock
	// RefetchWait bounds how long a re-fetch triggered by an event waits for this replica to hold the data the
	// event announced (flagConfigEtag): the stream and the re-fetch may reach different replicas, one a moment
	// behind the other. Zero: 2 seconds.
	RefetchWait time.Duration
	// PathPrefix is where clients reach the API ("/mwm", the manager's --api-path-prefix), for the event stream a
	// bulk answer advertises when the proxy in front sends no X-Forwarded-Prefix: the web provider resolves the
	// stream's path against its baseUrl's origin only, so a stream advertised without the prefix is a 404.
	PathPrefix string
}

// Bulk answers POST /ofrep/v1/evaluate/flags: every flag, the event stream to watch, and an entity tag.
func (s *Service) Bulk(r *http.Request) Answer {
	announced, fail := parseParams(r.URL.Query())
	if fail != nil {
		return failed(http.StatusBadRequest, "", fail)
	}
	if s.Store.Current() == nil {
		return notSynced()
	}
	body, fail := readBody(r)
	if fail != nil {
		return failed(http.StatusBadRequest, "", fail)
	}
	checker, fail := parseContext(body)
	if fail != nil {
		return failed(http.StatusBadRequest, "", fail)
	}
	prefix := s.prefix(r)
	ans := s.bulk(checker, prefix)
	if announced.ETag == "" || sameTag(announced.ETag, ans.ETag) || s.ahead(announced) {
		return ans
	}
	// Re-fetched on an event from another replica that is ahead of this one: wait for this one to catch up, within
	// bounds, then answer what it has.
	ctx, cancel := context.WithTimeout(r.Context(), s.refetchWait())
	defer cancel()
	for {
		changed := s.Store.Changed()
		if ans = s.bulk(checker, prefix); sameTag(announced.ETag, ans.ETag) || s.ahead(announced) {
			return ans
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ans
		}
	}
}

// ahead tells whether this replica's snapshot was built in a later second than the data the event announced: it
// holds that change already (and more), so waiting for the announced tag would wait for nothing. The same second is
// not enough: a replica a change behind may have built its last snapshot in that second too, so it waits for the tag.
func (s *Service) ahead(announced refetch) bool {
	snap := s.Store.Current()
	return announced.LastModified != nil && snap != nil &&
		snap.Updated.Truncate(time.Second).After(*announced.LastModified)
}

// prefix is the path prefix of the advertised event stream: the proxy's X-Forwarded-Prefix, else PathPrefix.
func (s *Service) prefix(r *http.Request) string {
	if p := streamPrefix(r.Header.Get("X-Forwarded-Prefix")); p != "" {
		return p
	}
	return streamPrefix(s.PathPrefix)
}

func (s *Service) refetchWait() time.Duration {
	if s.RefetchWait > 0 {
		return s.RefetchWait
	}
	return 2 * time.Second
}

// bulk evaluates every flag on the current snapshot.
func (s *Service) bulk(checker, prefix string) Answer {
	body := bulkBody(s.Store.Current(), checker, s.Store.Freshness(), s.Clock.Now(), prefix)
	return Answer{Status: http.StatusOK, Body: body, ETag: tagOf(body)}
}

// Flag answers POST /ofrep/v1/evaluate/flags/{key}: one flag, 200, or the flag's failure with 400 or 404.
func (s *Service) Flag(r *http.Request, key string) Answer {
	// The re-fetch metadata is accepted here too (a provider may send it on any evaluation), but only the bulk
	// answer has the entity tag it names.
	if _, fail := parseParams(r.URL.Query()); fail != nil {
		return failed(http.StatusBadRequest, key, fail)
	}
	if !slices.Contains(Flags, key) {
		return failed(http.StatusNotFound, key, &failure{CodeFlagNotFound, fmt.Sprintf("flag %q does not exist; "+
			"the flags are %s", key, strings.Join(Flags, ", "))})
	}
	snap := s.Store.Current()
	if snap == nil {
		return notSynced()
	}
	body, fail := readBody(r)
	if fail != nil {
		return failed(http.StatusBadRequest, key, fail)
	}
	checker, fail := parseContext(body)
	if fail != nil {
		return failed(http.StatusBadRequest, key, fail)
	}
	for _, res := range Evaluate(snap, checker, s.Store.Freshness(), s.Clock.Now()) {
		if res.Key != key {
			continue
		}
		if res.ErrorCode != "" {
			return Answer{Status: http.StatusBadRequest, Body: mustJSON(encodeResult(res))}
		}
		return Answer{Status: http.StatusOK, Body: mustJSON(encodeResult(res))}
	}
	panic("ofrep: flag " + key + " listed but not evaluated")
}

// Refetches answers GET /ofrep/v1/events?checker=: the error to send instead of a stream, or a function that returns
// the refetchEvaluation event to send for a snapshot, nil when the bulk answer for the stream's checker is the one
// announced last. Its first event (at connect) covers a change between the bulk evaluation and the connection.
func (s *Service) Refetches(r *http.Request) (func(*snapshot.Snapshot) []byte, *Answer) {
	// Other parameters are ignored, like on the evaluations: a provider may add the application's own.
	q := r.URL.Query()
	checker := ""
	if v, ok := q[ContextChecker]; ok {
		if fail := validChecker(v[0]); fail != nil {
			a := failed(http.StatusBadRequest, "", fail)
			return nil, &a
		}
		checker = v[0]
	}
	if s.Store.Current() == nil {
		a := notSynced()
		return nil, &a
	}
	prefix := s.prefix(r)
	last := ""
	return func(snap *snapshot.Snapshot) []byte {
		body := bulkBody(snap, checker, s.Store.Freshness(), s.Clock.Now(), prefix)
		tag := tagOf(body)
		if tag == last {
			return nil
		}
		last = tag
		return RefetchEvent(tag, snap.Updated)
	}, nil
}

// RefetchEvent is ADR 0008's Server-Sent Event telling a provider to re-fetch the bulk evaluation, with the entity
// tag and the Unix time of the data to expect.
func RefetchEvent(etag string, updated time.Time) []byte {
	data := mustJSON(struct {
		Type         string `json:"type"`
		ETag         string `json:"etag"`
		LastModified int64  `json:"lastModified"`
	}{"refetchEvaluation", etag, updated.Unix()})
	return fmt.Appendf(nil, "event: message\ndata: %s\n\n", data)
}

// eventStream is an entry of a bulk answer's eventStreams.
type eventStream struct {
	Type     string `json:"type"`
	Endpoint struct {
		RequestURI string `json:"requestUri"`
	} `json:"endpoint"`
}

// bulkBody encodes the bulk evaluation of every flag for checker.
func bulkBody(snap *snapshot.Snapshot, checker string, fresh snapshot.Freshness, now time.Time, prefix string) []byte {
	results := Evaluate(snap, checker, fresh, now)
	flags := make([]any, len(results))
	for i := range results {
		flags[i] = encodeResult(results[i])
	}
	stream := eventStream{Type: "sse"}
	stream.Endpoint.RequestURI = prefix + RouteEvents
	if checker != "" {
		stream.Endpoint.RequestURI += "?" + url.Values{ContextChecker: {checker}}.Encode()
	}
	return mustJSON(struct {
		Flags        []any         `json:"flags"`
		Metadata     Metadata      `json:"metadata"`
		EventStreams []eventStream `json:"eventStreams"`
	}{flags, metadataOf(fresh), []eventStream{stream}})
}

// success and evaluationFailure are OFREP's evaluationSuccess and evaluationFailure.
type success struct {
	Key      string   `json:"key"`
	Value    any      `json:"value"`
	Reason   string   `json:"reason"`
	Variant  string   `json:"variant"`
	Metadata Metadata `json:"metadata"`
}

type evaluationFailure struct {
	Key          string    `json:"key,omitempty"`
	ErrorCode    string    `json:"errorCode"`
	ErrorDetails string    `json:"errorDetails"`
	Metadata     *Metadata `json:"metadata,omitempty"`
}

func encodeResult(r Result) any {
	if r.ErrorCode != "" {
		meta := r.Metadata
		return evaluationFailure{Key: r.Key, ErrorCode: r.ErrorCode, ErrorDetails: r.ErrorDetails, Metadata: &meta}
	}
	return success{Key: r.Key, Value: r.Value, Reason: r.Reason, Variant: r.Variant, Metadata: r.Metadata}
}

// failed is a 400 or 404 answer: evaluationFailure (or flagNotFound) with the flag's key, bulkEvaluationFailure
// without one.
func failed(status int, key string, f *failure) Answer {
	return Answer{Status: status, Body: mustJSON(evaluationFailure{Key: key, ErrorCode: f.code, ErrorDetails: f.details})}
}

// ErrorBody is OFREP's generalErrorResponse, for answers that are not evaluations (5xx, a method not allowed).
func ErrorBody(details string) []byte {
	return mustJSON(struct {
		ErrorDetails string `json:"errorDetails"`
	}{details})
}

func notSynced() Answer {
	return Answer{Status: http.StatusServiceUnavailable, RetryAfter: "1",
		Body: ErrorBody("this replica has not synced with the cluster yet and knows nothing; retry in a second")}
}

func readBody(r *http.Request) ([]byte, *failure) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, &failure{CodeParseError, "read the request body: " + err.Error()}
	}
	if len(body) > maxBody {
		return nil, &failure{CodeParseError, "the request body is larger than " + maxBodyText +
			"; an evaluation context needs only the checker attribute"}
	}
	return body, nil
}

// tagOf is a weak entity tag of a body: equal bodies, on any replica, have equal tags.
func tagOf(body []byte) string {
	sum := sha256.Sum256(body)
	return `W/"` + hex.EncodeToString(sum[:12]) + `"`
}

// sameTag compares entity tags weakly (W/ or not).
func sameTag(a, b string) bool {
	return strings.TrimPrefix(strings.TrimSpace(a), "W/") == strings.TrimPrefix(b, "W/")
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode %T: %v", v, err))
	}
	return b
}
