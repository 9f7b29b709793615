package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/cemon-sdn/cemon/api"
	"github.com/cemon-sdn/cemon/cluster"
	"github.com/cemon-sdn/cemon/controller"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/poll"
	"github.com/cemon-sdn/cemon/store"
	"github.com/cemon-sdn/cemon/topology"
	"github.com/cemon-sdn/cemon/units"
)

func init() {
	register(command{
		name:    "run",
		summary: "run the OpenFlow 1.0 controller and its REST API",
		run:     runController,
	})
}

// runFlags are the flags of cemon run.
type runFlags struct {
	ofListen    string
	apiListen   string
	pprofListen string
	idleTimeout time.Duration
	logLevel    string
	logFormat   string
	tlsCert     string
	tlsKey      string
	tlsCA       string
	lldp        time.Duration
	echo        time.Duration
	layoutGML   string
	switchAllow string
	switchConn  string
	bindDPID    bool
	budget      float64
	memLimit    int64         // -memory-limit in bytes, 0: none
	persist     bool          // keep hosts and flow identities in the data directory
	dataDirSet  bool          // -data-dir was given
	polling     *pollingFlags // statistics collection (polling.go)
	tables      *tableFlags   // flow table occupancy and the fallback (tables.go)
	placing     *placingFlags // inventory store and API token (placing.go)
	cluster     *clusterFlags // several instances sharing the switches through etcd (cluster.go)
}

func parseRunFlags(args []string, stderr io.Writer) (runFlags, error) {
	var f runFlags
	fs := newFlagSet("run", "run [flags]", stderr, "Runs the controller until SIGINT or SIGTERM.")
	fs.StringVar(&f.ofListen, "of-listen", ":6653", "OpenFlow listen `address` (host:port; port 0 picks a free one)")
	fs.StringVar(&f.pprofListen, "pprof-listen", "", "serve Go's runtime profiles (/debug/pprof/) on this `address` (loopback only, for profiling); empty: off")
	fs.StringVar(&f.apiListen, "api-listen", "127.0.0.1:8080", "REST API and /metrics listen `address`; empty disables it")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", controller.DefaultIdleTimeout, "idle timeout of installed flow entries (whole seconds)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.tlsCert, "of-tls-cert", "", "PEM certificate `file`: serve OpenFlow over TLS (with -of-tls-key)")
	fs.StringVar(&f.tlsKey, "of-tls-key", "", "PEM private key `file` for -of-tls-cert")
	fs.StringVar(&f.tlsCA, "of-tls-ca", "", "PEM CA `file`: require switch certificates signed by it")
	fs.DurationVar(&f.lldp, "lldp-interval", controller.DefaultLLDPInterval, "spacing of LLDP link-discovery probes")
	fs.DurationVar(&f.echo, "echo-interval", controller.DefaultEchoInterval, "idle time before an ECHO_REQUEST keepalive")
	fs.StringVar(&f.layoutGML, "layout-gml", "", "Topology Zoo GML `file` whose node coordinates place the switches in the console (the i-th node is the switch with dpid i, as mininet/topos.py numbers them)")
	fs.StringVar(&f.switchAllow, "switch-allow", "", "admit only these datapath ids: comma-separated hex `dpids`, or @FILE with one a line (# comments)")
	fs.StringVar(&f.switchConn, "switch-connect", "", "dial switches that listen for controllers (Open vSwitch ptcp:PORT): comma-separated `targets` tcp:HOST:PORT, "+
		"or @FILE with one a line (# comments); each is dialed at start and whenever its connection is gone, and the switch's own connection "+
		"from the same IP takes over from a dialed one without the switch going down")
	fs.BoolVar(&f.bindDPID, "of-tls-bind-dpid", false, "with -of-tls-ca: refuse a switch whose certificate does not name its dpid (first word of the CN or a DNS SAN, in hex, as `ovs-pki req+sign <16-hex-dpid> switch` writes it)")
	fs.Float64Var(&f.budget, "packet-in-budget", 1000, "PACKET_INs a second per source (switch port and MAC), burst twice that, below which no source is stopped; a source past it and above ten times the median rate of the other sources gets a 5 s drop entry; 0 disables")
	fs.BoolVar(&f.persist, "persist", true, "keep the host table and the identities of installed flows in the data directory, "+
		"so that a restarted cemon adopts the entries still on the switches (used when the REST API is on or -data-dir is given)")
	memLimit := fs.String("memory-limit", "", "soft limit of the Go heap and runtime (`size`, e.g. 300MiB or 2GB): the garbage collector works harder as the process nears it, "+
		"trading CPU for resident memory (runtime/debug.SetMemoryLimit; see BENCHMARKS.md on memory per flow); empty or 0: none beyond the GOMEMLIMIT environment variable")
	f.polling = addPollingFlags(fs)
	f.tables = addTableFlags(fs)
	f.placing = addPlacingFlags(fs)
	f.cluster = addClusterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	fs.Visit(func(fl *flag.Flag) { f.dataDirSet = f.dataDirSet || fl.Name == "data-dir" })
	if fs.NArg() > 0 {
		return f, fmt.Errorf("run: unexpected arguments %q", fs.Args())
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return f, errors.New("run: -of-tls-cert and -of-tls-key go together")
	}
	if f.tlsCA != "" && f.tlsCert == "" {
		return f, errors.New("run: -of-tls-ca needs -of-tls-cert and -of-tls-key")
	}
	if f.switchConn != "" && f.tlsCert != "" {
		return f, errors.New("run: -switch-connect dials plain tcp: targets; it does not go with -of-tls-cert")
	}
	if f.bindDPID && f.tlsCA == "" {
		return f, errors.New("run: -of-tls-bind-dpid needs -of-tls-ca (switch certificates)")
	}
	if f.budget < 0 {
		return f, fmt.Errorf("run: -packet-in-budget %v is negative", f.budget)
	}
	if *memLimit != "" {
		v, err := units.ParseSize(*memLimit)
		if err != nil || v < 0 || v >= math.MaxInt64 {
			return f, fmt.Errorf("run: -memory-limit %q is not a size (such as 300MiB or 2GB)", *memLimit)
		}
		f.memLimit = int64(v)
	}
	return f, nil
}

