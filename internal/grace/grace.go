package grace

import "time"

// Until is when a Service first seen not ready at notReadySince has been not ready for period: notReadySince plus
// period, rounded up to the second (an API time has whole seconds, and a grace period is never shorter than asked).
// The arithmetic is on instants, so neither the location of notReadySince nor a DST change matters.
func Until(notReadySince time.Time, period time.Duration) time.Time {
	t := notReadySince.Add(period).UTC()
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}

// Evaluate reports whether a critical Service not ready since notReadySince counts for maintenance at now, and
// until when it does not (zero when it counts). A period of zero or less counts at once.
//
// recorded is the graceUntil written for the same not-ready spell before (zero: none). notReadySince, read back
// from the API, lost its fraction of a second; a recorded value at most a second after Until(notReadySince,
// period) was computed from the exact instant with the same period and is kept, so the grace period never shrinks
// between passes. Any other recorded value (the period changed) is ignored.
func Evaluate(notReadySince time.Time, period time.Duration, recorded, now time.Time) (counts bool, until time.Time) {
	if period <= 0 {
		return true, time.Time{}
	}
	until = Until(notReadySince, period)
	if d := recorded.Sub(until); !recorded.IsZero() && d > 0 && d <= time.Second {
		until = recorded.UTC()
	}
	if !now.Before(until) {
		return true, time.Time{}
	}
	return false, until
}
