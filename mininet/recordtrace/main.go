// Command recordtrace captures real traffic between Mininet hosts into the AFPS
// packet-level CSV (time_ns,flow_id,bytes), gzip-compressed.
//
//	go run ./mininet/recordtrace --cemon bin/cemon --kind tcp \
//	    --duration 150s --out afps/testdata/tcp.csv.gz
//
// It starts cemon (reactive forwarding) and a linear,4 Mininet network (hosts h1..h4 on
// switches s1..s4 in a line), captures with dumpcap every packet that arrives at h3
// and h4 (so every captured flow crossed the link s2→s3), and plays a timeline of
// iperf3 transfers from h1 and h2 to h3 and h4: on each of the four host pairs long
// transfers whose rate steps up and down with idle gaps, and many short transfers. --kind tcp uses TCP for the long transfers, --kind
// udp uses UDP (reusing the client port across steps, so one 5-tuple changes rate).
// Times are shifted so that the first packet is at 0.
package main

import (
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/cemon-sdn/cemon/afps/trace"
	"github.com/cemon-sdn/cemon/mininet"
)

type step struct {
	at time.Duration
	tr mininet.Transfer
}

// timeline returns the long transfers: four host pairs, each with rate steps and idle
// gaps.
func timeline(kind string, total time.Duration, r *rand.Rand) []step {
	udp := kind == "udp"
	rates := []string{"1M", "3M", "6M", "2M", "500K", "4M", "8M", "1500K"}
	var out []step
	for i, pair := range [][2]string{{"h1", "h3"}, {"h2", "h4"}, {"h1", "h4"}, {"h2", "h3"}} {
		at := time.Duration(i) * 2 * time.Second
		port := 5301 + i
		cport := 40001 + i
		for at < total-5*time.Second {
			d := time.Duration(8+r.IntN(18)) * time.Second
			d = min(d, total-at-2*time.Second)
			tr := mininet.Transfer{Src: pair[0], Dst: pair[1], UDP: udp, Duration: d.Seconds(),
				Bandwidth: rates[r.IntN(len(rates))], Port: port}
			if udp {
				tr.CPort = cport
				tr.Length = "1400"
			}
			out = append(out, step{at: at, tr: tr})
			at += d + 1500*time.Millisecond
			if r.IntN(4) == 0 {
				at += time.Duration(4+r.IntN(8)) * time.Second // an idle gap
			}
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].at < out[b].at })
	return out
}

