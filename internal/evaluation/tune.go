package evaluation

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/metrics"
)

// Tuning defaults (see Tune).
const (
	// DefaultGuard is δ: a setting may lose at most this much mean
	// faithfulness, and add at most this much mean deletion AUC, against
	// raw, for every method.
	DefaultGuard = 0.02
	// DefaultSlack is ε: settings whose pooled pointing game is within ε of
	// the best one that passes the guard are ranked by energy.
	DefaultSlack = 0.01
)

// TuneMetrics are the metrics Tune computes for each setting, in the order
// of its table: the ground-truth ones it selects on, and the two
// perturbation ones of its guard.
var TuneMetrics = []string{Pointing, Energy, SNR, TemporalAP, Faithfulness, Deletion}

// TuneConfig configures Tune.
type TuneConfig struct {
	// Grid is the settings to score (zero value: DefaultGrid).
	Grid Grid
	// Methods are the STAA methods whose raw volumes are post-processed
	// (nil: last and rollout). The other options are staa.DefaultOptions'.
	Methods []staa.Method
	// Geometry is the model's (its patch grid h×w and tubelet τ).
	Geometry staa.Geometry
	// Batch is the clips per model call of the perturbation metrics (0:
	// metrics.DefaultBatchSize).
	Batch int
	// Guard is δ (0: DefaultGuard) and Slack ε (0: DefaultSlack).
	Guard, Slack float64
	// Progress, if not nil, is called after each clip and method.
	Progress func()
}

// TuneRow is one setting's scores.
type TuneRow struct {
	Post staa.Post
	// PerMethod holds each metric of TuneMetrics over the clips, one map
	// per method (TuneReport.Methods' order).
	PerMethod []map[string]Stat
	// Pooled holds each metric over every clip of every method: the
	// selection uses its pointing game and energy means and its SNR median.
	Pooled map[string]Stat
	// Guard reports whether the setting passes the guard, and Failed why
	// not.
	Guard  bool
	Failed string
	// Candidate reports whether it passes the guard and its pooled pointing
	// game is within Slack of the best that does.
	Candidate bool
	// Plateau reports whether it is a candidate whose pooled energy is
	// within one standard error of the candidates' highest.
	Plateau bool
	// Rank is the setting's place in the selection's order, from 1.
	Rank int
}

// TuneReport is the outcome of Tune.
type TuneReport struct {
	Methods []staa.Method
	Clips   int
	Guard   float64
	Slack   float64
	// Raw is the raw preset's row (staa.Raw(): no post-processing), the
	// guard's reference; it is not ranked.
	Raw TuneRow
	// Rows are the grid's settings, in grid order.
	Rows []TuneRow
	// Grid is the grid scored.
	Grid Grid
	// Choice is the index in Rows of the chosen setting, Top that of the
	// candidate of highest energy.
	Choice, Top int
	// Explanations counts the post-processed volumes scored and Orders the
	// distinct tube orders among them per clip (summed over the clips): the
	// perturbation metrics are computed once per distinct order.
	Explanations, Orders int
}

// Chosen returns the chosen setting.
func (r *TuneReport) Chosen() staa.Post { return r.Rows[r.Choice].Post }

// Ranked returns the indices of Rows by rank.
func (r *TuneReport) Ranked() []int {
	idx := make([]int, len(r.Rows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return r.Rows[a].Rank - r.Rows[b].Rank })
	return idx
}

