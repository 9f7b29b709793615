package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/ofproto"
)

func TestRunFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad log level", []string{"-log-level", "loud"}, "-log-level"},
		{"bad log format", []string{"-log-format", "xml"}, "-log-format"},
		{"extra argument", []string{"now"}, "unexpected arguments"},
		{"cert without key", []string{"-of-tls-cert", "c.pem"}, "go together"},
		{"ca without cert", []string{"-of-tls-ca", "ca.pem"}, "needs"},
		{"idle timeout not whole seconds", []string{"-idle-timeout", "1500ms", "-of-listen", "127.0.0.1:0"}, "IdleTimeout"},
		{"unknown flag", []string{"-nope"}, "nope"},
		{"memory limit not a size", []string{"-memory-limit", "lots"}, "-memory-limit"},
		{"memory limit a rate", []string{"-memory-limit", "1GB/s"}, "-memory-limit"},
		{"memory limit negative", []string{"-memory-limit", "-1GB"}, "-memory-limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := runController(context.Background(), tt.args, &out, &errb)
			if code != 2 || !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errb.String(), tt.want)
			}
		})
	}
}

func TestRunMemoryLimitFlag(t *testing.T) {
	for arg, want := range map[string]int64{"": 0, "0": 0, "300MiB": 300 << 20, "2GB": 2e9, "4096": 4096} {
		f, err := parseRunFlags([]string{"-memory-limit", arg}, io.Discard)
		if err != nil {
			t.Fatalf("-memory-limit %q: %v", arg, err)
		}
		if f.memLimit != want {
			t.Errorf("-memory-limit %q: %d bytes, want %d", arg, f.memLimit, want)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRunServesAndStops starts cemon run on loopback ports, checks that it prints
// where it listens, speaks OpenFlow and REST there, and stops cleanly when its context
// ends (as on SIGINT or SIGTERM).
func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- runController(ctx, []string{"-of-listen", "127.0.0.1:0", "-api-listen", "127.0.0.1:0",
			"-log-level", "debug", "-log-format", "json", "-data-dir", t.TempDir()}, &stdout, &stderr)
	}()
	ofRe := regexp.MustCompile(`OpenFlow 1\.0 on tcp:(\S+)`)
	apiRe := regexp.MustCompile(`REST API on http://([^/]+)/`)
	var ofAddr, apiAddr string
	for i := 0; i < 500 && (ofAddr == "" || apiAddr == ""); i++ {
		if m := ofRe.FindStringSubmatch(stdout.String()); m != nil {
			ofAddr = m[1]
		}
		if m := apiRe.FindStringSubmatch(stdout.String()); m != nil {
			apiAddr = m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ofAddr == "" || apiAddr == "" {
		t.Fatalf("cemon run did not print its addresses; stdout %q stderr %q", stdout.String(), stderr.String())
	}

	c, err := net.Dial("tcp", ofAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hello, _ := (&ofproto.Hello{Xid: 1}).MarshalBinary()
	c.Write(hello)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := ofproto.NewFramer(c, 0).Next()
	if err != nil || ofproto.Type(b[1]) != ofproto.TypeHello {
		t.Fatalf("first message %x, %v; want HELLO", b, err)
	}

	resp, err := http.Get("http://" + apiAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get("http://" + apiAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "cemon_switches") {
		t.Fatalf("/metrics lacks cemon_switches")
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d after the context ended; stderr %s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("cemon run did not stop")
	}
	if !strings.Contains(stderr.String(), `"msg":"controller stopped"`) {
		t.Fatalf("no structured stop log: %s", stderr.String())
	}
}

// TestRunWaitsForCollector: cemon run returns only after the collector's goroutine
// has ended, even when it is slow to end.
func TestRunWaitsForCollector(t *testing.T) {
	var ended atomic.Bool
	old := collectorExit
	collectorExit = func() {
		time.Sleep(300 * time.Millisecond)
		ended.Store(true)
	}
	t.Cleanup(func() { collectorExit = old })

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- runController(ctx, []string{"-of-listen", "127.0.0.1:0", "-api-listen", "",
			"-log-format", "json"}, &stdout, &stderr)
	}()
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "OpenFlow 1.0 on") },
		10*time.Second, 10*time.Millisecond, "cemon run did not start: %s", stderr.String())
	cancel()
	select {
	case code := <-done:
		require.Equal(t, 0, code, stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatal("cemon run did not stop")
	}
	assert.True(t, ended.Load(), "cemon run returned before the collector ended")
	logs := stderr.String()
	c, s := strings.Index(logs, `"msg":"collector stopped"`), strings.Index(logs, `"msg":"controller stopped"`)
	assert.True(t, c >= 0 && s > c, "the collector's stop is logged before the controller's:\n%s", logs)
}

func TestLayoutFromGML(t *testing.T) {
	l, err := layoutFromGML(filepath.Join("..", "..", "topology", "testdata", "Abilene.gml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 11 {
		t.Fatalf("%d switches placed, want 11", len(l))
	}
	if p := l["0000000000000001"]; p.X > -70 || p.X < -80 {
		t.Errorf("switch 1 (New York) at %+v", p)
	}
	if _, err := layoutFromGML(filepath.Join(t.TempDir(), "none.gml")); err == nil {
		t.Error("a missing file is not an error")
	}
}

func TestParseSwitchConnect(t *testing.T) {
	got, err := parseSwitchConnect("tcp:127.0.0.1:6654, tcp:[::1]:6655,tcp:127.0.0.1:6654")
	if err != nil || !slices.Equal(got, []string{"tcp:127.0.0.1:6654", "tcp:[::1]:6655"}) {
		t.Fatalf("got %q, %v", got, err)
	}
	file := filepath.Join(t.TempDir(), "targets")
	if err := os.WriteFile(file, []byte("# switches\ntcp:10.0.0.1:6654\ntcp:s2.example.net:6654 # edge\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = parseSwitchConnect("@" + file)
	if err != nil || !slices.Equal(got, []string{"tcp:10.0.0.1:6654", "tcp:s2.example.net:6654"}) {
		t.Fatalf("file: got %q, %v", got, err)
	}
	for bad, want := range map[string]string{"": "no target", "10.0.0.1:6654": "want tcp:HOST:PORT",
		"tcp:10.0.0.1:0": "port", "ssl:10.0.0.1:6653": "not supported", "@/nonexistent": "no such file"} {
		if _, err := parseSwitchConnect(bad); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want one saying %q", bad, err, want)
		}
	}
	if _, err := parseRunFlags([]string{"-switch-connect", "tcp:127.0.0.1:6654", "-of-tls-cert", "c", "-of-tls-key", "k"}, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "does not go with -of-tls-cert") {
		t.Errorf("-switch-connect with TLS: err %v", err)
	}
	var buf bytes.Buffer
	if code := runController(t.Context(), []string{"-switch-connect", "tcp:nohost", "-api-listen", ""}, &buf, &buf); code != 2 ||
		!strings.Contains(buf.String(), `-switch-connect: bad switch target "tcp:nohost"`) {
		t.Errorf("exit %d, output %q", code, buf.String())
	}
}

func TestParseSwitchAllow(t *testing.T) {
	got, err := parseSwitchAllow("1, 0x2a,00:00:00:00:00:00:00:03")
	if err != nil || len(got) != 3 || !got[1] || !got[0x2a] || !got[3] {
		t.Fatalf("got %v, %v", got, err)
	}
	file := filepath.Join(t.TempDir(), "allow")
	if err := os.WriteFile(file, []byte("# switches\n0000000000000001\n00000000000000ff # core\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = parseSwitchAllow("@" + file)
	if err != nil || len(got) != 2 || !got[1] || !got[0xff] {
		t.Fatalf("file: got %v, %v", got, err)
	}
	for _, bad := range []string{"", "xyz", "12345678901234567", "@/nonexistent"} {
		if _, err := parseSwitchAllow(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
