package check

import (
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// describeFD turns a /proc fd link into words: "socket:[123]" becomes the
// connection it is ("a TCP connection to 127.0.0.1:5432", "a Unix socket
// /run/postgresql/.s.PGSQL.5432") when /proc/net still lists it.
func describeFD(what string) string {
	inode, ok := strings.CutPrefix(what, "socket:[")
	if !ok {
		if strings.HasPrefix(what, "/") {
			return "the file " + what
		}
		return what
	}
	inode = strings.TrimSuffix(inode, "]")
	for _, f := range []string{"tcp", "tcp6"} {
		if peer := tcpPeer("/proc/net/"+f, inode); peer != "" {
			return "a TCP connection to " + peer
		}
	}
	if path, ok := unixPath(inode); ok {
		if path == "" {
			return "a Unix socket"
		}
		return "a Unix socket " + path
	}
	return "a socket (" + what + ")"
}

// tcpPeer finds inode in a /proc/net/tcp table and returns its remote
// address, or "" (also for a listening socket).
func tcpPeer(table, inode string) string {
	data, err := os.ReadFile(table)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 10 || f[9] != inode {
			continue
		}
		host, port, ok := strings.Cut(f[2], ":")
		if !ok {
			return ""
		}
		b, err := hex.DecodeString(host)
		if err != nil {
			return ""
		}
		// /proc/net/tcp prints the address as host-order 32-bit words.
		for i := 0; i+4 <= len(b); i += 4 {
			b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
		}
		p, _ := strconv.ParseUint(port, 16, 16)
		if p == 0 {
			return ""
		}
		return net.JoinHostPort(net.IP(b).String(), fmt.Sprint(p))
	}
	return ""
}

func unixPath(inode string) (string, bool) {
	data, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		return "", false
	}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 7 && f[6] == inode {
			if len(f) >= 8 {
				return f[7], true
			}
			return "", true
		}
	}
	return "", false
}
