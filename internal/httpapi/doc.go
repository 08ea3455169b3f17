// Package httpapi serves the maintenance state over HTTPS: GET /services (JSON or Server-Sent Events), one
// Service, /status, /events and /windows, from the immutable snapshot of internal/snapshot; it mounts
// internal/statuspage's HTML page at / (--api-status-page) and the OpenFeature (OFREP) routes whose answers
// internal/ofrep decides, with the same CORS, caching, deadlines and stream limits.
//
// Handlers serve pre-encoded bytes and filter in memory; they must never read the API server or the cache per
// request, so a request costs the same whether 1 or 1,000 Services are watched. The server runs on every replica.
package httpapi
