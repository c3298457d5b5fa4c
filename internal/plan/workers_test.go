package plan

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/server"
)

func ticks(n ...int) []time.Duration {
	out := make([]time.Duration, len(n))
	for i, t := range n {
		out[i] = time.Duration(t) * tick
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-3 }

func TestEvenness(t *testing.T) {
	tests := []struct {
		name        string
		cpu         []time.Duration
		shares      []float64
		maxOverFair float64
		cv          float64
		idle        int
		uneven      bool
		judged      bool
	}{
		{"even", ticks(100, 100, 100), []float64{1. / 3, 1. / 3, 1. / 3}, 1, 0, 0, false, true},
		{"one does all", ticks(0, 300, 0), []float64{1, 0, 0}, 3, math.Sqrt2, 2, true, true},
		{"two of three", ticks(150, 150, 0), []float64{.5, .5, 0}, 1.5, math.Sqrt(.5), 1, true, true},
		{"75/25 of two", ticks(150, 50), []float64{.75, .25}, 1.5, .5, 0, true, true},
		{"mild", ticks(120, 100, 80), []float64{.4, 1. / 3, 80. / 300}, 1.2, math.Sqrt(2./675) * 3, 0, false, true},
		// 30 ticks a worker on average: 1.5× fair is 15 ticks over the
		// mean, under 4√30 ≈ 22 ticks of noise; 2× fair is 30 over it.
		// An idle worker beside two busy ones is 51 ticks under a mean
		// of 51, beyond 4√51 ≈ 29 though the busiest is only 27 over.
		{"an idle worker", ticks(100, 95, 5), []float64{.5, .475, .025}, 1.5, math.Sqrt((math.Pow(.5-1./3, 2)+math.Pow(.475-1./3, 2)+math.Pow(.025-1./3, 2))/3) * 3, 1, true, true},
		{"an idle worker, just under 1.5×", ticks(98, 98, 4), []float64{.49, .49, .02}, 1.47, math.Sqrt((2*math.Pow(.49-1./3, 2)+math.Pow(.02-1./3, 2))/3) * 3, 1, true, true},
		{"1.5× within noise", ticks(45, 30, 15), []float64{.5, 1. / 3, 1. / 6}, 1.5, math.Sqrt(1./54) * 3, 0, false, true},
		{"idle beyond noise", ticks(78, 75, 0), []float64{78. / 153, 75. / 153, 0}, 78. / 51, math.Sqrt((math.Pow(78./153-1./3, 2)+math.Pow(75./153-1./3, 2)+1./9)/3) * 3, 1, true, true},
		{"2× beyond noise", ticks(60, 20, 10), []float64{2. / 3, 2. / 9, 1. / 9}, 2, math.Sqrt((1./9+1./81+4./81)/3) * 3, 0, true, true},
		{"too little CPU", ticks(25, 0, 0), []float64{1, 0, 0}, 3, math.Sqrt2, 2, false, false},
		// tornado's forked workers on a busy machine: 0.53 CPU-s, all in
		// one of six; 9 ticks each would be fair.
		{"one of six, little CPU", ticks(0, 0, 53, 0, 0, 0), []float64{1, 0, 0, 0, 0, 0}, 6, math.Sqrt(5), 5, true, true},
		// Five ticks each would be fair: the busiest at 2.4× (12 ticks) is
		// within 4√5 ≈ 9 ticks of the mean.
		{"little CPU, 2.4× within noise", ticks(12, 6, 6, 6, 0, 0), []float64{.4, .2, .2, .2, 0, 0}, 2.4, math.Sqrt((0.0544+3*0.0011+2*0.0278)/6) * 6, 2, false, true},
		{"no CPU", ticks(0, 0), []float64{0, 0}, 0, 0, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			procs := []proc.ProcCPU{{Pid: 1, Main: true, CPU: 5 * tick}}
			for i, c := range tt.cpu {
				procs = append(procs, proc.ProcCPU{Pid: 10 + i, Cmd: "python -m gunicorn", CPU: c})
			}
			l := workerLoad(procs, server.Workers{})
			if l == nil {
				t.Fatal("workerLoad = nil")
			}
			if l.Workers != len(tt.cpu) || len(l.Shares) != len(tt.shares) {
				t.Fatalf("load = %+v, want %d workers", l, len(tt.cpu))
			}
			for i := range tt.shares {
				if !near(l.Shares[i], tt.shares[i]) {
					t.Errorf("Shares = %v, want %v", l.Shares, tt.shares)
					break
				}
			}
			if !near(l.MaxOverFair, tt.maxOverFair) || !near(l.CV, tt.cv) || l.Idle != tt.idle {
				t.Errorf("max÷fair %.3f, CV %.3f, idle %d; want %.3f, %.3f, %d", l.MaxOverFair, l.CV, l.Idle, tt.maxOverFair, tt.cv, tt.idle)
			}
			if l.Uneven != tt.uneven || (l.Note == "") != tt.judged {
				t.Errorf("Uneven %v, Note %q; want uneven %v, judged %v", l.Uneven, l.Note, tt.uneven, tt.judged)
			}
		})
	}
}

