// Package rank answers "which server should I run my app on": it ranks
// the servers in a results file for one workload, each at its best
// measured shape, on a profile of weighted metrics, and says in plain
// words why each is where it is. Where the data cannot separate two
// servers it says they tie instead of inventing an order.
//
// # Metrics
//
// Each metric has a direction:
//
//	capacity     highest rate with p99 under the goal (req/s)   higher is better
//	rps          closed-loop throughput (2xx responses/s)        higher is better
//	p50, p99     latency percentiles (ms)                        lower is better
//	memory       peak PSS of the process tree (RSS without PSS)  lower is better
//	cpu          server CPU ms per 1000 responses                lower is better
//	errors       share of requests that failed                   lower is better
//	robustness   trouble scenarios' mean retained share (trouble) higher is better
//	correctness  conformance probe score (package probe)         higher is better
//
// A metric no server has data for (robustness in a run with --no-trouble,
// correctness with --no-probe) is left out and the verdict notes it; one server missing a metric is scored on the rest,
// and its reasons say so.
//
// # Profiles
//
//	crud-behind-cache (default)  capacity=4,p99=3,memory=2,errors=1,robustness=1,correctness=1
//	throughput                   rps=4,capacity=2,errors=1
//	latency                      p99=4,p50=2,capacity=1,errors=1
//	memory (small VPS)           memory=4,capacity=2,p99=1,errors=1
//	efficiency                   cpu=4,memory=2,capacity=1,errors=1
//
// or custom weights written the same way, e.g. "capacity=3,p99=2,memory=1".
//
// # Scores
//
// Each metric scores 0-1 against the best of the servers ranked: value /
// best when higher is better, best / value when lower is better. Errors
// score 1 - rate/ErrorBudget (1% failed scores 0), so a server is not
// punished for 0.001% next to one with none. A server's score is 100 ×
// the weighted mean of its metric scores.
//
// Capacity comes from the capacity search when every server has one; each
// server is then ranked at a shape whose capacity was searched. If any
// server lacks a search, capacity stands on closed-loop req/s for every
// server (its weight is added to rps), so all compare like with like, and
// the verdict notes it.
//
// A run with any generator-bound trial (the load generator used ≥ 90% of
// its CPU) measured the generator, not the server: its req/s and capacity
// are not scored, nor is a capacity search the generator limited. The
// server is scored on the rest and its reasons say so; if what is left
// carries less than MinEvidence (half) of the profile's weight, it is not
// ranked at all, and the verdict notes why.
//
// Likewise a run with a trial that left connections unserved (a closed loop
// where some clients got no response at all) has its p50 and p99 left out:
// those percentiles describe only the clients the server chose to serve. Its
// capacity search, which times every request from its schedule, still
// counts, and is where such a server's weakness shows.
//
// Runs marked NotForProduction (development and reference servers such as
// wsgiref and werkzeug) are never candidates: the verdict answers what to
// deploy. The verdict notes them; their numbers stay in the tables.
//
// Unscored is that rule as one predicate: given a run and a metric it says
// why the value is not evidence (a development server, a failed run, a
// generator-bound or starved trial), or nil. The ranking leaves out what it
// refuses, and the reports crown nothing it refuses ("lowest p99" on a
// card, a highlighted bar), saying why beside the raw number instead. A
// new kind of flawed trial is one entry in its table.
//
// Each server is ranked at its best shape: the one with the most scored
// metrics, then the highest score against all shapes of all servers.
//
// # Significance and ties
//
// For each pair of servers and each weighted metric, the per-trial values
// are compared with the Mann-Whitney U test (package stats); a metric
// separates the two when p < α (0.05). A capacity search is a single
// measurement, so a capacity difference separates only when the searches
// do not overlap (one server held a rate the other failed), the rate the
// higher one held is at least CapacityMargin (10%) above the rate the lower
// one failed (the ends of the two brackets that favour the higher one
// least, not the two values), and the repeated closed-loop trials agree in
// direction at p < α. Values 10% apart were not enough: a search repeated
// in another run moves by more than its 5% bracket, and uWSGI 1x8 (3,995
// req/s, failed at 4,095) was separated from waitress 1x3 (4,430) in one
// ten-minute run when the exhaustive run had them 4% apart.
//
// A server is placed ahead of another when the metrics that separate them
// add up to at least MinScoreGap (2) score points in its favour; metrics
// the data cannot separate count as equal. Otherwise the two tie: when
// nothing separates them, or when what does is worth less than that, be
// it small or pulling both ways and cancelling out, or when it favours the
// server with the lower score (whose score then rests on differences the
// data cannot confirm, or on metrics the other was not scored on). When
// separated differences pull both ways and one side outweighs the other,
// the weights decide: that is what they are for.
//
// "Add up to" is taken across what the data allow, not at the medians
// alone: each separated metric counts at the end of its interval that
// favours the leading server least (the pairs' ratio interval for trial
// metrics, the passed and failed rates of the capacity searches for
// capacity; a single measurement such as a trouble scenario or the probe
// score counts at its value), and that sum must still reach MinScoreGap.
// Without this, two runs of the same comparison disagreed: both found
// waitress with less memory and uWSGI with lower p99, but one measured the
// p99 lead at 24% and the other at 45%, so the weights put waitress ahead
// in one and called a tie in the other. With the intervals both call the
// tie, which is what the data support. The points each metric gives at
// its medians are still what the score and the reasons show.
//
// Servers are grouped in layers: the first group holds every server no
// other server is placed ahead of, the next every server only those of the
// first are ahead of, and so on; within a group, by score. A group shares
// one position (competition ranking: 1, 1, 3), and its members list each
// other in TiedWith. Ties need not be transitive (A ahead of C, both tied
// with B): B then shares first place with A, even when C scores above B,
// since nothing is placed ahead of B; a server that cannot be told apart
// from one in another group says so in its reasons. (Grouping in score
// order, joining the group just above, put B second behind C and let the
// headline name A alone: the exhaustive run of 2026-12-04 crowned tornado
// 3×1 "ahead of gunicorn-sync" while waitress and uWSGI, too close to call
// against tornado, were placed second.)
//
// Robustness run once is one measurement per scenario, so like a capacity
// search it separates two servers only when at least CapacityMargin (10%)
// apart. When every scenario was run several times and its median kept
// (a race's contenders, --trouble-repeat), the runs' ranges are the
// evidence instead: two servers are apart when one's mean with every
// scenario at the least it kept is above the other's with every scenario
// at the most, and that range is the metric's interval in the sum above.
// Under a true tie this happens for a named server at most as often as
// three runs of one all land above three of the other in a single noisy
// scenario, 1 in C(6,3) = 20 (1 in 10 either way); scenarios that do not
// vary (a server that always keeps 100% or 0%) add nothing to either
// side, and more noisy scenarios make it rarer (TestRobustnessRangesAtATie
// measures it). The margin rule would
// throw this away: waitress and uWSGI kept 65% and 59% (9% apart) in the
// exhaustive run of 2026-12-05, with ranges of 63–66% and 58–61% over
// three runs of each scenario: waitress buffers a slow body and uWSGI
// does not, uWSGI's other workers carry on when one is killed and
// waitress's single process does not.
//
// Correctness is not sampled: every server gets the same exact requests,
// so two servers whose probe scores differ at all behave differently, and
// the difference separates them (it still has to be worth MinScoreGap
// points with the others to place one ahead).
//
// With 3 trials per server no U test can reach p < 0.05 (the smallest p is
// 0.10), so every place is a tie and the verdict says to run at least 5.
// Paired trials change the test, not this count (see below).
//
// # Paired comparisons
//
// On a shared machine most of the spread between trials of one server is
// the machine's drift, common to whatever ran at that moment (the spread
// of a cell's trials is shown beside the ratios in the reports). Trials
// of two runs with the same index ran in the same round of the plan (block
// t of a race, round t of an exhaustive plan), side by side, so the ratio
// within a pair cancels the drift. For every sampled metric but failed
// requests (mostly zeros, which form no ratio) the test is
// then the Wilcoxon signed-rank test on the pairs' log-ratios
// (stats.ComparePaired, exact without ties) when there are enough pairs
// for it to reach α (6 at α = 0.05: its smallest two-sided p-value with n
// pairs is 2^(1-n)); with fewer, the Mann-Whitney test on all trials. The
// choice depends on the counts, never on the values. Reasons about
// throughput give the ratio as a Hodges-Lehmann estimate with the exact
// interval that inverts the signed-rank test: "waitress / uwsgi
// throughput 1.12× [1.05, 1.19] pair by pair, 8 pairs". Pairing cancels
// drift slower than a pair (two trials, a few seconds apart); load that
// comes in shorter bursts it cannot cancel, and bench/paired.sh measured
// just that on a heavily shared machine (README). The reports show each
// cell's spread and the within-pair spread against the unpaired one, so
// it is visible which kind of noise a run had.
//
// # Racing
//
// A racing plan (the default; wsgibench run --no-racing is exhaustive)
// gives every cell a first round of trials (3), then, after each round,
// stops giving trials to a cell that cannot win, and gives the contenders
// another round (3 more) until one is left or they reach the plan's most
// trials per cell (--trials, 8): looks after 3 and 6 trials, the race
// ending at 8. The raced metric is the profile's own weighting of what
// every trial measures (RaceMetric, RaceWeights: closed-loop req/s standing
// for capacity, p50, p99, memory, CPU): each trial scores the weighted mean
// of its values over the best median at the look, so the default profile
// races on req/s ×4, p99 ×3 and memory ×2 together. A profile that weights
// one such metric races on it alone (throughput: req/s). Racing on req/s
// alone let a server with four times another's p99 stop it at 0.88× its
// req/s (gevent 1×1 and uWSGI 1×8, 2026-12-04); the ranking put uWSGI
// first and gevent out of reach. At each look the leader is the cell with the best
// median; a cell stops when its paired comparison with the leader shows it
// behind at one-sided level α/L and by at least a minimum effect
// (stats.Race, α = 0.05, minimum effect 10%), where L is the number of
// looks that can stop a cell (2 by default). The union bound over the
// looks (Bonferroni) keeps the chance that a cell truly as good as the
// leader is ever stopped under α, however the looks fall; the minimum
// effect keeps a difference too small to matter from ending a cell's
// trials. At a look with too few pairs for the signed-rank test to reach
// α/L (the first, at 3 pairs), the test is the one-sided paired t-test on
// the log-ratios, which assumes them roughly normal: within a pair the
// drift is divided out and what is left is many small delays. The rule's
// error rate and power are checked on synthetic samples over the default
// looks, with normal and with heavy-tailed (t₃) noise on a machine whose
// level drifts ×0.5 to ×2 between pairs: a true tie is broken in under α
// of races (about 2–3%), a cell 20% behind is stopped in over 95%, one at
// half the leader at the first look.
//
// The t-test's normality fails for a server whose worker processes share
// the connections unevenly: its throughput depends on where they landed
// at each start, so three trials can all catch it in one mode (three
// pairs against tornado 8×1 in its high mode once stopped uWSGI 1×8 at
// 0.87×, which the exhaustive run put first). At a t-test look a cell with
// an uneven trial is therefore not the leader others are stopped against
// (the best even cell is), and is stopped itself only when even its best
// trial trails that leader's worst by the minimum effect (package plan,
// judgeGroup). A challenger truly as good as the leader is as good as any
// reference below it, so each stop keeps its level, and the selected
// reference carries the same caveat as the selected leader below.
//
// Two caveats. The error rate is per challenger: with many cells, some
// tie may be broken somewhere at a higher rate, which is why the minimum
// effect is there. And the leader is the best median at the look, a
// selected value; against a true tie that biases the comparison slightly
// toward "behind", which the minimum effect, not the level, absorbs.
//
// A development server (never a candidate) stops after the first round; a
// failed run stops where it failed; a run whose trials are not evidence on
// the raced metric (generator-bound, front-bound, starved connections for
// latency) is never stopped on it. A stopped run keeps its trials, which
// the tables show, and its Stopped record says why ("stopped after 3
// trials: behind gunicorn-sync 5x1 crud on throughput, 0.42× its req/s
// [0.38, 0.47] pair by pair (paired t p = 0.004, …)"); it is not ranked
// (Unscored refuses it), and the verdict notes it. The capacity searches,
// parallelism ceilings and trouble scenarios run only for the runs left in
// the race and the servers named with --servers, trouble scenarios as the
// median of 3 for contenders; what was skipped is in File.NotMeasured with
// the reason.
//
// # Target cores
//
// When the file's Target asks for more cores than the server was measured
// on (wsgibench run --target-cpus on a smaller machine), capacity and rps
// are ranked as projected for the target: the measured value ×
// min(target, ceiling) / min(measured, ceiling), where the ceiling is the
// parallelism the server showed with every CPU allowed (File.Ceilings; its
// process count when the machine's cores ran out first). The samples are
// scaled alike, so the tests compare projected values; a server without a
// ceiling is not scored on throughput. Reasons name such metrics
// "(projected for N cores)", the headline ends with the target, and a note
// states the assumption (see project.go).
//
// # Differentiating factors
//
// Factors (factors.go) says what separated the servers, in order: for
// each factor (parallelism ceiling, capacity, tail latency, memory,
// slow-client tolerance, keep-alive, crash recovery, conformance, …, each
// a piece of the evidence above) the servers are ranked again with it
// left out and with it doubled, and the factors are ordered by how much
// that moved the ranking; with each server's value, and the winner under
// every built-in profile.
//
// # Firmness
//
// A place rests on tests at α and on score gaps at the ends of intervals,
// so evidence near either threshold can go the other way in another run
// of the same plan: three exhaustive runs at the default trial settings
// on one quiet machine (2026-12-04/05) all put waitress first, and shared
// first place with uWSGI, tornado, and uWSGI. Firmness (firmness.go) says how near the
// thresholds a run's own evidence was: it ranks the file again on
// FirmnessResamples bootstrap resamples of the trials and counts how often
// the first place came out exactly, and how often each server was in it
// ("this first place came out in 38 of 100 resamples; first in them:
// waitress 100, uwsgi 74, tornado 43"). Resamples draw the same positions
// in every run, so trials that ran side by side stay paired. Capacity
// searches, trouble scenarios and probes are single measurements with
// nothing to resample and are held as measured, so the count speaks for
// the trials' noise only; a server whose place moves between two runs by
// more than that (first in 0 of 100 in one, 74 in the other) moved on
// those, or on the machine between the runs (compare shows both counts).
// The draws are seeded from the plan's seed: a report of the same file
// says the same.
//
// # Use
//
// At the end of a run, and in report to re-rank on another profile:
//
//	if err := rank.Apply(f, profile, goalMS); err != nil { … }
//
// Apply fills every Run.Summary and Run.Projection, File.Ranking and
// File.Verdict, with the verdict's Firmness. The result
// depends on the trials only: the same file, in any run order, gives the
// same ranking, byte for byte.
package rank
