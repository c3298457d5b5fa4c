package report

import (
	"fmt"
	"strings"

	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/results"
)

// sepMark follows a value the data separate from the next server's on
// the same factor (the server below it in the ranking).
const sepMark = "‡"

// mdFactors writes what separates the servers, in order (rank.Factors):
// each factor with what leaving it out and doubling it did to the
// ranking, every server's measured value, and the winner under each
// built-in profile. Only measurements: no factor is called important
// unless varying it moved the ranking.
func mdFactors(p func(string, ...any), f *results.File) {
	t, err := rank.FactorsFor(f)
	if err != nil || len(t.Servers) < 2 {
		return
	}
	p("### What separates these servers, in order\n\n")
	p("Each factor's effect is measured: the servers were ranked again with the factor left out and with its weight doubled, "+
		"and the factors are ordered by how much that moved the ranking (a new winner first, then places moved, then the change in score gaps to the leader). "+
		"First place as ranked: %s.\n\n", mdText(winnersText(t.Winners, len(t.Servers))))
	if t.Restated {
		p("%s\n\n", restatedNote)
	}
	for i, fa := range t.Factors {
		ev := mdEvidence(f, fa.Evidence, t.Workload)
		p("%d. **%s** (%s): ", i+1, mdText(fa.Name), mdText(fa.Weighting))
		if !fa.Moved() {
			p("moved nothing here: left out or doubled, the same places and scores. ")
		} else {
			p("left out, %s; doubled, %s. ", mdText(fa.LeftOut.Describe()), mdText(fa.Doubled.Describe()))
		}
		p("Measured: %s; %s.\n", mdText(fa.What), ev)
	}
	if len(t.Unmeasured) > 0 {
		var names []string
		for _, fa := range t.Unmeasured {
			names = append(names, fa.Name)
		}
		p("\nNot measured in this file, so not judged: %s.\n", mdText(rank.JoinAnd(names)))
	}
	p("\n")

	// The values: servers in ranking order, factors in the order above.
	p("| place | server |")
	for _, fa := range t.Factors {
		p(" %s (%s) |", mdText(fa.Short), mdText(fa.Unit))
	}
	p("\n|--:|---|")
	for range t.Factors {
		p("--:|")
	}
	p("\n")
	for i, s := range t.Servers {
		p("| %d | %s |", s.Position, mdText(s.Server))
		for _, fa := range t.Factors {
			v := fa.Values[i]
			switch {
			case !v.Has:
				p(" – |")
			case v.Separated:
				p(" %s %s |", mdText(v.Short), sepMark)
			default:
				p(" %s |", mdText(v.Short))
			}
		}
		p("\n")
	}
	p("\n%s: the data separate this server from the next one down on that factor (the ranking's own tests: Mann-Whitney at α for trials, "+
		"a %.0f%% gap for single measurements such as capacity searches, ceilings and trouble scenarios run once, ranges that do not overlap for trouble scenarios run several times, any difference for the exact conformance probes). "+
		"–: no value the ranking scores for that server (not measured, or not scored: its reasons say why).\n\n", sepMark, rank.CapacityMargin*100)

	p("**Winner under each profile:** ")
	var ws []string
	for _, pw := range t.Profiles {
		w := winnersText(pw.Winners, len(t.Servers))
		switch {
		case pw.Err != "":
			w = "cannot rank: " + firstLine(pw.Err)
		case len(pw.Winners) == 0:
			w = "none"
		case len(pw.Winners) > 1 && len(pw.Winners) < len(t.Servers):
			w += " (tie)"
		}
		ws = append(ws, fmt.Sprintf("%s → %s", mdCode(pw.Profile), mdText(w)))
	}
	p("%s.\n\n", strings.Join(ws, "; "))
}

// mdEvidence links a factor's evidence to its section of summary.md.
func mdEvidence(f *results.File, ev, workload string) string {
	var title string
	switch ev {
	case rank.EvidenceCeilings:
		title = "Target machine and parallelism ceilings"
	case rank.EvidenceRobustness:
		title = "Under trouble"
	case rank.EvidenceConformance:
		title = "Conformance: HTTP/1.1 and PEP 3333"
	default:
		title = "Workload: " + workload
	}
	return fmt.Sprintf("see [%s](#%s)", mdText(title), mdSlug(title))
}

// mdSlug is the anchor GitHub gives a heading: lower case, punctuation
// dropped, spaces as hyphens.
func mdSlug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// restatedNote warns that the stored ranking and the factors' differ.
const restatedNote = "This file's stored ranking was made by another version of the ranking rules: the factors below are measured against the ranking as this version makes it, whose order and scores they show."

// winnersText names who is first of n ranked servers; when every one
// is, the data could not separate them and a list would read as a choice.
func winnersText(ws []string, n int) string {
	if len(ws) == n && n > rank.NameTiesUpTo {
		return fmt.Sprintf("all %d tie (the data cannot separate them)", n)
	}
	return rank.JoinAnd(ws)
}
