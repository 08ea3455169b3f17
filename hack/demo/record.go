package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/creack/pty"
)

// castHeader is the first line of an asciicast v2 file.
type castHeader struct {
	Version   int               `json:"version"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	Timestamp int64             `json:"timestamp,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	Title     string            `json:"title,omitempty"`
}

// record runs a command in a pseudo-terminal and writes everything it prints, timed, as an asciicast v2 file.
func record(args []string) error {
	fs := flag.NewFlagSet("record", flag.ExitOnError)
	out := fs.String("o", "", "the asciicast v2 file to write")
	cols := fs.Int("cols", 110, "terminal width in columns")
	rows := fs.Int("rows", 30, "terminal height in rows")
	timeout := fs.Duration("timeout", 5*time.Minute, "kill the session (its whole process group) after this long")
	title := fs.String("title", "", "title stored in the file's header")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		return errors.New("-o FILE and a command after -- are required, e.g. -o docs/usage.cast -- bash hack/demo/session.sh")
	}

	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color", fmt.Sprintf("COLUMNS=%d", *cols), fmt.Sprintf("LINES=%d", *rows))
	// pty.StartWithSize makes the command a session leader with the terminal as its controlling terminal:
	// its process group id is its pid, which the timeout kills.
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(*cols), Rows: uint16(*rows)})
	if err != nil {
		return fmt.Errorf("start %s in a pseudo-terminal: %w", fs.Arg(0), err)
	}
	defer func() { _ = tty.Close() }()
	timer := time.AfterFunc(*timeout, func() {
		fmt.Fprintf(os.Stderr, "demo record: the session ran past -timeout %s; killing its process group\n", *timeout)
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
	defer timer.Stop()

	f, err := os.Create(*out)
	if err != nil {
		return fmt.Errorf("create %s: %w", *out, err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	if err := enc.Encode(castHeader{Version: 2, Width: *cols, Height: *rows, Title: *title,
		Env: map[string]string{"TERM": "xterm-256color", "SHELL": "/bin/bash"}}); err != nil {
		return err
	}
	start := time.Now()
	buf := make([]byte, 32*1024)
	var pending []byte // an incomplete UTF-8 sequence at the end of a read waits for the next one
	for {
		n, readErr := tty.Read(buf)
		if n > 0 {
			data := append(pending, buf[:n]...)
			cut := completeUTF8(data)
			pending = append([]byte(nil), data[cut:]...)
			_, _ = os.Stdout.Write(data[:cut]) // show the session while it is recorded
			event := []any{roundMillis(time.Since(start)), "o", string(data[:cut])}
			if err := enc.Encode(event); err != nil {
				return err
			}
		}
		if readErr != nil {
			// Linux answers EIO once the session's last process closed the terminal.
			if !errors.Is(readErr, io.EOF) && !errors.Is(readErr, syscall.EIO) {
				return fmt.Errorf("read the pseudo-terminal: %w", readErr)
			}
			break
		}
	}
	waitErr := cmd.Wait()
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if waitErr != nil {
		return fmt.Errorf("the session failed (%w); %s holds what it printed", waitErr, *out)
	}
	fmt.Fprintf(os.Stderr, "demo record: %s, %s of session\n", *out, time.Since(start).Round(time.Second))
	return nil
}

func roundMillis(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }

// completeUTF8 returns the length of the longest prefix of b that does not end inside a UTF-8 sequence.
func completeUTF8(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-3; i-- {
		c := b[i]
		if c < 0x80 {
			return len(b) // ASCII: complete
		}
		if c >= 0xC0 { // a leading byte: is its sequence complete?
			need := 2
			if c >= 0xF0 {
				need = 4
			} else if c >= 0xE0 {
				need = 3
			}
			if len(b)-i >= need {
				return len(b)
			}
			return i
		}
	}
	return len(b)
}
