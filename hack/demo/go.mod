// Module demo records docs/usage.gif from a real `make run-local` session (`make demo-gif`): a pty recorder writing
// an asciicast v2 file, and a renderer from asciicast to GIF through a VT100 emulator. A module of its own so that
// its terminal and font libraries never become the operator's dependencies.
module github.com/mamrezb/maintenance-window-manager/hack/demo

go 1.26.0

require (
	github.com/creack/pty v1.1.24
	github.com/hinshun/vt10x v0.0.0-20220301184237-5011da428d02
	golang.org/x/image v0.48.0
)

require (
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)