// The main process, helpers and multiprocessing's trackers are no workers;
// with fewer than two workers there is nothing to spread.
func TestWorkerLoadWhoIsAWorker(t *testing.T) {
	main := proc.ProcCPU{Pid: 1, Main: true, Cmd: "/usr/sbin/apache2 -f x", CPU: 100 * tick}
	daemon := func(pid, n int) proc.ProcCPU {
		return proc.ProcCPU{Pid: pid, Cmd: "(wsgi:wsgibench)    ", CPU: time.Duration(n) * tick}
	}
	child := proc.ProcCPU{Pid: 5, Cmd: "/usr/sbin/apache2 -f x", CPU: 200 * tick}
	tracker := proc.ProcCPU{Pid: 6, Cmd: "/usr/bin/python3 -c from multiprocessing.resource_tracker import main;main(5)"}

	l := workerLoad([]proc.ProcCPU{main, child, daemon(2, 300), daemon(3, 300)}, server.Workers{Cmd: "(wsgi:"})
	if l == nil || l.Workers != 2 || l.Uneven || !near(l.MainShare, 1./9) || !near(l.HelperShare, 2./9) || !near(l.MaxOverFair, 1) {
		t.Errorf("mod_wsgi-like tree: %+v, want 2 even workers, main 1/9, helpers 2/9", l)
	}
	l = workerLoad([]proc.ProcCPU{main, tracker, daemon(2, 300), daemon(3, 300)}, server.Workers{})
	if l == nil || l.Workers != 2 || l.Idle != 0 {
		t.Errorf("resource tracker counted as a worker: %+v", l)
	}
	for name, procs := range map[string][]proc.ProcCPU{
		"one process":         {main},
		"master and a worker": {main, daemon(2, 300)},
		"worker and tracker":  {main, daemon(2, 300), tracker},
	} {
		if l := workerLoad(procs, server.Workers{}); l != nil {
			t.Errorf("%s: %+v, want nil", name, l)
		}
	}
	// uWSGI: the router (busiest) is taken for the helper; the three
	// workers behind it are even. When one worker does everything, the
	// flag stands even though it is taken for the router.
	router := server.Workers{Helpers: 1, HelpersWhy: "the HTTP router"}
	uwsgi := func(n ...int) []proc.ProcCPU {
		out := []proc.ProcCPU{{Pid: 1, Main: true, Cmd: "uwsgi --http"}}
		for i, c := range n {
			out = append(out, proc.ProcCPU{Pid: 2 + i, Cmd: "uwsgi --http", CPU: time.Duration(c) * tick})
		}
		return out
	}
	l = workerLoad(uwsgi(60, 46, 46, 44), router)
	if l == nil || l.Workers != 3 || l.Uneven || l.MaxOverFair > 1.1 || !near(l.HelperShare, 60./196) || !strings.Contains(l.Assumed, "the busiest process was taken for the HTTP router") {
		t.Errorf("uWSGI-like even tree: %+v", l)
	}
	l = workerLoad(uwsgi(140, 60, 0, 0), router)
	if l == nil || l.Workers != 3 || !l.Uneven {
		t.Errorf("uWSGI-like tree with one busy worker: %+v, want uneven", l)
	}
	if l := workerLoad(uwsgi(60, 46), router); l != nil {
		t.Errorf("router and one worker: %+v, want nil", l)
	}
}

