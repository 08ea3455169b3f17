package ofrep

import (
	"errors"
	"time"

	"github.com/mamrezb/maintenance-window-manager/internal/selection"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// The flags, in the order a bulk evaluation lists them.
const (
	// FlagMaintenance (boolean) is /status's maintenance: show the maintenance page.
	FlagMaintenance = "maintenance"
	// FlagUpcoming (boolean) is true when a window in view starts within its announce time.
	FlagUpcoming = "maintenance-upcoming"
	// FlagMessage (string) is the active window's title and message, or empty.
	FlagMessage = "maintenance-message"
)

// Flags are the keys of every flag.
var Flags = []string{FlagMaintenance, FlagUpcoming, FlagMessage}

// Reasons of a successful evaluation. OFREP admits STATIC, TARGETING_MATCH, SPLIT, DISABLED and UNKNOWN: OpenFeature's
// STALE is not among them, so staleness is told by the metadata's stale (true or false) on every answer.
const (
	// ReasonStatic answers without a checker in the context: the same value for every caller.
	ReasonStatic = "STATIC"
	// ReasonTargetingMatch answers for the ServiceChecker the context names.
	ReasonTargetingMatch = "TARGETING_MATCH"
)

// Error codes of OFREP (OpenFeature's error codes).
const (
	CodeFlagNotFound   = "FLAG_NOT_FOUND"
	CodeInvalidContext = "INVALID_CONTEXT"
	CodeParseError     = "PARSE_ERROR"
)

// Metadata is the flat metadata of every evaluation and of a bulk answer.
type Metadata struct {
	// Stale is true when this replica has had no confirmed contact with the Kubernetes API server for longer than
	// --stale-after: the value may be out of date.
	Stale bool `json:"stale"`
	// StaleSince is the time of the last confirmation (RFC 3339, UTC), only when stale.
	StaleSince string `json:"staleSince,omitempty"`
}

func metadataOf(f snapshot.Freshness) Metadata {
	m := Metadata{Stale: f.Stale}
	if f.Stale {
		m.StaleSince = f.Since.UTC().Format(time.RFC3339)
	}
	return m
}

// Result is the evaluation of one flag: a value, or an error code when the flag could not be evaluated.
type Result struct {
	Key     string
	Value   any // bool or string
	Reason  string
	Variant string
	// ErrorCode and ErrorDetails are set instead of a value when the evaluation failed.
	ErrorCode    string
	ErrorDetails string
	Metadata     Metadata
}

// Evaluate evaluates every flag at now for the ServiceChecker checker ("<namespace>/<name>"; empty: every
// ServiceChecker, as GET /status without filters). A checker the snapshot does not hold fails every flag with
// INVALID_CONTEXT: the flags exist (FLAG_NOT_FOUND would be false), the context names nothing, and a default value
// silently served as a value would be an all clear for a ServiceChecker nobody checks.
func Evaluate(snap *snapshot.Snapshot, checker string, fresh snapshot.Freshness, now time.Time) []Result {
	meta := metadataOf(fresh)
	out := make([]Result, 0, len(Flags))
	summary, err := snap.Status(selection.Selection{Checker: checker}, now)
	if err != nil {
		details := "evaluation context attribute " + ContextChecker + ": " + err.Error()
		var notFound *snapshot.CheckerNotFoundError
		if errors.As(err, &notFound) {
			details = "evaluation context attribute " + ContextChecker + ": ServiceChecker " + checker +
				" does not exist; check its namespace and name (GET /services lists the checkers of every Service)"
		}
		for _, key := range Flags {
			out = append(out, Result{Key: key, ErrorCode: CodeInvalidContext, ErrorDetails: details, Metadata: meta})
		}
		return out
	}
	reason := ReasonStatic
	if checker != "" {
		reason = ReasonTargetingMatch
	}
	message := ""
	if active := summary.Windows.Active; len(active) > 0 {
		message = joinMessage(active[0].Title, active[0].Message)
	}
	messageVariant := "none"
	if message != "" {
		messageVariant = "active-window"
	}
	return append(out,
		Result{Key: FlagMaintenance, Value: summary.Maintenance, Reason: reason, Variant: onOff(summary.Maintenance), Metadata: meta},
		Result{Key: FlagUpcoming, Value: len(summary.Windows.Upcoming) > 0, Reason: reason,
			Variant: onOff(len(summary.Windows.Upcoming) > 0), Metadata: meta},
		Result{Key: FlagMessage, Value: message, Reason: reason, Variant: messageVariant, Metadata: meta},
	)
}

// joinMessage is "title: message", or whichever of them is set.
func joinMessage(title, message string) string {
	switch {
	case title == "":
		return message
	case message == "":
		return title
	}
	return title + ": " + message
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
