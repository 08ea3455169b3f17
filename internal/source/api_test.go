package source

import (
	"encoding/json"
	"testing"
)

// An older manager's entries have no maintenance key: critical and not ready must still read as maintenance, or a
// new mwmctl check would pass every outage.
func TestEntriesOfAnOlderManager(t *testing.T) {
	var wire []wireEntry
	raw := `[{"name":"a","namespace":"x","ready":false,"critical":true},` +
		`{"name":"b","namespace":"x","ready":false,"critical":true,"maintenance":false},` +
		`{"name":"c","namespace":"x","ready":true,"critical":true}]`
	if err := json.Unmarshal([]byte(raw), &wire); err != nil {
		t.Fatal(err)
	}
	got := fromWire(wire)
	if !got[0].Maintenance || got[1].Maintenance || got[2].Maintenance {
		t.Errorf("maintenance = %v %v %v, want true (no key: critical and not ready), false (the key), false",
			got[0].Maintenance, got[1].Maintenance, got[2].Maintenance)
	}
	if got[0].Name != "a" || !got[0].Critical {
		t.Errorf("the embedded entry was not decoded: %+v", got[0])
	}
}