func main() {
	bin := flag.String("cemon", "bin/cemon", "cemon binary (forwards the traffic)")
	kind := flag.String("kind", "tcp", "long transfers: tcp or udp")
	dur := flag.Duration("duration", 150*time.Second, "trace length")
	out := flag.String("out", "", "output file (.csv.gz)")
	seed := flag.Uint64("seed", 1, "random seed of the timeline")
	flag.Parse()
	if *out == "" || (*kind != "tcp" && *kind != "udp") || *dur < 20*time.Second || *dur > 10*time.Minute {
		fmt.Fprintln(os.Stderr, "usage: recordtrace --out FILE.csv.gz [--kind tcp|udp] [--duration 20s..10m] [--cemon BIN]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := record(ctx, *bin, *kind, *dur, *out, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "recordtrace:", err)
		os.Exit(1)
	}
}

func record(ctx context.Context, bin, kind string, total time.Duration, out string, seed uint64) error {
	c, err := mininet.StartCemon(ctx, mininet.CemonOptions{Bin: bin, Args: []string{"--idle-timeout", "10s"}})
	if err != nil {
		return err
	}
	defer c.Stop()
	h, err := mininet.StartHarness(ctx, mininet.HarnessOptions{Topo: "linear,4", Controller: c.OFAddr, Stderr: os.Stderr})
	if err != nil {
		return err
	}
	defer h.Close()
	if err := h.WaitConnected(30 * time.Second); err != nil {
		return err
	}
	if _, err := h.PingAll(time.Second); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "recordtrace")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o777); err != nil {
		return err
	}
	var pids []string
	cmd := func(host, run string) (string, error) { return h.HostCmd(host, run, 20*time.Second) }
	defer func() {
		for _, p := range pids {
			cmd(strings.SplitN(p, ":", 2)[0], "kill "+strings.SplitN(p, ":", 2)[1]+" 2>/dev/null")
		}
	}()
	bg := func(host, run string) error {
		o, err := cmd(host, run+" >/dev/null 2>&1 & echo $!")
		if err != nil {
			return err
		}
		f := strings.Fields(o)
		if len(f) == 0 {
			return fmt.Errorf("%s: no pid for %q", host, run)
		}
		pids = append(pids, host+":"+f[len(f)-1])
		return nil
	}
	var caps []string
	for _, hh := range []struct{ host, ip string }{{"h3", "10.0.0.3"}, {"h4", "10.0.0.4"}} {
		f := filepath.Join(dir, hh.host+".pcap")
		caps = append(caps, f)
		if err := bg(hh.host, fmt.Sprintf("dumpcap -q -P -s 128 -i %s-eth0 -f 'ip dst %s' -w %s", hh.host, hh.ip, f)); err != nil {
			return err
		}
	}
	time.Sleep(2 * time.Second)
	// Many short transfers: 20-60 kB every second or so from h1 to h4 and h2 to h3.
	for _, p := range []struct{ src, dst, ip, port string }{{"h1", "h4", "10.0.0.4", "6101"}, {"h2", "h3", "10.0.0.3", "6102"}} {
		if err := bg(p.dst, "iperf3 -s -p "+p.port); err != nil {
			return err
		}
		loop := fmt.Sprintf("sh -c 'sleep 1; end=$(($(date +%%s)+%d)); while [ $(date +%%s) -lt $end ]; do iperf3 -c %s -p %s -n $((20+$(od -An -N1 -tu1 /dev/urandom)/6))K; sleep 0.$(od -An -N1 -tu1 /dev/urandom | tr -d \" \"); done'",
			int(total.Seconds())-3, p.ip, p.port)
		if err := bg(p.src, loop); err != nil {
			return err
		}
	}
	r := rand.New(rand.NewPCG(seed, 7))
	steps := timeline(kind, total, r)
	start := time.Now()
	type pending struct {
		id  int
		end time.Time
	}
	var waits []pending
	for _, s := range steps {
		for len(waits) > 0 && time.Now().After(waits[0].end) {
			if _, err := h.IperfWait(waits[0].id, 30*time.Second); err != nil {
				fmt.Fprintln(os.Stderr, "recordtrace: iperf:", err)
			}
			waits = waits[1:]
		}
		if d := time.Until(start.Add(s.at)); d > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		id, err := h.IperfStart([]mininet.Transfer{s.tr})
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "recordtrace: %5.1fs %s>%s %s %s for %.0fs\n", time.Since(start).Seconds(), s.tr.Src, s.tr.Dst, kind, s.tr.Bandwidth, s.tr.Duration)
		waits = append(waits, pending{id, start.Add(s.at + time.Duration(s.tr.Duration*float64(time.Second)))})
		sort.Slice(waits, func(a, b int) bool { return waits[a].end.Before(waits[b].end) })
	}
	for _, w := range waits {
		if _, err := h.IperfWait(w.id, 70*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "recordtrace: iperf:", err)
		}
	}
	if d := time.Until(start.Add(total)); d > 0 {
		time.Sleep(d)
	}
	for _, p := range pids {
		host, pid, _ := strings.Cut(p, ":")
		cmd(host, "kill -INT "+pid+" 2>/dev/null")
	}
	pids = nil
	time.Sleep(2 * time.Second)
	var merged trace.Trace
	for _, f := range caps {
		fh, err := os.Open(f)
		if err != nil {
			return err
		}
		t, _, err := trace.ReadPcap(fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		merged = trace.Merge(&merged, t)
	}
	if len(merged.Packets) == 0 {
		return errors.New("captured no packets")
	}
	trace.Shift(&merged, -merged.Packets[0].Time)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	fo, err := os.Create(out)
	if err != nil {
		return err
	}
	zw, _ := gzip.NewWriterLevel(fo, gzip.BestCompression)
	if err := trace.WriteCSV(zw, &merged); err != nil {
		fo.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		fo.Close()
		return err
	}
	fmt.Fprintf(os.Stderr, "recordtrace: %d packets, %d 5-tuples to %s\n", len(merged.Packets), len(merged.Keys), out)
	return fo.Close()
}
