// Package leader runs the leader's work (the ServiceChecker controller, OLM's Upgradeable condition) in exactly one
// replica at a time, without ever stopping the process.
//
// controller-runtime's own leader election ends the manager when the Lease cannot be renewed, which took the API of
// every replica down in turn during API-server outages. Elector campaigns with client-go's leaderelection instead:
// while it holds the Lease it runs the work, with a context cancelled when the Lease is lost; once the work has
// returned it campaigns again. The caches, the snapshot feed and the HTTP API run outside it, on every replica, so
// losing the Lease never interrupts the API and a standby takes over with warm caches.
package leader
