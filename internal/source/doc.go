// Package source reads the watched Services for mwmctl, from the manager's HTTP API or from the ServiceCheckers'
// status through a kubeconfig. Both give the same entries (the cluster source merges ServiceCheckers with the
// same rules as the API, internal/snapshot), and both follow changes, reconnecting with backoff.
//
// Errors say what could not be read and what to do about it; mapping them to exit codes is the CLI's job.
package source
