// Package cli implements mwmctl's commands (status, watch, check, version, completion) on top of internal/source
// and internal/render. It owns flag parsing, filtering of entries and exit codes; cmd/mwmctl only calls Run.
package cli
