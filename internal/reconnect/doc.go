// Package reconnect makes the manager's informers come back within seconds after an API-server outage.
//
// client-go's reflectors back off exponentially up to 30 s, with as much jitter again, while List or Watch fail, and
// controller-runtime does not expose that setting: after a long outage, a change could take a minute to reach the
// cache. NewInformer wraps every informer's ListerWatcher so that List and Watch retry transient failures (refused
// or dropped connections, timeouts, 429 and 5xx answers) themselves, every second, until they succeed or the
// informer stops; the reflector never sees those failures and never backs off. An overloaded server's answers (429,
// 5xx) are retried with a backoff up to 30 s that honours Retry-After; only unanswered connections are retried every
// second. Errors that need the reflector's
// judgement (410 Gone, 403, 404, bad requests) pass through unchanged.
//
// The same backoff follows a watch that ends with an error, and client-go reports a lost connection under an open
// watch (an HTTP/2 connection closed by its health check after a silent outage) as an error event: a few outages
// within two minutes would add up to a minute's delay. The watches Patient returns end quietly instead, as a watch the
// server timed out, and the reflector watches again at once from its last resource version.
//
// MapperProvider lets the manager be created while the API server is away: the kinds whose cache options need to be
// known as namespaced at creation (Services, EndpointSlices) are mapped without discovery.
package reconnect
