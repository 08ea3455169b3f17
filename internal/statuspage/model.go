package statuspage

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/mamrezb/maintenance-window-manager/internal/selection"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// The overall states, as words on the page and as CSS classes.
const (
	StateOperational = "operational"
	StateMaintenance = "maintenance"
	StateStale       = "stale"
)

// Page is what the template renders: one selection of one snapshot at one moment.
type Page struct {
	// Scope says what is in view: "every ServiceChecker", "ServiceChecker shop/storefront", "namespace shop".
	Scope string
	// Filtered is true when the query narrowed the view (the page then links back to everything).
	Filtered bool
	// State is StateOperational, StateMaintenance or StateStale; Headline says it in a sentence.
	State    string
	Headline string
	// Maintenance is the verdict of the data, which a stale page still shows as the last known one.
	Maintenance bool
	Stale       bool
	StaleSince  time.Time
	Updated     time.Time
	Ready       int
	Total       int
	Services    []Service
	Active      []Window
	Upcoming    []Window

	// Query is the selection as query parameters, for the script's event stream (events?<Query>).
	Query string
	// Version is the snapshot's version, which the stream sends as each event's id.
	Version uint64
	// Tag is the content tag of the selection's list, which the stream sends in its changed events: the script does
	// not fetch the page again for the data it was rendered from, and, since replicas with the same data agree on
	// it, it can tell a page fetched from a replica a change behind the one streaming to it.
	Tag string
	// Status is the /status answer the stream sends as its first status event, for the same reasons.
	Status string
}

// Service is one Service in view.
type Service struct {
	Key            string
	Ready          bool
	Critical       bool
	Maintenance    bool
	ReadyEndpoints int32
	Reason         string
	Since          time.Time
	// GraceUntil is set while a critical Service is not ready within its grace period.
	GraceUntil *time.Time
	// Window is the active MaintenanceWindow covering the Service, if any.
	Window string
}

// Window is an active or upcoming MaintenanceWindow.
type Window struct {
	Name    string
	Title   string
	Message string
	Start   time.Time
	End     *time.Time
}

// Selection reads the page's query: checker and namespace as the API reads them. Every other parameter is
// ignored, since links shared in chat and mail collect tracking parameters (utm_source, fbclid) that must not
// break the page.
func Selection(q url.Values) (selection.Selection, error) {
	kept := url.Values{}
	for _, param := range []string{selection.ParamChecker, selection.ParamNamespace} {
		if v, ok := q[param]; ok {
			kept[param] = v[:1] // a repeated parameter takes its first value instead of failing the page
		}
	}
	return selection.Parse(kept)
}

// Build computes the page of sel at now from a snapshot and the replica's freshness. It fails only as
// snapshot.Select does: with a *snapshot.CheckerNotFoundError for a ServiceChecker the snapshot does not hold.
func Build(snap *snapshot.Snapshot, sel selection.Selection, fresh snapshot.Freshness, now time.Time) (Page, error) {
	summary, err := snap.Status(sel, now)
	if err != nil {
		return Page{}, err
	}
	view, err := snap.Select(sel)
	if err != nil {
		return Page{}, err
	}
	encoded, err := snap.SelectEncoded(sel) // the stream's changed events tag the same bytes
	if err != nil {
		return Page{}, err
	}
	summary = summary.WithFreshness(fresh)
	status, err := json.Marshal(summary)
	if err != nil {
		return Page{}, err
	}
	p := Page{
		Scope: scope(sel), Filtered: !sel.Empty(), Maintenance: summary.Maintenance, Stale: fresh.Stale,
		StaleSince: fresh.Since, Updated: summary.Updated, Ready: summary.Ready, Total: summary.Services,
		Query: sel.Values().Encode(), Version: snap.Version, Tag: snapshot.ContentTag(encoded.JSON),
		Status: string(status),
	}
	switch {
	case fresh.Stale:
		p.State, p.Headline = StateStale, "Status unknown: this data may be out of date"
	case summary.Maintenance:
		p.State, p.Headline = StateMaintenance, "Maintenance: some services are unavailable"
	default:
		p.State, p.Headline = StateOperational, "All systems operational"
	}
	for _, e := range view.Entries {
		p.Services = append(p.Services, Service{Key: e.Key(), Ready: e.Ready, Critical: e.Critical,
			Maintenance: e.Maintenance, ReadyEndpoints: e.ReadyEndpoints, Reason: e.Reason, Since: e.Since,
			GraceUntil: e.GraceUntil, Window: e.Window})
	}
	p.Active = windows(summary.Windows.Active)
	p.Upcoming = windows(summary.Windows.Upcoming)
	return p, nil
}

func windows(briefs []snapshot.WindowBrief) []Window {
	out := make([]Window, 0, len(briefs))
	for _, w := range briefs {
		out = append(out, Window{Name: w.Name, Title: w.Title, Message: w.Message, Start: w.Start, End: w.End})
	}
	return out
}

func scope(sel selection.Selection) string {
	switch {
	case sel.Checker != "" && len(sel.Namespaces) > 0:
		return "ServiceChecker " + sel.Checker + ", " + namespaces(sel.Namespaces)
	case sel.Checker != "":
		return "ServiceChecker " + sel.Checker
	case len(sel.Namespaces) > 0:
		return namespaces(sel.Namespaces)
	}
	return "every ServiceChecker"
}

func namespaces(ns []string) string {
	if len(ns) == 1 {
		return "namespace " + ns[0]
	}
	return "namespaces " + strings.Join(ns, ", ")
}
