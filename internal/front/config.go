package front

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/wsgibench/wsgibench/internal/deploy"
)

// InvalidationVCL makes writes invalidate what Varnish cached of the item
// they wrote, so reads stay correct while Varnish otherwise follows its
// built-in rules (it caches only what the app's Cache-Control allows).
//
// The ban is added after the server answered the write, not when the write
// arrives: a ban on arrival can be undone by a read that misses, fetches the
// old item and stores it just before the write commits. Each cached object
// carries its URL in a header so the ban lurker can evaluate the ban in the
// background, then the header is removed before delivery. No subroutine
// returns, so Varnish's built-in logic still runs after this.
//
// Package deploy's varnish.vcl should carry the same lines, so that the
// recommended config is the measured one.
const InvalidationVCL = `
import std;

# Writes invalidate the item they wrote (added by wsgibench: Varnish caches
# what the app's Cache-Control allows; a PUT or DELETE that succeeded bans the
# cached copy of its URL, so the next read fetches the new state).
sub vcl_backend_response {
    if (bereq.method != "GET" && bereq.method != "HEAD" && beresp.status < 400) {
        std.ban("obj.http.x-wsgibench-url == " + bereq.url);
    }
    set beresp.http.x-wsgibench-url = bereq.url;
}

sub vcl_deliver {
    unset resp.http.x-wsgibench-url;
}
`

// FromDeploy renders what package deploy writes for in (the server as it
// is being measured, in.Listen its loopback address) and keeps the
// front's part: the VCL plus InvalidationVCL, varnishd's -p parameters from
// the systemd drop-in, and the nginx site. dir receives deploy's files.
func FromDeploy(in deploy.Input, dir string) (Config, error) {
	if _, err := deploy.Generate(dir, in); err != nil {
		return Config{}, fmt.Errorf("front config: %w", err)
	}
	read := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", fmt.Errorf("front config: deploy wrote no %s: %w", name, err)
		}
		return string(b), nil
	}
	var c Config
	vcl, err := read("varnish.vcl")
	if err != nil {
		return c, err
	}
	c.VCL = healthyAtStart(vcl) + InvalidationVCL
	drop, err := read("varnish.service.conf")
	if err != nil {
		return c, err
	}
	c.VarnishParams = varnishParams(drop)
	if c.NginxSite, err = read("nginx.conf"); err != nil {
		return c, err
	}
	return c, nil
}

// varnishParams picks the -p name=value arguments of the drop-in's
// ExecStart line.
func varnishParams(dropIn string) []string {
	var out []string
	for _, l := range strings.Split(dropIn, "\n") {
		cmd, ok := strings.CutPrefix(strings.TrimSpace(l), "ExecStart=")
		if !ok || cmd == "" {
			continue
		}
		f := strings.Fields(cmd)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "-p" {
				out = append(out, f[i+1])
				i++
			}
		}
	}
	return out
}

var (
	probeThreshold = regexp.MustCompile(`(?m)^(\s*)\.threshold = (\d+);`)
	probeInitial   = regexp.MustCompile(`(?m)^(\s*)\.initial = \d+;`)
)

// healthyAtStart makes the health probe start out healthy (.initial =
// .threshold). Deploy's VCL starts it sick, so that a production Varnish
// sends nothing to a server still importing the app; it then waits for the
// first probe, which Varnish sends at a random point of the first interval
// (seconds). wsgibench starts the front only once the server answered, so
// that wait would only add seconds to every trial. Everything else about the
// probe (interval, window, threshold) runs as deployed.
func healthyAtStart(vcl string) string {
	m := probeThreshold.FindStringSubmatch(vcl)
	if m == nil {
		return vcl
	}
	return probeInitial.ReplaceAllString(vcl, "${1}.initial = "+m[2]+";")
}
