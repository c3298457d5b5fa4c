package pgsql

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// DSN is a libpq connection string taken apart, so wsgibench can point it
// at another database, say where it connects in an error, and write it out
// without the password. Both libpq forms parse: the URI
// (postgresql://user:secret@host:5432/db?sslmode=disable) and key=value
// pairs (host=/tmp port=5432 password='a b').
type DSN struct {
	kv map[string]string
}

// ParseDSN reads either libpq form. It checks the syntax only; whether the
// keywords mean anything is libpq's business.
func ParseDSN(s string) (DSN, error) {
	s = strings.Trim(s, spaces)
	if s == "" {
		return DSN{}, fmt.Errorf("empty DSN")
	}
	if strings.HasPrefix(s, "postgresql://") || strings.HasPrefix(s, "postgres://") {
		return parseURI(s)
	}
	return parseKV(s)
}

// parseURI follows libpq's URI syntax rather than net/url's, which refuses
// the percent-encoded socket directories libpq allows as a host
// (postgresql://%2Frun%2Fpostgresql/db) and host lists.
func parseURI(s string) (DSN, error) {
	bad := fmt.Errorf("DSN is not a valid postgresql:// URI") // never quote it: it may hold the password
	_, rest, _ := strings.Cut(s, "://")
	rest, query, _ := strings.Cut(rest, "?")
	authority, db, _ := strings.Cut(rest, "/")
	d := DSN{kv: map[string]string{}}
	set := func(k, raw string) bool {
		v, err := url.PathUnescape(raw)
		if err != nil {
			return false
		}
		if v != "" {
			d.kv[k] = v
		}
		return true
	}
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo := authority[:i]
		authority = authority[i+1:]
		u, p, hasPw := strings.Cut(userinfo, ":")
		if !set("user", u) {
			return DSN{}, bad
		}
		if hasPw {
			if !set("password", p) {
				return DSN{}, bad
			}
		}
	}
	var hosts, ports []string
	for _, hp := range strings.Split(authority, ",") {
		h, p := hp, ""
		if strings.HasPrefix(hp, "[") {
			end := strings.Index(hp, "]")
			if end < 0 {
				return DSN{}, bad
			}
			h, p = hp[1:end], strings.TrimPrefix(hp[end+1:], ":")
		} else if i := strings.LastIndex(hp, ":"); i >= 0 {
			h, p = hp[:i], hp[i+1:]
		}
		h, err := url.PathUnescape(h)
		if err != nil {
			return DSN{}, bad
		}
		hosts = append(hosts, h)
		ports = append(ports, p)
	}
	if strings.Join(hosts, "") != "" {
		d.kv["host"] = strings.Join(hosts, ",")
	}
	if strings.Join(ports, "") != "" {
		d.kv["port"] = strings.Join(ports, ",")
	}
	if !set("dbname", db) {
		return DSN{}, bad
	}
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return DSN{}, bad
		}
		for k, vs := range q {
			if !validKey(k) {
				return DSN{}, fmt.Errorf("DSN: %q is not a connection keyword", safePrefix(k))
			}
			if len(vs) > 0 {
				d.kv[k] = vs[len(vs)-1]
			}
		}
	}
	return d, nil
}

func parseKV(s string) (DSN, error) {
	d := DSN{kv: map[string]string{}}
	i := 0
	skip := func() {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
	}
	for {
		skip()
		if i >= len(s) {
			return d, nil
		}
		start := i
		for i < len(s) && s[i] != '=' && !isSpace(s[i]) {
			i++
		}
		key := s[start:i]
		skip()
		if !validKey(key) || i >= len(s) || s[i] != '=' {
			return DSN{}, fmt.Errorf("DSN: expected key=value near %q (or use a postgresql:// URI)", safePrefix(key))
		}
		i++
		skip()
		var val strings.Builder
		if i < len(s) && s[i] == '\'' {
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					val.WriteByte(s[i+1])
					i += 2
					continue
				}
				i++
				if c == '\'' {
					closed = true
					break
				}
				val.WriteByte(c)
			}
			if !closed {
				return DSN{}, fmt.Errorf("DSN: unterminated quoted value for %q", safePrefix(key))
			}
		} else {
			for i < len(s) && !isSpace(s[i]) {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					val.WriteByte(s[i+1])
					i += 2
					continue
				}
				val.WriteByte(c)
				i++
			}
		}
		d.kv[key] = val.String()
	}
}

// spaces are what libpq's isspace() skips between key=value pairs.
const spaces = " \t\n\v\f\r"

func isSpace(c byte) bool { return strings.IndexByte(spaces, c) >= 0 }

// validKey accepts what a libpq keyword looks like (dbname, sslmode,
// target_session_attrs).
func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i, c := range k {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// safePrefix keeps a parse error from echoing a long chunk of the DSN,
// which may be the password.
func safePrefix(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}

// Get returns a keyword's value ("" if unset).
func (d DSN) Get(key string) string { return d.kv[key] }

// With returns a copy with key set to value (removed when value is "").
func (d DSN) With(key, value string) DSN {
	kv := make(map[string]string, len(d.kv)+1)
	for k, v := range d.kv {
		kv[k] = v
	}
	if value == "" {
		delete(kv, key)
	} else {
		kv[key] = value
	}
	return DSN{kv: kv}
}

// Password is the password in the DSN, if any (libpq may still find one in
// PGPASSWORD or ~/.pgpass).
func (d DSN) Password() string { return d.kv["password"] }

// Where says where the DSN connects, for messages: "127.0.0.1:5432",
// "unix socket /run/postgresql:5432", or "libpq defaults (PGHOST, ...)".
func (d DSN) Where() string {
	host, port := d.kv["host"], d.kv["port"]
	if host == "" && d.kv["hostaddr"] != "" {
		host = d.kv["hostaddr"]
	}
	if port == "" {
		port = "5432"
	}
	switch {
	case host == "":
		return "the libpq default host, port " + port
	case strings.HasPrefix(host, "/"):
		return "unix socket " + host + " port " + port
	}
	return "host " + host + " port " + port
}

// String is the DSN as libpq key=value pairs, password included: for the
// app's environment, never for messages or results (use Redacted).
func (d DSN) String() string { return d.format(false) }

// Redacted is String with the password replaced by ***.
func (d DSN) Redacted() string { return d.format(true) }

func (d DSN) format(redact bool) string {
	keys := make([]string, 0, len(d.kv))
	for k := range d.kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := d.kv[k]
		if redact && k == "password" {
			v = "***"
		}
		parts = append(parts, k+"="+quote(v))
	}
	return strings.Join(parts, " ")
}

func quote(v string) string {
	if v != "" && !strings.ContainsAny(v, spaces+"'\\") {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(v) + "'"
}

// Redact removes the password (and its URL-encoded form) from s, for
// anything that may echo a DSN back: libpq errors, logs, results.
func (d DSN) Redact(s string) string {
	p := d.Password()
	if p == "" {
		return s
	}
	s = strings.ReplaceAll(s, p, "***")
	if e := url.QueryEscape(p); e != p {
		s = strings.ReplaceAll(s, e, "***")
	}
	if e := url.PathEscape(p); e != p {
		s = strings.ReplaceAll(s, e, "***")
	}
	return s
}
