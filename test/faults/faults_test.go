package faults

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
)

// The scenarios run in this order on the same replicas: the outages keep all three, a fourth starts during an outage,
// SIGKILL leaves three, SIGTERM two; one of them then takes the load. ContinueOnFailure: a failed scenario still lets the others measure.
var _ = Describe("bin/manager under failures", Ordered, ContinueOnFailure, func() {
	It("keeps answering through a refused API server, says it is stale, and recovers without a restart",
		NodeTimeout(90*time.Second), func(_ SpecContext) { outage(refuse) })

	It("keeps answering through a blackholed API server, says it is stale, and recovers without a restart",
		NodeTimeout(90*time.Second), func(_ SpecContext) { outage(blackhole) })

	It("hands over when only the leader is cut off, which stops reconciling and keeps answering",
		NodeTimeout(60*time.Second), func(_ SpecContext) { leaderIsolated() })

	It("stays up when started while the API server refuses, and serves once it is back", NodeTimeout(60*time.Second),
		func(_ SpecContext) { startedDuringOutage() })

	It("hands reconciling to a standby when the leader is killed (SIGKILL)", NodeTimeout(60*time.Second),
		func(_ SpecContext) { leaderKilled() })

	It("releases the Lease and drains its streams when the leader is terminated (SIGTERM)", NodeTimeout(60*time.Second),
		func(_ SpecContext) { leaderTerminated() })

	It("serves 200 polling clients and 100 streams with every flip, and caps streams", NodeTimeout(150*time.Second),
		func(_ SpecContext) { load() })

	It("serves others while 2,000 clients never finish their headers, and closes those", NodeTimeout(60*time.Second),
		func(_ SpecContext) { slowClients() })
})
