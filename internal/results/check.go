package results

import (
	"fmt"
	"strings"
)

// Check is the app portability check's answer (package check): does the
// app behave the same whichever concurrency model serves it? The ranking
// reads it to keep servers whose model breaks the app out of the verdict.
type Check struct {
	App string `json:"app"`
	// RequestsFrom says where the requests came from ("workload crud",
	// "GET / (default)"); Requests are the ones sent, in order.
	RequestsFrom string   `json:"requests_from"`
	Requests     []string `json:"requests"`
	// Models holds one row per model, in the order CheckModels lists.
	Models   []CheckModel `json:"models"`
	Warnings []string     `json:"warnings,omitempty"`
}

// The check's rows.
const (
	CheckPEP3333  = "pep3333"
	CheckProcess  = "process"
	CheckThread   = "thread"
	CheckGreenlet = "greenlet"
)

// CheckModels is the order rows are shown in.
var CheckModels = []string{CheckPEP3333, CheckProcess, CheckThread, CheckGreenlet}

// Verdicts of a row.
const (
	CheckSafe    = "safe"
	CheckUnsafe  = "unsafe"
	CheckSkipped = "not checked"
)

// CheckModel is one row: the verdict, how it was reached, and the evidence
// (empty when safe).
type CheckModel struct {
	Model    string          `json:"model"`
	Verdict  string          `json:"verdict"`
	How      string          `json:"how"`
	Evidence []CheckEvidence `json:"evidence,omitempty"`
}

// CheckEvidence is one finding and the request that showed it, when one did.
type CheckEvidence struct {
	Request string `json:"request,omitempty"` // "GET /items/3"
	What    string `json:"what"`
}

// Row returns the named row, or nil.
func (c *Check) Row(model string) *CheckModel {
	if c == nil {
		return nil
	}
	for i := range c.Models {
		if c.Models[i].Model == model {
			return &c.Models[i]
		}
	}
	return nil
}

// Portable is true when every concurrency model was checked and is safe
// (PEP 3333 violations count too: a server may reject what another lets by).
func (c *Check) Portable() bool {
	if c == nil || len(c.Models) == 0 {
		return false
	}
	for _, m := range c.Models {
		if m.Verdict != CheckSafe {
			return false
		}
	}
	return true
}

// Breaks says why a server of this model and shape would break the app
// the check judged, or "" when nothing the check found stands in its way:
// several processes need process safety, several threads (or a thread per
// connection, Threads 0) thread safety, and greenlet servers greenlet
// safety. The shape is the effective one, so an event loop that runs WSGI
// inline (tornado: 1 thread) needs no thread safety and one that hands it
// to a pool (uvicorn: 10) does.
func (c *Check) Breaks(model string, s Shape) string {
	if c == nil {
		return ""
	}
	var why []string
	unsafe := func(row string) *CheckModel {
		if m := c.Row(row); m != nil && m.Verdict == CheckUnsafe {
			return m
		}
		return nil
	}
	if m := unsafe(CheckProcess); m != nil && s.Workers > 1 {
		why = append(why, "the app is not safe under several processes ("+firstEvidence(m)+")")
	}
	if m := unsafe(CheckThread); m != nil && s.Threads != 1 {
		why = append(why, "the app is not safe under threads ("+firstEvidence(m)+")")
	}
	if m := unsafe(CheckGreenlet); m != nil && model == "greenlet" {
		why = append(why, "the app is not safe under greenlets ("+firstEvidence(m)+")")
	}
	return strings.Join(why, "; ")
}

func firstEvidence(m *CheckModel) string {
	if len(m.Evidence) == 0 {
		return "no detail"
	}
	e := m.Evidence[0]
	s := e.What
	if e.Request != "" {
		s = e.Request + ": " + s
	}
	if n := len(m.Evidence); n > 1 {
		s += fmt.Sprintf(", and %d more", n-1)
	}
	return s
}
