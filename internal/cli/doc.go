// Package cli implements mwmctl's commands (status, watch, check, windows, maintenance on/off, version, completion)
// on top of internal/source (reading), internal/manual (switching maintenance by hand) and internal/render. It owns
// flag parsing, filtering of entries and exit codes; cmd/mwmctl only calls Run.
package cli