// Tune scores every setting of the grid on every sample and chooses one.
//
// For each clip, each method in c.Methods is run once with staa.Raw() (one
// forward pass through s.Explain) and its raw volume
// (staa.Attribution.Volume) is post-processed with every setting; only the
// post-processing varies, the model is not rerun for STAA. Each
// post-processed volume is scored as Run scores STAA: the pointing game,
// energy in the mask, SNR and temporal AP against the ground truth, and
// faithfulness and deletion AUC against the model (the target being the
// predicted class). Faithfulness and deletion depend on the volume only
// through its order of patch tubes (metrics.Tubes.Order), so they are
// computed once per distinct order of a clip and reused, which is exact.
//
// The choice, in this order:
//
//  1. Guard: for every method m, mean faithfulness ≥ raw's − δ and mean
//     deletion AUC ≤ raw's + δ (δ = c.Guard), so that focusing the map on
//     the ground truth does not cost the explanation its faithfulness to
//     the model.
//  2. Pointing game: of the settings that pass, those whose pooled mean
//     pointing game (over every clip of every method) is within ε =
//     c.Slack of the best are the candidates.
//  3. Energy: the top candidate has the highest pooled mean energy in the
//     mask (the share of the attribution's mass on the target, a bounded
//     stand-in for the SNR, which is often +Inf; ties go to the higher
//     pooled median SNR, then to the earlier setting in grid order).
//  4. Plateau (the one-standard-error rule): of the candidates whose
//     pooled mean energy is at least the top's minus its standard error
//     (std/√n over the n pooled values), the least aggressive is chosen:
//     the smallest γ, then the smallest blur, then the earliest threshold
//     and normalisation in the grid's lists (which put none first). Energy
//     keeps rising with γ long after the maps have collapsed onto their
//     peaks, and γ changes neither the pointing game nor the order of the
//     tubes, so without this step the largest γ of the grid would always win.
//
// Ranks follow that preference: the plateau, least aggressive first; the
// other candidates by energy; the other settings that pass the guard by
// pointing game, then energy; those that fail it last.
func Tune(m metrics.Model, samples []Sample, c TuneConfig) (*TuneReport, error) {
	g := c.Geometry
	if err := checkInputs(m, samples, g); err != nil {
		return nil, err
	}
	grid := c.Grid
	if grid.Blur == nil && grid.Gamma == nil && grid.Thresholds == nil && grid.Normalize == nil {
		grid = DefaultGrid()
	}
	if err := grid.Validate(); err != nil {
		return nil, err
	}
	methods := c.Methods
	if methods == nil {
		methods = []staa.Method{staa.Last, staa.Rollout}
	}
	guard, slack := c.Guard, c.Slack
	if guard == 0 {
		guard = DefaultGuard
	}
	if slack == 0 {
		slack = DefaultSlack
	}
	if !(guard > 0) || !(slack > 0) || math.IsInf(guard, 0) || math.IsInf(slack, 0) {
		return nil, fmt.Errorf("evaluation: guard %v and slack %v must be finite and > 0", c.Guard, c.Slack)
	}
	posts := append([]staa.Post{staa.Raw()}, grid.Settings()...)
	// vals[k][mi][name] holds the per-clip values of setting k (0: raw) and
	// method mi.
	vals := make([][]map[string][]float64, len(posts))
	for k := range vals {
		vals[k] = make([]map[string][]float64, len(methods))
		for mi := range methods {
			vals[k][mi] = map[string][]float64{}
		}
	}
	rep := &TuneReport{Methods: methods, Clips: len(samples), Guard: guard, Slack: slack}
	tubelet := max(g.Tubelet, 1)
	for _, s := range samples {
		if s.Explain == nil {
			return nil, fmt.Errorf("clip %d: sample has no STAA explainer", s.Index)
		}
		ev, err := metrics.NewEvaluator(m, s.Clip, metrics.Options{BatchSize: c.Batch, Tubelet: tubelet})
		if err != nil {
			return nil, fmt.Errorf("clip %d: %w", s.Index, err)
		}
		tubes, err := metrics.NewTubes(s.Clip, g.Height, g.Width, tubelet)
		if err != nil {
			return nil, fmt.Errorf("clip %d: %w", s.Index, err)
		}
		sc := &orderCache{ev: ev, tubes: tubes, target: ev.Predicted(), seen: map[string][2]float64{}}
		for mi, meth := range methods {
			o := staa.DefaultOptions()
			o.Method, o.Post = meth, staa.Raw()
			a, err := s.Explain(o)
			if err != nil {
				return nil, fmt.Errorf("clip %d, %s: %w", s.Index, meth, err)
			}
			if a.Volume.Height != g.Height || a.Volume.Width != g.Width {
				return nil, fmt.Errorf("clip %d, %s: volume on a %d×%d grid, the model's is %d×%d",
					s.Index, meth, a.Volume.Height, a.Volume.Width, g.Height, g.Width)
			}
			for k, p := range posts {
				sp, prof, err := staa.Postprocess(a.Volume, p)
				if err != nil {
					return nil, fmt.Errorf("clip %d, %s, %s: %w", s.Index, meth, PostString(p), err)
				}
				v, err := sc.score(sp, prof, s)
				if err != nil {
					return nil, fmt.Errorf("clip %d, %s, %s: %w", s.Index, meth, PostString(p), err)
				}
				for name, x := range v {
					vals[k][mi][name] = append(vals[k][mi][name], x)
				}
				rep.Explanations++
			}
			if c.Progress != nil {
				c.Progress()
			}
		}
		rep.Orders += len(sc.seen)
	}
	rows := make([]TuneRow, len(posts))
	for k, p := range posts {
		rows[k] = TuneRow{Post: p, Pooled: map[string]Stat{}}
		for mi := range methods {
			st := map[string]Stat{}
			for _, name := range TuneMetrics {
				st[name] = Summarise(vals[k][mi][name])
			}
			rows[k].PerMethod = append(rows[k].PerMethod, st)
		}
		for _, name := range TuneMetrics {
			var pool []float64
			for mi := range methods {
				pool = append(pool, vals[k][mi][name]...)
			}
			rows[k].Pooled[name] = Summarise(pool)
		}
	}
	rep.Raw, rep.Rows = rows[0], rows[1:]
	rep.Choice, rep.Top = choose(rep.Raw, rep.Rows, methods, grid, guard, slack)
	rep.Grid = grid
	return rep, nil
}

