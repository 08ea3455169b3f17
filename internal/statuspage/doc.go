// Package statuspage renders the human status page the API serves at GET /: the overall state (operational,
// maintenance or stale) in words and colour, each Service, and the active and upcoming MaintenanceWindows, for every
// ServiceChecker or the one in ?checker= (the link a team shares) and the namespaces in ?namespace=.
//
// The first paint is server-rendered from the same snapshot views the JSON API answers from, so the page is complete
// without JavaScript. Its one embedded script (no other file, no other host) follows the API's event stream and
// fetches the page again when the view changes, shows a banner while the stream is lost, and writes times in the
// viewer's time zone. CSS and script are inlined and allowed by their hashes in the Content-Security-Policy, so the
// page is a single request that works behind any path prefix: every URL it uses is relative.
//
// It reads the snapshot store only: it never lists the API server, and it does not parse the JSON API's answers.
package statuspage
