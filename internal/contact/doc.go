// Package contact decides whether this replica's view of the cluster is stale: when it last confirmed, with an
// active and time-bounded probe of the Kubernetes API server, that its informers can hear from it.
//
// Stale is the pure decision (last confirmation, now, --stale-after). Probe is the manager Runnable that confirms
// contact on every replica and publishes changes of the verdict. A probe dials a fresh connection every time, so
// both kinds of outage are seen: refused connections at once, and a network that silently stops answering (no RST)
// within the probe's timeout, where client-go alone would wait for its HTTP/2 health check. Contact is confirmed only
// when the informers' own client (Probe.Shared) gets an answer too: after a silent outage their HTTP/2 connection
// may stay dead until that health check closes it, and the replica must not say fresh while its watches hear nothing.
//
// It never writes to the API server and never stops the process.
package contact