// orderCache scores post-processed volumes of one clip, computing the
// perturbation metrics once per distinct tube order.
type orderCache struct {
	ev     *metrics.Evaluator
	tubes  *metrics.Tubes
	target int
	seen   map[string][2]float64 // order → faithfulness, deletion AUC
}

func (c *orderCache) score(vol staa.Volume, profile []float32, s Sample) (map[string]float64, error) {
	out := map[string]float64{}
	pg, err := metrics.PointingGame(vol, s.Mask, 0)
	if err != nil {
		return nil, fmt.Errorf("pointing game: %w", err)
	}
	out[Pointing] = pg.Score
	if out[Energy], err = metrics.Energy(vol, s.Mask); err != nil {
		return nil, fmt.Errorf("energy: %w", err)
	}
	if out[SNR], err = metrics.SNR(vol, s.Mask); err != nil {
		return nil, fmt.Errorf("SNR: %w", err)
	}
	visible := s.Visible
	if visible == nil {
		visible = s.Mask.Visible()
	}
	if out[TemporalAP], err = metrics.TemporalAP(profile, visible); err != nil {
		return nil, fmt.Errorf("temporal AP: %w", err)
	}
	order, err := c.tubes.Order(vol)
	if err != nil {
		return nil, err
	}
	key := orderKey(order)
	fd, ok := c.seen[key]
	if !ok {
		if fd[0], err = c.ev.Faithfulness(vol, metrics.FaithfulnessOptions{}); err != nil {
			return nil, fmt.Errorf("faithfulness: %w", err)
		}
		del, err := c.ev.Deletion(vol, c.target, metrics.CurveOptions{})
		if err != nil {
			return nil, fmt.Errorf("deletion: %w", err)
		}
		fd[1] = del.AUC
		c.seen[key] = fd
	}
	out[Faithfulness], out[Deletion] = fd[0], fd[1]
	return out, nil
}

func orderKey(order []int) string {
	b := make([]byte, 0, 4*len(order))
	for _, u := range order {
		b = binary.LittleEndian.AppendUint32(b, uint32(u))
	}
	return string(b)
}

