package render

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// Change kinds of a watch line.
const (
	ChangeInitial  = "initial"   // the state when the watch started
	ChangeAdded    = "added"     // a Service started being watched
	ChangeReady    = "ready"     // became ready
	ChangeNotReady = "not-ready" // stopped being ready
	ChangeRemoved  = "removed"   // no ServiceChecker watches it any more
	ChangeUpdated  = "changed"   // same readiness, another reason or criticality
)

// Change is one line of `mwmctl watch`.
type Change struct {
	Time time.Time `json:"time"`
	Kind string    `json:"change"`
	snapshot.Entry
}

// WatchLine writes a change as one line: human text, or one JSON object when asJSON.
func WatchLine(w io.Writer, c Change, asJSON, color bool) error {
	if asJSON {
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	state := "ready"
	switch {
	case c.Kind == ChangeRemoved:
		state = "no longer watched"
	case !c.Ready:
		state = "NOT READY (" + c.Reason + ")"
	}
	if color && c.Kind != ChangeRemoved {
		if c.Ready {
			state = green + state + reset
		} else {
			state = red + state + reset
		}
	}
	critical := ""
	if c.Critical {
		critical = "  critical"
	}
	_, err := fmt.Fprintf(w, "%s  %-9s  %-32s  %s  endpoints=%d%s\n", c.Time.UTC().Format(time.RFC3339), c.Kind,
		c.Key(), state, c.ReadyEndpoints, critical)
	return err
}
