// Package snapshot turns the ServiceCheckers' status into the immutable views the HTTP API serves.
//
// Each ServiceChecker's verdicts are its own Part, encoded once when its status changes (NewPart, pure). A Snapshot
// is a set of Parts: a view selected by checker reads that one Part and never merges; the merged list of every
// Service (one entry per Service across ServiceCheckers) and its summary are computed lazily, once per Snapshot, on
// first use. /status is computed from (ServiceChecker, Service) verdicts through each entry's Maintenance flag, never
// from merged readiness, so another team's stricter ServiceChecker cannot put a frontend that asks with checker= into
// maintenance.
//
// Store publishes snapshots to any number of readers without locks on the read path, and Feed keeps a Store current
// from the manager's informer cache, rebuilding only the Parts of the ServiceCheckers that changed. Nothing here
// lists the API server or writes to it.
package snapshot
