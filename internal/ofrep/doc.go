// Package ofrep answers the OpenFeature Remote Evaluation Protocol (OFREP, open-feature/protocol
// service/openapi.yaml) from the snapshot of internal/snapshot: the flags maintenance, maintenance-upcoming and
// maintenance-message, scoped by the evaluation context's checker attribute like the API's ?checker=, and the
// refetchEvaluation events of its event stream (ADR 0008).
//
// It decides what an OFREP request means and what the answer is (status, body, entity tag); it must not write HTTP
// responses, handle CORS or hold connections: internal/httpapi routes the requests and serves its answers, with the
// same caching, deadlines and stream limits as the rest of the API. Like every handler of the API it never reads the
// Kubernetes API server per request.
package ofrep
