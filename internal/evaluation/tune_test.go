package evaluation

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/metrics"
)

// smallGrid has settings that change the tube order (blur, thresholds,
// frame normalisation) and settings that do not (γ, clip normalisation).
func smallGrid() Grid {
	return Grid{
		Blur:       []float64{0, 1},
		Gamma:      []float64{1, 3},
		Thresholds: []staa.Threshold{{Mode: staa.ThresholdNone}, {Mode: staa.ThresholdMeanStd, K: 0.5}, {Mode: staa.ThresholdOtsu}},
		Normalize:  []staa.Normalize{staa.NormalizeClip, staa.NormalizeFrame},
	}
}

// randomVolume is a volume with a bump on the target's cell and noise.
func randomVolume(seed uint64) staa.Volume {
	r := rand.New(rand.NewPCG(seed, 7))
	v := staa.NewVolume(nF, gh, gw)
	for k := range v.Data {
		v.Data[k] = float32(r.Float64())
	}
	v.Data[1*gh*gw] += 2
	return v
}

// TestOrderCacheMatchesDirect checks that the cached faithfulness and
// deletion AUC of every setting equal the metrics computed directly, on a
// fresh evaluator, and that the cache is hit.
func TestOrderCacheMatchesDirect(t *testing.T) {
	m, samples := fixture(1)
	s := samples[0]
	ev, err := metrics.NewEvaluator(m, s.Clip, metrics.Options{BatchSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	tubes, err := metrics.NewTubes(s.Clip, gh, gw, 1)
	if err != nil {
		t.Fatal(err)
	}
	c := &orderCache{ev: ev, tubes: tubes, target: ev.Predicted(), seen: map[string][2]float64{}}
	raw := randomVolume(5)
	settings := smallGrid().Settings()
	for _, p := range settings {
		sp, prof, err := staa.Postprocess(raw, p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.score(sp, prof, s)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := metrics.NewEvaluator(m, s.Clip, metrics.Options{BatchSize: 8})
		if err != nil {
			t.Fatal(err)
		}
		f, err := fresh.Faithfulness(sp, metrics.FaithfulnessOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d, err := fresh.Deletion(sp, fresh.Predicted(), metrics.CurveOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got[Faithfulness] != f || got[Deletion] != d.AUC {
			t.Errorf("%s: cached faithfulness %v, deletion %v; direct %v, %v", PostString(p), got[Faithfulness], got[Deletion], f, d.AUC)
		}
		e, _ := metrics.Energy(sp, s.Mask)
		if got[Energy] != e {
			t.Errorf("%s: energy %v, direct %v", PostString(p), got[Energy], e)
		}
	}
	// Without a threshold, γ keeps the order: the settings with threshold
	// none share one order per blur and normalisation, so at least
	// blur×normalisation×(γ−1) = 4 settings find theirs in the cache.
	if n := len(c.seen); n == 0 || n > len(settings)-4 {
		t.Errorf("%d distinct orders for %d settings", n, len(settings))
	}
}

// countingSamples wraps each sample's explainer to count its calls and
// return a random raw volume.
func countingSamples(samples []Sample, calls *int) []Sample {
	out := make([]Sample, len(samples))
	for i, s := range samples {
		s.Explain = func(o staa.Options) (staa.Attribution, error) {
			*calls++
			v := randomVolume(uint64(10*i) + uint64(o.Method))
			sp, prof, err := staa.Postprocess(v, o.Post)
			return staa.Attribution{Volume: v, Spatial: sp, Temporal: prof}, err
		}
		out[i] = s
	}
	return out
}

func TestTuneFixture(t *testing.T) {
	m, samples := fixture(3)
	calls, progress := 0, 0
	samples = countingSamples(samples, &calls)
	g := smallGrid()
	rep, err := Tune(m, samples, TuneConfig{Grid: g, Geometry: staa.Geometry{Frames: nF, Height: gh, Width: gw}, Batch: 8,
		Progress: func() { progress++ }})
	if err != nil {
		t.Fatal(err)
	}
	// One STAA run per clip and method, whatever the grid's size.
	if calls != 3*2 || progress != 3*2 {
		t.Errorf("%d explanations and %d progress calls, want 6", calls, progress)
	}
	if len(rep.Rows) != len(g.Settings()) || rep.Explanations != 3*2*(len(g.Settings())+1) {
		t.Errorf("%d rows, %d explanations", len(rep.Rows), rep.Explanations)
	}
	if rep.Raw.Post != staa.Raw() || rep.Guard != DefaultGuard || rep.Slack != DefaultSlack {
		t.Errorf("raw %+v, guard %v, slack %v", rep.Raw.Post, rep.Guard, rep.Slack)
	}
	// Raw row: the raw volumes scored directly.
	for mi, meth := range rep.Methods {
		var want []float64
		for i, s := range samples {
			v := randomVolume(uint64(10*i) + uint64(meth))
			e, err := metrics.Energy(v, s.Mask)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, e)
		}
		if got, w := rep.Raw.PerMethod[mi][Energy].Mean, Summarise(want).Mean; math.Abs(got-w) > 1e-12 {
			t.Errorf("%s raw energy %v, want %v", meth, got, w)
		}
	}
	ch := rep.Rows[rep.Choice]
	if !ch.Guard || !ch.Candidate || !ch.Plateau || ch.Rank != 1 {
		t.Errorf("choice %s: guard %v candidate %v plateau %v rank %d", PostString(ch.Post), ch.Guard, ch.Candidate, ch.Plateau, ch.Rank)
	}
	// Ranks are a permutation of 1…n.
	seen := map[int]bool{}
	for _, r := range rep.Rows {
		seen[r.Rank] = true
	}
	if len(seen) != len(rep.Rows) || seen[0] {
		t.Errorf("ranks are not 1…%d", len(rep.Rows))
	}

	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md, "tune", []string{"pre"}, ch.Post); err != nil {
		t.Fatal(err)
	}
	s := md.String()
	if !strings.Contains(s, "**Choice: "+PostString(ch.Post)+"**") || !strings.Contains(s, "(current preset)") {
		t.Errorf("markdown lacks the choice or the current preset:\n%s", s)
	}
	// One table row per setting, plus raw, in the grid table.
	if n := strings.Count(s, "| pass") + strings.Count(s, "| fail: ") + strings.Count(s, "| reference |"); n != len(rep.Rows)+1 {
		t.Errorf("%d grid rows, want %d", n, len(rep.Rows)+1)
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js, map[string]any{"seed": 1}); err != nil {
		t.Fatal(err)
	}
	var back JSONTune
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("%v\n%s", err, js.String())
	}
	if len(back.Grid) != len(rep.Rows) || back.Choice.Setting != PostString(ch.Post) || back.Clips != 3 {
		t.Errorf("JSON: %d rows, choice %q, %d clips", len(back.Grid), back.Choice.Setting, back.Clips)
	}
	var post map[string]any
	if err := json.Unmarshal(back.Choice.Postprocess, &post); err != nil || post["normalize"] != ch.Post.Normalize.String() {
		t.Errorf("choice postprocess %s: %v", back.Choice.Postprocess, err)
	}
	pl, err := rep.TunePlot()
	if err != nil {
		t.Fatal(err)
	}
	if err := WritePNG(&bytes.Buffer{}, pl, 400, 300); err != nil {
		t.Error(err)
	}
}

// row is a TuneRow for TestChoose: two methods with the given
// faithfulness and deletion, and pooled pointing and energy (std 0.1 over
// 100 values: a standard error of 0.01).
func row(p staa.Post, faith, del [2]float64, pointing, energy float64) TuneRow {
	r := TuneRow{Post: p, Pooled: map[string]Stat{
		Pointing: {Mean: pointing, N: 100},
		Energy:   {Mean: energy, Std: 0.1, N: 100},
		SNR:      {Median: energy * 10, N: 100},
	}}
	for mi := range 2 {
		r.PerMethod = append(r.PerMethod, map[string]Stat{Faithfulness: {Mean: faith[mi]}, Deletion: {Mean: del[mi]}})
	}
	return r
}

func TestChoose(t *testing.T) {
	g := Grid{Blur: []float64{0, 1}, Gamma: []float64{1, 2, 4, 8},
		Thresholds: []staa.Threshold{{Mode: staa.ThresholdNone}, {Mode: staa.ThresholdOtsu}},
		Normalize:  []staa.Normalize{staa.NormalizeClip}}
	post := func(blur, gamma float64, th staa.ThresholdMode) staa.Post {
		return staa.Post{Blur: blur, Gamma: gamma, Threshold: staa.Threshold{Mode: th}, Normalize: staa.NormalizeClip}
	}
	ok, okDel := [2]float64{0.9, 0.9}, [2]float64{0.2, 0.2}
	raw := row(staa.Raw(), ok, okDel, 0.9, 0.1)
	rows := []TuneRow{
		0: row(post(0, 1, staa.ThresholdNone), ok, okDel, 0.90, 0.10),
		1: row(post(0, 2, staa.ThresholdNone), ok, okDel, 0.90, 0.30),
		2: row(post(0, 4, staa.ThresholdNone), ok, okDel, 0.90, 0.395), // within 0.01 of 0.40: the choice
		3: row(post(0, 8, staa.ThresholdNone), ok, okDel, 0.90, 0.40),  // top
		// Better energy and pointing, but the second method's faithfulness
		// drops by more than δ.
		4: row(post(0, 8, staa.ThresholdOtsu), [2]float64{0.9, 0.85}, okDel, 0.95, 0.6),
		// Deletion AUC rises by more than δ.
		5: row(post(0, 4, staa.ThresholdOtsu), ok, [2]float64{0.25, 0.2}, 0.95, 0.6),
		// Pointing 0.895 is within ε = 0.01 of 0.90, energy 0.399 within
		// one SE of the top, but blur 1 is more aggressive than blur 0 at
		// the same γ.
		6: row(post(1, 4, staa.ThresholdNone), ok, okDel, 0.895, 0.399),
		// Pointing below the slack: not a candidate despite its energy.
		7: row(post(1, 8, staa.ThresholdNone), ok, okDel, 0.85, 0.5),
	}
	choice, top := choose(raw, rows, []staa.Method{staa.Last, staa.Rollout}, g, 0.02, 0.01)
	if choice != 2 || top != 3 {
		t.Fatalf("choice %d (%s), top %d, want 2 and 3", choice, PostString(rows[choice].Post), top)
	}
	for k, want := range map[int]string{4: "rollout faithfulness 0.8500 < raw 0.9000 − 0.02", 5: "last deletion AUC 0.2500 > raw 0.2000 + 0.02"} {
		if rows[k].Guard || rows[k].Failed != want {
			t.Errorf("row %d: guard %v, failed %q, want %q", k, rows[k].Guard, rows[k].Failed, want)
		}
	}
	for k, want := range []bool{false, false, true, true, false, false, true, false} {
		if rows[k].Plateau != want {
			t.Errorf("row %d: plateau %v, want %v", k, rows[k].Plateau, want)
		}
	}
	if rows[7].Candidate || !rows[6].Candidate {
		t.Errorf("candidates: row 6 %v, row 7 %v", rows[6].Candidate, rows[7].Candidate)
	}
	// Ranks: the plateau least aggressive first (γ 4 blur 0, γ 4 blur 1,
	// γ 8), the other candidates by energy (γ 2, γ 1), the others that pass
	// by pointing (row 7), those that fail (4 and 5, by energy then grid
	// order).
	wantRank := map[int]int{2: 1, 6: 2, 3: 3, 1: 4, 0: 5, 7: 6, 4: 7, 5: 8}
	for k, r := range wantRank {
		if rows[k].Rank != r {
			t.Errorf("row %d (%s): rank %d, want %d", k, PostString(rows[k].Post), rows[k].Rank, r)
		}
	}
}

func TestGridParsing(t *testing.T) {
	ths, err := ParseThresholds("none, meanstd:-0.5,percentile:90,otsu")
	if err != nil {
		t.Fatal(err)
	}
	want := []staa.Threshold{{Mode: staa.ThresholdNone}, {Mode: staa.ThresholdMeanStd, K: -0.5}, {Mode: staa.ThresholdPercentile, P: 90}, {Mode: staa.ThresholdOtsu}}
	for i := range want {
		if ths[i] != want[i] {
			t.Errorf("threshold %d: %+v, want %+v", i, ths[i], want[i])
		}
	}
	for _, bad := range []string{"meanstd", "otsu:3", "percentile:x", "mean", ""} {
		if _, err := ParseThresholds(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseFloatList("0,NaN"); err == nil {
		t.Error("NaN accepted")
	}
	g := DefaultGrid()
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	if n := len(g.Settings()); n != len(g.Blur)*len(g.Gamma)*len(g.Thresholds)*len(g.Normalize) {
		t.Errorf("%d settings", n)
	}
	g.Gamma = append(g.Gamma, 1)
	if err := g.Validate(); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate setting: %v", err)
	}
	g = DefaultGrid()
	g.Blur = []float64{-1}
	if err := g.Validate(); err == nil {
		t.Error("negative blur accepted")
	}
	p := staa.Post{Blur: 0.5, Gamma: 2, Threshold: staa.Threshold{Mode: staa.ThresholdMeanStd}, Normalize: staa.NormalizeClip}
	if s := PostJSON(p); s != `{"blur":0.5,"gamma":2,"threshold":{"mode":"meanstd","k":0},"normalize":"clip"}` {
		t.Errorf("PostJSON %s", s)
	}
	// PostJSON is what staa.ParseConfig reads back.
	cfg, err := staa.ParseConfig([]byte(`{"frames": 4, "grid": [2, 2], "postprocess": ` + PostJSON(p) + `}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Options.Post != p {
		t.Errorf("round trip %+v, want %+v", cfg.Options.Post, p)
	}
}
