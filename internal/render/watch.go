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
	ChangeUpdated  = "changed"   // same readiness, another reason, criticality, maintenance or window
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
	if c.Window != "" && c.Kind != ChangeRemoved {
		critical += "  window=" + c.Window
	}
	_, err := fmt.Fprintf(w, "%s  %-9s  %-32s  %s  endpoints=%d%s\n", c.Time.UTC().Format(time.RFC3339), c.Kind,
		c.Key(), state, c.ReadyEndpoints, critical)
	return err
}

// Freshness kinds of a watch line: the replica serving the API lost or regained contact with the Kubernetes API.
const (
	ChangeStale = "stale"
	ChangeFresh = "fresh"
)

// freshnessChange is the JSON line of a freshness transition.
type freshnessChange struct {
	Time       time.Time  `json:"time"`
	Kind       string     `json:"change"`
	StaleSince *time.Time `json:"staleSince,omitempty"`
}

// FreshnessLine writes a stale or fresh transition of the data as one line.
func FreshnessLine(w io.Writer, at time.Time, f snapshot.Freshness, asJSON bool) error {
	c := freshnessChange{Time: at.UTC(), Kind: ChangeFresh}
	if f.Stale {
		since := f.Since.UTC()
		c.Kind, c.StaleSince = ChangeStale, &since
	}
	if asJSON {
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	text := "contact with the Kubernetes API is back: updates resume"
	if f.Stale {
		text = "stale data: " + StaleMessage(f, at)
	}
	_, err := fmt.Fprintf(w, "%s  %-9s  %s\n", c.Time.Format(time.RFC3339), c.Kind, text)
	return err
}

// StaleMessage says how old stale data is, e.g. "no contact with the Kubernetes API for 42s (since ...)".
func StaleMessage(f snapshot.Freshness, now time.Time) string {
	return fmt.Sprintf("no contact with the Kubernetes API for %s (since %s); the answer is the last one seen",
		Age(f.Since, now), f.Since.UTC().Format(time.RFC3339))
}
