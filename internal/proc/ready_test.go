package proc

import (
	"errors"
	"testing"
)

func TestInformativeLine(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{"empty", nil, "no output"},
		{"python traceback", []string{
			"Traceback (most recent call last):",
			`  File "<string>", line 1, in <module>`,
			"ModuleNotFoundError: No module named 'nosuchmodule'",
		}, "ModuleNotFoundError: No module named 'nosuchmodule'"},
		{"gunicorn boot failure", []string{
			"[2024-01-01 10:00:00 +0000] [10] [INFO] Booting worker with pid: 11",
			"[2024-01-01 10:00:00 +0000] [11] [ERROR] Exception in worker process",
			"Traceback (most recent call last):",
			`  File "/usr/lib/python3/dist-packages/gunicorn/util.py", line 359, in import_app`,
			"    mod = importlib.import_module(module)",
			"ModuleNotFoundError: No module named 'app'",
			"[2024-01-01 10:00:00 +0000] [11] [INFO] Worker exiting (pid: 11)",
			"[2024-01-01 10:00:00 +0000] [10] [INFO] Shutting down: Master",
			"[2024-01-01 10:00:00 +0000] [10] [INFO] Reason: Worker failed to boot.",
			"",
		}, "ModuleNotFoundError: No module named 'app'"},
		{"gunicorn halt traceback", []string{
			"ModuleNotFoundError: No module named 'nosuchapp'",
			"[2026-11-26 23:44:15 +0000] [20085] [INFO] Worker exiting (pid: 20085)",
			"Traceback (most recent call last):",
			`  File "/usr/lib/python3/dist-packages/gunicorn/arbiter.py", line 525, in reap_workers`,
			"    raise HaltServer(reason, self.WORKER_BOOT_ERROR)",
			"gunicorn.errors.HaltServer: <HaltServer 'Worker failed to boot.' 3>",
			"",
			"During handling of the above exception, another exception occurred:",
			"",
			"Traceback (most recent call last):",
			`  File "/usr/lib/python3/dist-packages/gunicorn/arbiter.py", line 525, in reap_workers`,
			"    raise HaltServer(reason, self.WORKER_BOOT_ERROR)",
			"gunicorn.errors.HaltServer: <HaltServer 'Worker failed to boot.' 3>",
		}, "ModuleNotFoundError: No module named 'nosuchapp'"},
		{"port in use", []string{
			"[INFO] Starting gunicorn 20.1.0",
			"[ERROR] Connection in use: ('127.0.0.1', 8001)",
			"[ERROR] Retrying in 1 second.",
			"[ERROR] Can't connect to ('127.0.0.1', 8001)",
		}, "[ERROR] Can't connect to ('127.0.0.1', 8001)"},
		{"nothing errorish", []string{"starting", "configured", ""}, "configured"},
		{"only chatter", []string{"Shutting down: Master"}, "Shutting down: Master"},
		{"flattened", []string{"fatal:\tsomething   odd"}, "fatal: something odd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := informativeLine(tt.lines); got != tt.want {
				t.Errorf("informativeLine = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLastWords(t *testing.T) {
	if got := lastWords([]string{"a", "b", " "}, nil); got != "b" {
		t.Errorf("lastWords = %q", got)
	}
	if got := lastWords(nil, errors.New("dial tcp: connection refused")); got != "no output; last probe: dial tcp: connection refused" {
		t.Errorf("lastWords = %q", got)
	}
}

func TestExitErrorString(t *testing.T) {
	if got := (&ExitError{Code: 3}).Error(); got != "exit status 3" {
		t.Errorf("got %q", got)
	}
	if got := (&ExitError{Signal: 9}).Error(); got != "signal: killed" {
		t.Errorf("got %q", got)
	}
}
