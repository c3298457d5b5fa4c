package pgsql

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// Delay is a loopback TCP proxy between the app and the database that
// adds a fixed time to every round trip, so a local cluster behaves like
// one on another host: a sync worker waits it out on every query, while
// threads and greenlets overlap the waits. It is Shopify's toxiproxy used
// as a library (its latency toxic on the database-to-app stream), running
// inside wsgibench, so it cannot outlive it.
type Delay struct {
	proxy *toxiproxy.Proxy
	rtt   time.Duration
}

// StartDelay proxies a new loopback port to upstream ("host:port") with
// rtt added to each round trip. toxiproxy counts whole milliseconds.
func StartDelay(upstream string, rtt time.Duration) (*Delay, error) {
	if rtt < time.Millisecond || rtt%time.Millisecond != 0 {
		return nil, fmt.Errorf("--db-latency %v: give whole milliseconds, at least 1ms", rtt)
	}
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, "wsgibench-db", "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		return nil, fmt.Errorf("starting the --db-latency proxy: %w", err)
	}
	// downstream: the database's answers are held back rtt, once per
	// round trip (a query and its result).
	toxic := fmt.Sprintf(`{"name":"rtt","type":"latency","stream":"downstream","attributes":{"latency":%d}}`, rtt.Milliseconds())
	if _, err := p.Toxics.AddToxicJson(strings.NewReader(toxic)); err != nil {
		p.Stop()
		return nil, fmt.Errorf("starting the --db-latency proxy: %w", err)
	}
	return &Delay{proxy: p, rtt: rtt}, nil
}

// Addr is the proxy's "127.0.0.1:port".
func (d *Delay) Addr() string { return d.proxy.Listen }

// Via returns dsn pointed at the proxy instead of the database.
func (d *Delay) Via(dsn DSN) DSN {
	host, port, _ := net.SplitHostPort(d.Addr())
	return dsn.With("host", host).With("hostaddr", "").With("port", port)
}

// Close stops the proxy and cuts its connections.
func (d *Delay) Close() { d.proxy.Stop() }

// tcpUpstream is where dsn connects over TCP, for the proxy; a unix
// socket or a list of hosts cannot be proxied.
func tcpUpstream(dsn DSN) (string, error) {
	host := dsn.Get("hostaddr")
	if host == "" {
		host = dsn.Get("host")
	}
	port := dsn.Get("port")
	if port == "" {
		port = "5432"
	}
	switch {
	case host == "" || strings.HasPrefix(host, "/"):
		return "", fmt.Errorf("--db-latency needs a TCP host in the DSN, not a unix socket")
	case strings.Contains(host, ",") || strings.Contains(port, ","):
		return "", fmt.Errorf("--db-latency needs one host in the DSN, not a list")
	}
	if _, err := strconv.Atoi(port); err != nil {
		return "", fmt.Errorf("--db-latency: DSN port %q is not a number", port)
	}
	return net.JoinHostPort(host, port), nil
}
