package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/results"
)

// factorsView is rank.Factors as the page's verdict leads with it: a
// servers × factors heatmap whose columns are the factors in order of
// effect, the effect of each under the columns, and the winner under
// each built-in profile. It is sized to fit one 1400×900 screen with 17
// servers (html_factors_browser_test.go measures it).
type factorsView struct {
	Columns    []factorColumn
	Rows       []factorRow
	Profiles   []profileWinner
	Unmeasured string // the factors nothing measured, joined
	Restated   string // set when the stored ranking differs from the factors' own
	Items      []factorItem
}

type factorColumn struct {
	N                 int
	Short, Unit, Name string
	Weighting         string
	Weighted          bool   // the profile counts it at all
	Href              string // where its numbers are on the page
	LeftOut, Doubled  factorEffect
}

// factorEffect is one variation in a cell: who is first, and how many
// places moved; Title says it in words.
type factorEffect struct {
	Winner  string // "same", or the new first place
	Changed bool
	Moved   int
	Title   string
}

type factorRow struct {
	Position int
	Tied     bool
	Server   string
	Shape    string
	Score    string
	Color    int
	HasColor bool
	Cells    []factorCell
}

type factorCell struct {
	Text      string // the short value, "–" without one
	Title     string // the value in words, or why there is none
	Class     string // h0 … h10 by score, hn without a value
	Separated bool
}

type profileWinner struct {
	Profile, Winner string
	Tie             bool
}

// factorItem is one factor in words, for the list under the heatmap.
type factorItem struct {
	Name, Weighting, Effect, What, Href, Short string
}

// factorEvidenceHref is where a factor's numbers are on the page.
var factorEvidenceHref = map[string]string{
	rank.EvidenceCeilings:    "#target",
	rank.EvidenceThroughput:  "#throughput",
	rank.EvidenceLatency:     "#latency",
	rank.EvidenceMemory:      "#memory",
	rank.EvidenceRuns:        "#runs",
	rank.EvidenceRobustness:  "#suites",
	rank.EvidenceConformance: "#suites",
}

// factorsOf builds the view; nil when there is nothing to compare.
func factorsOf(f *results.File, colorOf map[string]int) *factorsView {
	if f == nil || len(f.Runs) == 0 {
		return nil
	}
	t, err := rank.FactorsFor(f)
	if err != nil || len(t.Servers) < 2 {
		return nil
	}
	v := &factorsView{}
	if t.Restated {
		v.Restated = restatedNote
	}
	for i, fa := range t.Factors {
		col := factorColumn{
			N: i + 1, Short: fa.Short, Unit: fa.Unit, Name: fa.Name, Weighting: fa.Weighting, Weighted: fa.Weighted,
			Href:    factorEvidenceHref[fa.Evidence],
			LeftOut: effectOf(fa.LeftOut, "left out"), Doubled: effectOf(fa.Doubled, "doubled"),
		}
		v.Columns = append(v.Columns, col)
		effect := "moved nothing: left out or doubled, the same places and scores"
		if fa.Moved() {
			effect = "left out, " + fa.LeftOut.Describe() + "; doubled, " + fa.Doubled.Describe()
		}
		v.Items = append(v.Items, factorItem{Name: fa.Name, Short: fa.Short, Weighting: fa.Weighting, Effect: effect, What: fa.What, Href: col.Href})
	}
	positions := map[int]int{}
	for _, s := range t.Servers {
		positions[s.Position]++
	}
	for i, s := range t.Servers {
		row := factorRow{
			Position: s.Position, Tied: positions[s.Position] > 1,
			Server: s.Server, Shape: s.Shape.String(), Score: fmt.Sprintf("%.1f", s.Score),
		}
		row.Color, row.HasColor = colorOf[s.Server]
		for _, fa := range t.Factors {
			fv := fa.Values[i]
			c := factorCell{Text: "–", Title: fa.Name + ": " + fv.Why, Class: "hn"}
			if fv.Has {
				c = factorCell{Text: fv.Short, Title: fa.Name + ": " + fv.Text, Class: heatClass(fv.Score), Separated: fv.Separated}
				if fv.Separated {
					c.Title += "; the data separate it from the next server down"
				}
			}
			row.Cells = append(row.Cells, c)
		}
		v.Rows = append(v.Rows, row)
	}
	for _, pw := range t.Profiles {
		w := profileWinner{Profile: pw.Profile, Winner: winnersText(pw.Winners, len(t.Servers)), Tie: len(pw.Winners) > 1 && len(pw.Winners) < len(t.Servers)}
		if pw.Err != "" {
			w.Winner = "cannot rank"
		}
		v.Profiles = append(v.Profiles, w)
	}
	var names []string
	for _, fa := range t.Unmeasured {
		names = append(names, fa.Name)
	}
	v.Unmeasured = rank.JoinAnd(names)
	return v
}

func effectOf(v rank.Variation, how string) factorEffect {
	e := factorEffect{Winner: "same", Changed: v.WinnerChanged, Moved: v.Displaced, Title: how + ": " + v.Describe()}
	switch {
	case v.Err != "":
		e.Winner = "–"
	case v.WinnerChanged:
		e.Winner = strings.Join(v.Winners, ", ")
	}
	return e
}

// heatClass bins a 0-1 score into the page's eleven heat colours.
func heatClass(score float64) string {
	if math.IsNaN(score) {
		return "hn"
	}
	return fmt.Sprintf("h%d", int(math.Round(max(0, min(1, score))*10)))
}
