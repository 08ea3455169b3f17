// Package snapshot turns the ServiceCheckers' status into the immutable view the HTTP API serves: one entry per
// watched Service (merged across ServiceCheckers), the maintenance summary, and their JSON and gzip encodings,
// computed once per change.
//
// Build is pure. Store publishes snapshots to any number of readers without locks on the read path, and Feed keeps
// a Store current from the manager's informer cache. Nothing here lists the API server or writes to it.
package snapshot