// parseSwitchAllow reads the datapath ids of -switch-allow: comma-separated hex
// numbers (an optional 0x, colons allowed), or @FILE with ids separated by commas,
// blanks or lines, # starting a comment.
func parseSwitchAllow(v string) (map[uint64]bool, error) {
	words, err := listWords(v)
	if err != nil {
		return nil, err
	}
	out := map[uint64]bool{}
	for _, w := range words {
		h := strings.ReplaceAll(strings.TrimPrefix(strings.ToLower(w), "0x"), ":", "")
		d, err := strconv.ParseUint(h, 16, 64)
		if err != nil || len(h) > 16 {
			return nil, fmt.Errorf("%q is not a datapath id (up to 16 hex digits)", w)
		}
		out[d] = true
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no datapath id in %q", v)
	}
	return out, nil
}

// parseSwitchConnect reads the targets of -switch-connect: tcp:HOST:PORT separated
// by commas, or @FILE with targets separated by commas, blanks or lines, # starting a
// comment.
func parseSwitchConnect(v string) ([]string, error) {
	words, err := listWords(v)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, w := range words {
		if _, err := controller.ParseSwitchTarget(w); err != nil {
			return nil, err
		}
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no target in %q", v)
	}
	return out, nil
}

// layoutFromGML reads switch positions from a Topology Zoo GML file: node i (in file
// order) is the switch with dpid i+1, as the Mininet topologies number them.
func layoutFromGML(path string) (map[string]api.Point, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	g, err := topology.ParseGML(data)
	if err != nil {
		return nil, err
	}
	out := make(map[string]api.Point, g.NumNodes())
	for i := 0; i < g.NumNodes(); i++ {
		if x, y, ok := g.Coord(i); ok {
			out[fmt.Sprintf("%016x", i+1)] = api.Point{X: x, Y: y}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no node has Longitude and Latitude", path)
	}
	return out, nil
}

// newLogger builds the structured logger the flags ask for.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("run: -log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("run: -log-format %q: want text or json", format)
}