// choose sets the rows' Guard, Failed, Candidate, Plateau and Rank (see
// Tune), and returns the index of the chosen row and of the candidate of
// highest energy.
func choose(raw TuneRow, rows []TuneRow, methods []staa.Method, grid Grid, guard, slack float64) (choice, top int) {
	best := math.Inf(-1)
	for k := range rows {
		r := &rows[k]
		r.Guard, r.Failed = true, ""
		for mi, meth := range methods {
			f, f0 := r.PerMethod[mi][Faithfulness].Mean, raw.PerMethod[mi][Faithfulness].Mean
			d, d0 := r.PerMethod[mi][Deletion].Mean, raw.PerMethod[mi][Deletion].Mean
			switch {
			case !(f >= f0-guard):
				r.Guard, r.Failed = false, fmt.Sprintf("%s faithfulness %.4f < raw %.4f − %g", meth, f, f0, guard)
			case !(d <= d0+guard):
				r.Guard, r.Failed = false, fmt.Sprintf("%s deletion AUC %.4f > raw %.4f + %g", meth, d, d0, guard)
			}
			if !r.Guard {
				break
			}
		}
		if p := r.Pooled[Pointing].Mean; r.Guard && p > best {
			best = p
		}
	}
	for k := range rows {
		rows[k].Candidate = rows[k].Guard && rows[k].Pooled[Pointing].Mean >= best-slack
	}
	// NaN means (no clip defined) sort last.
	val := func(x float64) float64 {
		if math.IsNaN(x) {
			return math.Inf(-1)
		}
		return x
	}
	b2i := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	cmpDesc := func(keys ...[2]float64) int {
		for _, k := range keys {
			switch {
			case k[0] > k[1]:
				return -1
			case k[0] < k[1]:
				return 1
			}
		}
		return 0
	}
	// The order of preference before the plateau rule: guard, candidates,
	// then energy and SNR for the candidates, pointing first for the others.
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		ra, rb := &rows[a], &rows[b]
		if c := b2i(rb.Guard) - b2i(ra.Guard); c != 0 {
			return c
		}
		if c := b2i(rb.Candidate) - b2i(ra.Candidate); c != 0 {
			return c
		}
		e := [2]float64{val(ra.Pooled[Energy].Mean), val(rb.Pooled[Energy].Mean)}
		snr := [2]float64{val(ra.Pooled[SNR].Median), val(rb.Pooled[SNR].Median)}
		if ra.Candidate {
			return cmpDesc(e, snr)
		}
		return cmpDesc([2]float64{val(ra.Pooled[Pointing].Mean), val(rb.Pooled[Pointing].Mean)}, e, snr)
	})
	top = idx[0]
	// The plateau: candidates within one standard error of the top energy.
	if t := rows[top]; t.Candidate {
		e := t.Pooled[Energy]
		floor := e.Mean - e.Std/math.Sqrt(float64(e.N))
		for k := range rows {
			rows[k].Plateau = rows[k].Candidate && rows[k].Pooled[Energy].Mean >= floor
		}
	}
	// Plateau first, least aggressive first; the rest as before.
	strength := func(p staa.Post) [4]float64 {
		g := p.Gamma
		if g == 0 {
			g = 1
		}
		th := float64(slices.Index(grid.Thresholds, p.Threshold))
		nm := float64(slices.Index(grid.Normalize, p.Normalize))
		return [4]float64{g, p.Blur, th, nm}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		ra, rb := &rows[a], &rows[b]
		if c := b2i(rb.Plateau) - b2i(ra.Plateau); c != 0 {
			return c
		}
		if !ra.Plateau {
			return 0
		}
		sa, sb := strength(ra.Post), strength(rb.Post)
		for i := range sa {
			switch {
			case sa[i] < sb[i]:
				return -1
			case sa[i] > sb[i]:
				return 1
			}
		}
		return 0
	})
	for r, k := range idx {
		rows[k].Rank = r + 1
	}
	return idx[0], top
}
