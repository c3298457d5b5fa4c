package trouble

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Reloader is a server that can swap in new application code while it
// serves: by its own graceful means (a signal), or else by a restart on
// the same address, which graceful reports.
type Reloader interface {
	Reload(ctx context.Context) (how string, graceful bool, err error)
}

// reloadCheck bounds how long the reload scenario waits for new code to
// be served after the reload, apart from the victims' window: a graceful
// reload may take longer than the window to replace every worker.
const reloadCheck = 10 * time.Second

// samples is how many requests on fresh connections must show the new
// code after the reload: with several workers, each is likely asked.
const samples = 10

// reload deploys a new version of the probe app while the victims load
// the server: it records a new version token through the app (which a
// process reads when it imports the app), reloads, then checks how soon
// and how widely the new version is served. The victims' numbers say what
// the reload cost them: failed requests and the longest wait.
func reload(ctx context.Context, s Server, o Options) (func() string, <-chan struct{}, error) {
	rl, ok := s.(Reloader)
	if !ok {
		return nil, nil, errors.New("this server cannot be reloaded")
	}
	token := fmt.Sprintf("v%d", time.Now().UnixNano())
	check, cancel := context.WithTimeout(context.WithoutCancel(ctx), reloadCheck+lead+time.Second)
	old, err := version(check, s.Addr(), token)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("recording the new version: %w", err)
	}
	var mu sync.Mutex // guards what
	what := "not reloaded: the window ended first"
	set := func(w string) { mu.Lock(); what = w; mu.Unlock() }
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		// Mid-load: once the victims are under way.
		select {
		case <-ctx.Done():
			return
		case <-time.After(lead + 300*time.Millisecond):
		}
		t0 := time.Now()
		how, graceful, err := rl.Reload(check)
		if err != nil {
			set("the reload failed: " + err.Error())
			return
		}
		if graceful {
			how = "graceful reload by " + how
		}
		// Wait for the new code, then ask on fresh connections who serves it.
		var first time.Duration
		for first == 0 {
			if v, err := version(check, s.Addr(), ""); err == nil && v == token {
				first = time.Since(t0)
				break
			}
			select {
			case <-check.Done():
				set(fmt.Sprintf("%s; the new code was not served within %.0fs (still %q)", how, reloadCheck.Seconds(), old))
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
		n := 0
		for range samples {
			if v, err := version(check, s.Addr(), ""); err == nil && v == token {
				n++
			}
		}
		set(fmt.Sprintf("%s 0.3 s into the window; new code served %.1fs after it, then by %d of %d requests on fresh connections",
			how, first.Seconds(), n, samples))
	}()
	return func() string { mu.Lock(); defer mu.Unlock(); return what }, done, nil
}

// version asks the probe app which version it imported, first recording
// set as the next one when set is not empty. Each call uses a fresh
// connection, so successive calls may reach different workers.
func version(ctx context.Context, addr, set string) (string, error) {
	url := "http://" + addr + "/probe/version"
	if set != "" {
		url += "?set=" + set
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	c := http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /probe/version: %s", resp.Status)
	}
	return strings.TrimSpace(string(b)), nil
}