// ofListener opens the OpenFlow listener, wrapped in TLS when the flags ask for it.
func ofListener(f runFlags) (net.Listener, error) {
	ln, err := net.Listen("tcp", f.ofListen)
	if err != nil {
		return nil, fmt.Errorf("run: OpenFlow listener: %w", err)
	}
	if f.tlsCert == "" {
		return ln, nil
	}
	cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("run: TLS key pair: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if f.tlsCA != "" {
		pem, err := os.ReadFile(f.tlsCA)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("run: TLS CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			ln.Close()
			return nil, fmt.Errorf("run: TLS CA %s: no certificate found", f.tlsCA)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tls.NewListener(ln, tc), nil
}

func runController(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseRunFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	logger, err := newLogger(stderr, f.logLevel, f.logFormat)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if f.memLimit > 0 {
		prev := debug.SetMemoryLimit(f.memLimit)
		defer debug.SetMemoryLimit(prev)
		logger.Info("soft memory limit", "bytes", f.memLimit)
	}
	cfg := controller.Config{IdleTimeout: f.idleTimeout, LLDPInterval: f.lldp, EchoInterval: f.echo,
		BindCertDPID: f.bindDPID, RequestTimeout: max(controller.DefaultRequestTimeout, f.polling.requestTimeout())}
	if f.switchAllow != "" {
		allow, err := parseSwitchAllow(f.switchAllow)
		if err != nil {
			fmt.Fprintf(stderr, "run: -switch-allow: %v\n", err)
			return 2
		}
		cfg.SwitchAllowed = func(d uint64) bool { return allow[d] }
	}
	if f.switchConn != "" {
		if cfg.SwitchConnect, err = parseSwitchConnect(f.switchConn); err != nil {
			fmt.Fprintf(stderr, "run: -switch-connect: %v\n", err)
			return 2
		}
	}
	var clusterCfg cluster.Config
	var fwdNode atomic.Pointer[cluster.Node]
	if f.cluster.enabled() {
		if clusterCfg, err = f.cluster.config(f.apiListen); err != nil {
			fmt.Fprintf(stderr, "run: %v\n", err)
			return 2
		}
		// The switches are shared: each starts as a slave and keeps its table; the
		// cluster makes this instance the master of some, and takes the writes for the
		// others to their masters.
		cfg.Roles = true
		// Only a switch's master probes its ports: the probes pause while a master
		// that stopped is replaced (a lease), and the links they keep alive outlast
		// that pause.
		cfg.LinkTimeout = f.lldp*7/2 + f.cluster.lease
		cfg.Forward = func(dpid uint64, m ofproto.Message) {
			if nd := fwdNode.Load(); nd != nil {
				nd.Forward(dpid, m)
			}
		}
	}
	if f.budget > 0 {
		cfg.Apps = []controller.App{controller.Discovery, controller.NewPacketInBudget(f.budget), controller.Routing}
	}
	f.tables.apply(&cfg)
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "run: %v\n", err)
		return 2
	}
	token, err := f.placing.token()
	if err != nil {
		fmt.Fprintf(stderr, "run: %v\n", err)
		return 2
	}
	apiCfg := api.Config{Addr: f.apiListen, Token: token}
	if f.apiListen != "" {
		if err := apiCfg.Validate(); err != nil {
			fmt.Fprintf(stderr, "run: %v\n", err)
			return 2
		}
	}
	ln, err := ofListener(f)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	// The data directory: the inventory (REST API) and the controller's own state.
	var st *store.Store
	if f.apiListen != "" || (f.persist && f.dataDirSet) {
		if st, err = store.Open(f.placing.dataDir); err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "run: %v\n", err)
			return 1
		}
		defer st.Close()
	}
	ctl := controller.New(cfg, logger)
	closed := make(chan struct{})
	close(closed)
	var persistDone <-chan struct{} = closed
	persistCtx, stopPersist := context.WithCancel(context.Background())
	defer stopPersist()
	if st != nil && f.persist && !f.cluster.enabled() {
		// (In a cluster the flows are handed over through etcd instead.)
		if _, _, err := ctl.Restore(st); err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "run: %v\n", err)
			return 1
		}
		persistDone = ctl.Persist(persistCtx, st, controller.DefaultPersistInterval)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := reg.Register(controller.NewCollector(ctl)); err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "run: metrics: %v\n", err)
		return 1
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The collector subscribes to the tracker before any switch can connect. The
	// store it feeds is the one every module reads (here the REST API).
	if f.cluster.enabled() {
		f.polling.mastered = mastered(ctl)
		f.polling.clusterHops = clusterCfg.Hops
		if f.cluster.scheme == "global" {
			f.polling.globalScheme = func() *poll.Assigned {
				if nd := fwdNode.Load(); nd != nil {
					return nd.PollScheme()
				}
				return nil
			}
			f.polling.handOver = func(dpid uint64, entries []ofproto.FlowStats, ids []uint64) {
				if nd := fwdNode.Load(); nd != nil {
					nd.HandOver(dpid, entries, ids)
				}
			}
		}
	}
	pl, err := f.polling.start(ctx, ctl, reg, logger)
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "run: %v\n", err)
		return 2
	}
	// The statistics' cumulative totals continue from the earlier run's, and are saved
	// beside the controller's state (once a second, what changed); not in a cluster,
	// where the controller's state is not restored either.
	var totalsDone <-chan struct{} = closed
	if st != nil && f.persist && !f.cluster.enabled() {
		tot, bad, err := st.LoadTotals()
		if err == nil {
			err = pl.store.RestoreTotals(tot, time.Now())
		}
		if err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "run: %v\n", err)
			return 1
		}
		logger.Info("statistics totals restored", "flows", len(tot.Flows), "hosts", len(tot.Hosts),
			"matrix_cells", len(tot.Pairs), "links", len(tot.Links), "unreadable", bad, "saved_at", tot.At)
		totalsDone = st.PersistTotals(persistCtx, pl.store, store.DefaultTotalsInterval, store.DefaultTotalsRewrite,
			func(err error) { logger.Error("saving the statistics totals failed", "err", err) })
	}
	backend := api.WithTasks(api.WithStats(newBackend(ctl), pl.statsBackend()), pl.collector)
	if f.layoutGML != "" {
		layout, err := layoutFromGML(f.layoutGML)
		if err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "run: -layout-gml: %v\n", err)
			return 2
		}
		backend = api.WithLayout(backend, layout)
	}
	var clusterDone <-chan struct{} = closed
	var node *cluster.Node
	if f.cluster.enabled() {
		if node, err = cluster.New(clusterCfg, ctl, logger.With("component", "cluster")); err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "run: %v\n", err)
			return 2
		}
		node.SetReplySink(func(dpid uint64, r *ofproto.StatsReply) { pl.collector.HandedIn(dpid, r, time.Now()) })
		fwdNode.Store(node)
		backend = api.WithClusterRecords(backend, clusterStatus(node, pl.collector.Assigned, f.cluster.scheme == "global"), flowRecords(node))
	}
	errc := make(chan error, 2)
	var apiLn net.Listener
	if f.apiListen != "" {
		apiLn, err = net.Listen("tcp", f.apiListen)
		if err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "run: REST API listener: %v\n", err)
			return 1
		}
		backend = api.WithPlacement(backend, placementBackend{st: st, counter: pl.store, ctl: ctl})
		h := api.NewHandler(backend, reg)
		go func() { errc <- api.ServeListener(ctx, apiCfg, apiLn, h, logger) }()
	}
	if node != nil {
		if apiLn != nil {
			node.SetAPI(apiLn.Addr().String())
		}
		clusterDone = startCluster(ctx, node, logger)
		logger.Info("joining the cluster", "id", clusterCfg.ID, "endpoints", clusterCfg.Endpoints)
	}
	scheme := "tcp"
	if f.tlsCert != "" {
		scheme = "ssl"
	}
	fmt.Fprintf(stdout, "cemon: OpenFlow 1.0 on %s:%s\n", scheme, ln.Addr())
	if apiLn != nil {
		fmt.Fprintf(stdout, "cemon: REST API on http://%s/api/v1/ (metrics at /metrics)\n", apiLn.Addr())
	}
	logger.Info("controller starting", "of_listen", ln.Addr().String(), "tls", f.tlsCert != "",
		"idle_timeout", cfg.IdleTimeout, "switch_allow", f.switchAllow != "", "switch_connect", len(cfg.SwitchConnect), "tls_bind_dpid", f.bindDPID,
		"packet_in_budget", f.budget)
	if f.pprofListen != "" {
		stopProfiles, err := serveProfiles(ctx, f.pprofListen, logger)
		if err != nil {
			fmt.Fprintf(stderr, "run: -pprof-listen: %v\n", err)
			return 1
		}
		defer stopProfiles()
	}
	go func() { errc <- ctl.Serve(ctx, ln) }()

	// The first error (or the end of ctx) stops everything; then wait for the rest.
	running := 1
	if apiLn != nil {
		running++
	}
	status := 0
	for running > 0 {
		err := <-errc
		running--
		if err != nil && !errors.Is(err, context.Canceled) {
			logger.Error("stopping", "err", err)
			status = 1
		}
		cancel()
	}
	<-pl.stopped
	<-clusterDone
	stopPersist() // a last flush, after the switches are gone
	<-persistDone
	<-totalsDone
	logger.Info("controller stopped")
	return status
}

// listWords splits a list flag's value into its words: separated by commas, blanks or
// lines, or, for @FILE, the file's words with # starting a comment.
func listWords(v string) ([]string, error) {
	text := v
	if name, ok := strings.CutPrefix(v, "@"); ok {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var lines []string
		for _, l := range strings.Split(string(b), "\n") {
			l, _, _ = strings.Cut(l, "#")
			lines = append(lines, l)
		}
		text = strings.Join(lines, ",")
	}
	return strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' }), nil
}
