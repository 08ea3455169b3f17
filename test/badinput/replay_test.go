package badinput

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// replayTimeout bounds one request's connection: writing it, and reading every answer until the server closes.
const replayTimeout = 5 * time.Second

// netHTTPAnswers are the plain-text answers net/http writes itself, before any handler runs, to a request it cannot
// parse or will not serve; docs/api.md lists them. Everything else must come from the API's handlers.
var netHTTPAnswers = map[int]string{
	http.StatusOK:                          "OPTIONS * (an empty answer)",
	http.StatusBadRequest:                  "a malformed request line, header, Host, Content-Length or chunked encoding",
	http.StatusExpectationFailed:           "an Expect header other than 100-continue",
	http.StatusRequestHeaderFieldsTooLarge: "a request line and headers beyond the API server's 16 KiB limit",
	http.StatusNotImplemented:              "a Transfer-Encoding other than chunked",
	http.StatusHTTPVersionNotSupported:     "a protocol other than HTTP/1.x",
}

// answer is one response read from a connection.
type answer struct {
	method string
	res    *http.Response
	body   []byte
}

// outcome is what one corpus request got.
type outcome struct {
	answers []answer
	// end is how the connection ended after the last answer: nil for a clean close.
	end error
}

var _ = Describe("the API under bad input", func() {
	It("answers every request of the corpus with a documented answer, never a panic, and stays up", func() {
		cases, err := loadCorpus()
		Expect(err).NotTo(HaveOccurred())
		Expect(len(cases)).To(BeNumerically(">=", 200), "the committed corpus")

		start := time.Now()
		counts := map[string]int{}
		var failures []string
		for _, c := range cases {
			out := replay(manager.apiAddr, c)
			classes, problems := judge(c, out)
			for _, class := range classes {
				counts[class]++
			}
			GinkgoWriter.Printf("%-50s %s\n", c.name, strings.Join(classes, ", "))
			for _, p := range problems {
				failures = append(failures, c.name+": "+p)
			}
		}
		elapsed := time.Since(start)

		summary := summarize(counts, len(cases), elapsed)
		AddReportEntry("answers to the bad-input corpus", summary)
		GinkgoWriter.Println(summary)
		fmt.Fprintln(os.Stderr, summary) // for the record, even when the suite passes without -v

		Expect(failures).To(BeEmpty(), "answers outside the documented ones:\n%s", strings.Join(failures, "\n"))
		Expect(manager.alive()).To(Succeed(), "the manager must survive the corpus")
		Expect(manager.cmd.Process.Pid).To(Equal(manager.pid))
		Expect(manager.healthz()).To(Succeed())
		Expect(manager.synced()).To(Succeed(), "the API still serves the same data")
		Expect(strings.ToLower(manager.log.String())).NotTo(ContainSubstring("panic"),
			"the manager's log reports a panic:\n%s", manager.log.String())
	})
})

// replay writes one corpus request to a fresh TLS connection, closes the writing side (the server then sees the end
// of the request stream, also ending an event stream), and reads every answer until the server closes.
func replay(addr string, c corpusCase) outcome {
	dialer := &net.Dialer{Timeout: replayTimeout}
	conn, err := tls.DialWithDialer(dialer, "tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // self-signed
	if err != nil {
		return outcome{end: fmt.Errorf("connect: %w", err)}
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(replayTimeout))
	// Written concurrently with reading: a server that stops reading a huge request must not block the client.
	go func() {
		if _, err := conn.Write(c.raw); err == nil {
			_ = conn.CloseWrite()
		}
	}()

	methods := requestMethods(c.raw)
	br := bufio.NewReader(conn)
	var out outcome
	for i := 0; ; i++ {
		method := http.MethodGet
		if i < len(methods) {
			method = methods[i]
		}
		if _, err := br.Peek(1); err != nil { // the server closed: the end, clean or not
			if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
				out.end = err
			}
			return out
		}
		res, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			out.end = fmt.Errorf("read answer %d: %w", i+1, err)
			return out
		}
		body, err := io.ReadAll(res.Body)
		_ = res.Body.Close()
		out.answers = append(out.answers, answer{method: method, res: res, body: body})
		if err != nil {
			out.end = fmt.Errorf("read the body of answer %d: %w", i+1, err)
			return out
		}
	}
}

// requestMethods returns the methods of the requests in raw, in order, as far as they parse: HEAD answers have no
// body, so reading them needs the method.
func requestMethods(raw []byte) []string {
	var methods []string
	br := bufio.NewReader(bytes.NewReader(raw))
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return methods
		}
		methods = append(methods, req.Method)
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return methods
		}
	}
}

