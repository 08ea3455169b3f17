// Command demo records docs/usage.gif from a real terminal session, reproducibly and offline (`make demo-gif`):
//
//	demo record -o docs/usage.cast -cols 110 -rows 30 -- bash hack/demo/session.sh
//	demo render -i docs/usage.cast -o docs/usage.gif
//
// record runs the command in a pseudo-terminal of a fixed size and writes its output with timestamps as an
// asciicast v2 file (the format of asciinema, so `asciinema play docs/usage.cast` replays it too). render replays
// that file through a VT100 emulator (github.com/hinshun/vt10x), draws each screen with the Go Mono font, and writes
// an animated GIF whose frames hold only the rectangle that changed. Both stop by themselves: record kills the
// session when -timeout passes.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "record":
		err = record(os.Args[2:])
	case "render":
		err = render(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: demo record -o FILE.cast [-cols N -rows N -timeout D] -- COMMAND [ARGS...]\n"+
		"       demo render -i FILE.cast -o FILE.gif [-max-pause D -font-size N]")
	os.Exit(2)
}