func TestBalanceAndRemedy(t *testing.T) {
	load := func(r float64, uneven bool) *results.WorkerLoad {
		return &results.WorkerLoad{Workers: 3, MaxOverFair: r, Uneven: uneven}
	}
	run := &results.Run{Trials: []results.Trial{
		{RPS: 1000, WorkerLoad: load(1.1, false)},
		{RPS: 960, WorkerLoad: load(2.9, true)},
		{RPS: 1000, WorkerLoad: load(1.2, false)},
		{RPS: 900, WorkerLoad: &results.WorkerLoad{Note: "not judged"}},
		{RPS: 950},
	}}
	b := balance(run.Trials)
	if b == nil || b.Trials != 3 || b.Uneven != 1 || !near(b.MedianMaxOverFair, 1.2) || !near(b.WorstMaxOverFair, 2.9) || !b.Flagged() {
		t.Fatalf("balance = %+v", b)
	}
	if !strings.Contains(unevenWarning(b), "1 of 3 trials") || !strings.Contains(unevenWarning(b), "2.9×") {
		t.Errorf("warning = %q", unevenWarning(b))
	}
	if balance([]results.Trial{{RPS: 1}}) != nil || (*results.Balance)(nil).Flagged() {
		t.Error("a run without judged trials has no balance")
	}
	run.Balance = b
	tests := []struct {
		name   string
		rps    []float64
		loads  []results.WorkerLoad
		helped bool
		want   string
	}{
		{"helped", []float64{990, 1010, 1000}, []results.WorkerLoad{*load(1.1, false), *load(1.0, false), *load(1.2, false)}, true,
			"with --reuse-port: helped, uneven in 0 of 3 trials (without: 1 of 3), busiest worker 1.1× its fair share (without: 1.2×), 1000 req/s (without: 960; ~ (p="},
		{"still uneven", []float64{1000, 600}, []results.WorkerLoad{*load(1.1, false), *load(2.8, true)}, false, "did not help, uneven in 1 of 2"},
		{"noisy, not significantly slower", []float64{800, 1000, 990}, []results.WorkerLoad{*load(1.0, false), *load(1.0, false), *load(1.0, false)}, true, "helped"},
		{"slower beyond noise", []float64{800, 810, 790}, []results.WorkerLoad{*load(1.0, false), *load(1.0, false), *load(1.0, false)}, false,
			"evened the load but cost throughput, uneven in 0 of 3 trials (without: 1 of 3), busiest worker 1.0× its fair share (without: 1.2×), 800 req/s (without: 960; -17% (p=0.036 n=5+3)) on 1 CPU"},
		{"failed", nil, nil, false, "could not be measured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := &results.RemedyResult{Argv: []string{"--reuse-port"}, Trials: len(tt.rps), Loads: tt.loads, CPUs: 1}
			if tt.rps == nil {
				res.Error = "exit status 1"
			}
			compareRemedy(res, run, tt.rps)
			if res.Helped != tt.helped || !strings.Contains(res.Verdict, tt.want) {
				t.Errorf("Helped %v, verdict %q; want %v, %q", res.Helped, res.Verdict, tt.helped, tt.want)
			}
		})
	}
}

func TestWithRemedy(t *testing.T) {
	l := server.Launch{Argv: []string{"python", "-m", "gunicorn", "app:application"}, Settings: map[string]string{"workers": "3"}}
	got := withRemedy(l, server.Remedy{Argv: []string{"--reuse-port"}, Setting: "reuse_port", Value: "True"})
	if strings.Join(got.Argv, " ") != "python -m gunicorn app:application --reuse-port" || got.Settings["reuse_port"] != "True" {
		t.Errorf("withRemedy = %+v", got)
	}
	if len(l.Argv) != 4 || l.Settings["reuse_port"] != "" {
		t.Errorf("withRemedy changed its input: %+v", l)
	}
}