// judge classifies each answer ("200 json", "400 net/http", ...) and lists what breaks the API's contract.
func judge(c corpusCase, out outcome) (classes, problems []string) {
	if len(out.answers) == 0 {
		classes = append(classes, "no answer")
		if !c.incomplete() {
			problems = append(problems, fmt.Sprintf("no answer (%v)", out.end))
		}
	}
	if out.end != nil && len(out.answers) > 0 {
		problems = append(problems, fmt.Sprintf("the connection ended badly after %d answers: %v", len(out.answers), out.end))
	}
	if c.valid() && (len(out.answers) == 0 || out.answers[0].res.StatusCode != http.StatusOK) {
		problems = append(problems, "a valid request not answered 200")
	}
	for i, a := range out.answers {
		class, problem := judgeAnswer(a)
		classes = append(classes, class)
		if problem != "" {
			problems = append(problems, fmt.Sprintf("answer %d (%s): %s", i+1, a.res.Status, problem))
		}
	}
	return classes, problems
}

// judgeAnswer checks one answer against docs/api.md.
func judgeAnswer(a answer) (class, problem string) {
	code := a.res.StatusCode
	contentType := a.res.Header.Get("Content-Type")
	switch {
	case contentType == "application/json":
		class = fmt.Sprintf("%d json", code)
		switch {
		case code >= 400:
			problem = checkJSONError(a)
			if code >= 500 && code != http.StatusServiceUnavailable {
				problem = "a 5xx from the API: " + string(a.body)
			}
			if code == http.StatusServiceUnavailable && a.res.Header.Get("Retry-After") == "" {
				problem = "503 without Retry-After"
			}
		case code == http.StatusOK:
			problem = checkJSON(a)
		default:
			problem = "JSON with an undocumented status"
		}
	case contentType == "text/event-stream":
		class = fmt.Sprintf("%d stream", code)
		if code != http.StatusOK {
			problem = "a stream with a status other than 200"
		} else {
			problem = checkEvents(a)
		}
	case code == http.StatusNoContent && a.method == http.MethodOptions:
		class = "204 options"
	case code == http.StatusOK && a.method == http.MethodOptions && len(a.body) == 0 && a.res.ContentLength == 0:
		class = "200 net/http" // OPTIONS *: net/http answers it itself, with no body
	case code == http.StatusNotModified:
		class = "304"
		if a.res.Header.Get("ETag") == "" || len(a.body) > 0 {
			problem = "304 without an ETag, or with a body"
		}
	default:
		class = fmt.Sprintf("%d net/http", code)
		// net/http's own answers close the connection (ReadResponse turns Connection: close into Close).
		plain := contentType == "" || strings.HasPrefix(contentType, "text/plain")
		if _, listed := netHTTPAnswers[code]; !listed || !a.res.Close || !plain {
			problem = fmt.Sprintf("neither the documented JSON nor one of net/http's own answers: Content-Type %q, "+
				"close %v, body %q", contentType, a.res.Close, truncate(a.body))
		}
	}
	return class, problem
}

func checkJSONError(a answer) string {
	var doc map[string]any
	if err := json.Unmarshal(a.body, &doc); err != nil {
		return fmt.Sprintf("an error that is not JSON: %q", truncate(a.body))
	}
	if msg, ok := doc["error"].(string); len(doc) != 1 || !ok || msg == "" {
		return fmt.Sprintf(`an error that is not {"error": "..."}: %q`, truncate(a.body))
	}
	return ""
}

func checkJSON(a answer) string {
	if a.method == http.MethodHead {
		return ""
	}
	body := a.body
	if a.res.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return "Content-Encoding gzip, but " + err.Error()
		}
		if body, err = io.ReadAll(zr); err != nil {
			return "Content-Encoding gzip, but " + err.Error()
		}
	}
	if !json.Valid(body) {
		return fmt.Sprintf("200 with a body that is not JSON: %q", truncate(body))
	}
	return ""
}

// checkEvents checks that a stream is Server-Sent Events whose data lines are JSON, and that it starts with the
// selection's Services.
func checkEvents(a answer) string {
	if a.method == http.MethodHead {
		return ""
	}
	for _, line := range strings.Split(string(a.body), "\n") {
		if data, ok := strings.CutPrefix(line, "data: "); ok && !json.Valid([]byte(data)) {
			return fmt.Sprintf("an event whose data is not JSON: %q", truncate([]byte(line)))
		}
	}
	if !strings.Contains(string(a.body), "event: services\n") {
		return fmt.Sprintf("a stream without event: services: %q", truncate(a.body))
	}
	return ""
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// summarize renders the counts of each kind of answer as a table.
func summarize(counts map[string]int, requests int, elapsed time.Duration) string {
	classes := make([]string, 0, len(counts))
	for c := range counts {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	var b strings.Builder
	fmt.Fprintf(&b, "bad input: %d corpus files replayed over TLS in %s\n", requests, elapsed.Round(time.Millisecond))
	for _, c := range classes {
		fmt.Fprintf(&b, "  %-16s %4d\n", c, counts[c])
	}
	return b.String()
}
