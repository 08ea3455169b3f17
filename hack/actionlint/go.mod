// Module actionlint pins actionlint, which `make actionlint` (part of `make test`) runs on .github/workflows with
// `go tool -modfile=hack/actionlint/go.mod actionlint`. It cannot join hack/tools: actionlint v1.7.12 needs
// go.yaml.in/yaml/v4 v4.0.0-rc.3, whose API changed in rc.6, which golangci-lint's gosec requires there.
module github.com/mamrezb/maintenance-window-manager/hack/actionlint

go 1.26.0

tool github.com/rhysd/actionlint/cmd/actionlint

require (
	github.com/bmatcuk/doublestar/v4 v4.10.0 // indirect
	github.com/clipperhouse/uax29/v2 v2.7.0 // indirect
	github.com/fatih/color v1.19.0 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	github.com/mattn/go-runewidth v0.0.21 // indirect
	github.com/mattn/go-shellwords v1.0.12 // indirect
	github.com/rhysd/actionlint v1.7.12 // indirect
	github.com/robfig/cron/v3 v3.0.1 // indirect
	go.yaml.in/yaml/v4 v4.0.0-rc.3 // indirect
	golang.org/x/sync v0.20.0 // indirect
	golang.org/x/sys v0.42.0 // indirect
)
