package windows

import (
	"testing"
	"time"
)

func BenchmarkEvaluate(b *testing.B) {
	now := at("2026-10-25T00:40:00Z")
	for _, spec := range []Spec{
		{Schedule: "0 3 * * 0", TimeZone: "Europe/Berlin", Duration: time.Hour, Announce: 24 * time.Hour},
		{Schedule: "30 2 * * *", TimeZone: "Europe/Berlin", Duration: 30 * time.Minute, Announce: 24 * time.Hour},
		{Schedule: "* * * * *", TimeZone: "Europe/Berlin", Duration: time.Minute, Announce: 24 * time.Hour},
		{Schedule: "* * * * *", TimeZone: "Europe/Berlin", Duration: 168 * time.Hour, Announce: 24 * time.Hour},
		{Schedule: "0 0 29 2 *", TimeZone: "Europe/Berlin", Duration: 168 * time.Hour, Announce: 24 * time.Hour},
	} {
		b.Run(spec.Schedule+" "+spec.Duration.String(), func(b *testing.B) {
			for b.Loop() {
				Evaluate(spec, now)
			}
		})
	}
}
