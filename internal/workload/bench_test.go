package workload

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/load"
)

// benchServerEnv makes the test binary a fast CRUD-shaped HTTP server (see
// fastServer) instead of running tests.
const benchServerEnv = "WSGIBENCH_FAST_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(benchServerEnv) != "" {
		fastServer()
		return
	}
	os.Exit(m.Run())
}

// fastServer answers as the bundled app's /items would, as cheaply as it
// can: POST 201 with a new id, DELETE 204, anything else 200 with a small
// JSON body; it honours Content-Length and pipelining. It prints its
// address, serves until its stdin closes, and runs on one thread, so the
// generator, in another process, is what the benchmark measures.
func fastServer() {
	runtime.GOMAXPROCS(1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr())
	go func() {
		var b [1]byte
		os.Stdin.Read(b[:])
		os.Exit(0)
	}()
	var next int64
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			r := bufio.NewReaderSize(c, 16<<10)
			w := bufio.NewWriterSize(c, 16<<10)
			var body []byte
			for {
				line, err := r.ReadSlice('\n')
				if err != nil {
					return
				}
				method := line[:max(0, bytes.IndexByte(line, ' '))]
				length := 0
				for {
					h, err := r.ReadSlice('\n')
					if err != nil {
						return
					}
					if len(h) <= 2 {
						break
					}
					if len(h) > 16 && (h[0] == 'C' || h[0] == 'c') && strings.EqualFold(string(h[:15]), "content-length:") {
						length, _ = strconv.Atoi(strings.TrimSpace(string(h[15:])))
					}
				}
				if _, err := r.Discard(length); err != nil {
					return
				}
				switch string(method) {
				case "POST":
					next++
					body = strconv.AppendInt(append(body[:0], `{"id": `...), next, 10)
					body = append(body, `, "name": "item"}`...)
					fmt.Fprintf(w, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
					w.Write(body)
				case "DELETE":
					w.WriteString("HTTP/1.1 204 No Content\r\n\r\n")
				default:
					w.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{\"id\": 1, \"name\": \"item-1\"}")
				}
				if r.Buffered() == 0 {
					if w.Flush() != nil {
						return
					}
				}
			}
		}()
	}
}

// startFastServer runs fastServer in a child process.
func startFastServer(b *testing.B) string {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), benchServerEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	return strings.TrimSpace(addr)
}

// BenchmarkScenarioCPU measures the generator's CPU per request with the
// crud scenario (templated requests, a lifecycle flow whose create answer
// is parsed for the id the later steps use) and with one static request,
// against a fast server in another process, alternating the two each
// iteration so drift on a shared machine hits both. The target is crud ≤
// 1.3× static.
//
//	go test -run XXX -bench ScenarioCPU -benchtime 5x ./internal/workload/
func BenchmarkScenarioCPU(b *testing.B) {
	addr := startFastServer(b)
	crud, err := Parse("crud")
	if err != nil {
		b.Fatal(err)
	}
	mixes := []struct {
		name string
		mix  []load.Template
	}{
		{"static", []load.Template{{Name: "read", Path: "/items/1", Header: []string{"Accept: application/json"}}}},
		{"crud", crud.Mix},
	}
	cpu := make([]time.Duration, len(mixes))
	reqs := make([]int64, len(mixes))
	for b.Loop() {
		for i, m := range mixes {
			res, err := load.Run(context.Background(), load.Config{Addr: addr, Mix: m.mix, Connections: 50, Duration: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			if res.Errors.Total() != 0 || len(res.CaptureMisses) > 0 {
				b.Fatalf("%s: errors %+v, capture misses %v, unexpected %v", m.name, res.Errors, res.CaptureMisses, res.Unexpected)
			}
			if m.name == "crud" && res.Flows.Completed == 0 {
				b.Fatalf("crud: no flow completed: %+v", res.Flows)
			}
			cpu[i] += res.GeneratorCPU
			reqs[i] += res.Requests
		}
	}
	per := func(i int) float64 { return float64(cpu[i].Microseconds()) / float64(reqs[i]) }
	b.ReportMetric(per(0), "static-cpu-µs/req")
	b.ReportMetric(per(1), "crud-cpu-µs/req")
	b.ReportMetric(per(1)/per(0), "crud/static")
}
