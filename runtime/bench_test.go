package runtime

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/staa-dev/staa/staa"
)

// Forward time against attribution time. The fixture always; the shipped
// model (models/timesformer-synth.onnx) when it exists; any model named by
// $STAA_BENCH_MODEL (e.g. a TimeSformer-base-sized export). Threads:
// $STAA_BENCH_THREADS (default 2, the machine's cores).
//
//	go test ./runtime -run '^$' -bench . -benchtime 20x

func benchModels(b *testing.B) map[string]string {
	f := loadFixture(b)
	models := map[string]string{"tiny": f.model}
	if p := shippedModel; fileExists(p) {
		models["synth"] = p
	}
	if p := os.Getenv("STAA_BENCH_MODEL"); p != "" {
		models["env"] = p
	}
	return models
}

// shippedModel is the model make model writes, from this package's directory.
var shippedModel = filepath.Join("..", "models", "timesformer-synth.onnx")

// openBench opens the model at path as staa explain runs it, without
// spinning: an idle ORT pool thread spinning after the forward pass would
// take a core from the attribution timed right after it.
func openBench(b *testing.B, path string) *Session {
	s, err := Open(path, Options{IntraOpThreads: benchThreads(), InterOpThreads: 1,
		Config: map[string]string{"session.intra_op.allow_spinning": "0"}})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func benchThreads() int {
	if s := os.Getenv("STAA_BENCH_THREADS"); s != "" {
		var n int
		for _, c := range s {
			n = n*10 + int(c-'0')
		}
		return n
	}
	return 2
}

// benchClip is a random-ish clip of the model's frames at its frame size.
func benchClip(s *Session) Video {
	info := s.Info()
	v := NewVideo(info.Geometry.Frames, info.FrameHeight, info.FrameWidth)
	x := uint32(1)
	for i := range v.Data {
		x = x*1664525 + 1013904223
		v.Data[i] = uint8(x >> 24)
	}
	return v
}

func BenchmarkSession(b *testing.B) {
	requireLibrary(b)
	for name, path := range benchModels(b) {
		s := openBench(b, path)
		clip := benchClip(s)
		x, err := s.Preprocess([]Video{clip})
		if err != nil {
			b.Fatal(err)
		}
		out, err := s.RunPixels(x, 1) // warm-up, and the attention for "attribution"
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.PredictPixels(x, 1); err != nil { // builds the logits-only session
			b.Fatal(err)
		}
		opts := staa.DefaultOptions()
		opts.Workers = 1
		b.Run(name+"/preprocess", func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Preprocess([]Video{clip}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/forward", func(b *testing.B) {
			for b.Loop() {
				if _, err := s.RunPixels(x, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/predict", func(b *testing.B) {
			for b.Loop() {
				if _, err := s.PredictPixels(x, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/attribution", func(b *testing.B) {
			for b.Loop() {
				if _, err := out.Attribute(opts); err != nil {
					b.Fatal(err)
				}
			}
		})
		// One Explain per iteration, with the split and the overhead of the
		// attribution as a percentage of the forward pass: means, and the
		// median of the iterations' percentages (the VM's hiccups move the
		// means).
		b.Run(name+"/explain", func(b *testing.B) {
			var fwd, attr time.Duration
			var pct []float64
			for b.Loop() {
				res, err := s.ExplainPixels(x, 1, opts)
				if err != nil {
					b.Fatal(err)
				}
				fwd += res.Timing.Forward
				attr += res.Timing.Attribution
				pct = append(pct, 100*res.Timing.Attribution.Seconds()/res.Timing.Forward.Seconds())
			}
			n := float64(b.N)
			b.ReportMetric(fwd.Seconds()*1e3/n, "forward-ms")
			b.ReportMetric(attr.Seconds()*1e3/n, "attribution-ms")
			b.ReportMetric(100*attr.Seconds()/fwd.Seconds(), "attr-%-of-forward")
			slices.Sort(pct)
			b.ReportMetric(pct[len(pct)/2], "attr-%-median")
		})
		s.Close()
	}
}

// BenchmarkAttributionAfter times the shipped model's attribution, as
// Explain runs it (rollout, optimized, one worker), right after different
// things, to tell what makes it slower after a forward pass than on warm
// caches:
//
//	warm         nothing: the same attention attributed just before
//	forward      a forward pass (the attention it wrote), as Explain
//	spin-Xms     wall time alone: a loop that reads the clock and touches no
//	             memory, for 1, 3 (a forward pass's time) and 10 ms
//	sleep-3ms    3 ms asleep (the core idles)
//	spin-3ms+read      then the attention read: its data warm, the code not
//	spin-3ms+dry       then an attribution of a copy: the code warm, the
//	                   attention's data not
//
// An iteration is one round of every kind, each round starting one kind
// later; each kind reports the median of its attributions, in µs.
//
//	go test ./runtime -run '^$' -bench AttributionAfter -benchtime 300x
func BenchmarkAttributionAfter(b *testing.B) {
	requireLibrary(b)
	if !fileExists(shippedModel) {
		b.Skip("the shipped model is missing (make model)")
	}
	s := openBench(b, shippedModel)
	defer s.Close()
	x, err := s.Preprocess([]Video{benchClip(s)})
	if err != nil {
		b.Fatal(err)
	}
	held, err := s.RunPixels(x, 1) // the attention of the kinds without a forward
	if err != nil {
		b.Fatal(err)
	}
	c := held.Clip(0)
	copied := &Output{Batch: 1, Classes: held.Classes, Geometry: held.Geometry, Logits: held.Logits,
		Spatial:  staa.Tensor{Shape: held.Spatial.Shape, F32: slices.Clone(held.Spatial.F32)},
		Temporal: staa.Tensor{Shape: held.Temporal.Shape, F32: slices.Clone(held.Temporal.F32)}}
	opts := staa.DefaultOptions()
	opts.Workers = 1
	attribute := func(out *Output) {
		if _, err := s.attributeOne(out, opts); err != nil {
			b.Fatal(err)
		}
	}
	spin := func(d time.Duration) {
		for t0 := time.Now(); time.Since(t0) < d; {
		}
	}
	var sink float32
	kinds := []struct {
		name   string
		before func() *Output // what runs before the timed attribution, and its input
	}{
		{"warm", func() *Output { attribute(held); return held }},
		{"forward", func() *Output {
			out, err := s.RunPixels(x, 1)
			if err != nil {
				b.Fatal(err)
			}
			return out
		}},
		{"spin-1ms", func() *Output { spin(time.Millisecond); return held }},
		{"spin-3ms", func() *Output { spin(3 * time.Millisecond); return held }},
		{"spin-10ms", func() *Output { spin(10 * time.Millisecond); return held }},
		{"sleep-3ms", func() *Output { time.Sleep(3 * time.Millisecond); return held }},
		{"spin-3ms+read", func() *Output {
			spin(3 * time.Millisecond)
			for _, t := range []staa.Tensor{c.Spatial, c.Temporal} {
				for _, v := range t.F32 {
					sink += v
				}
			}
			return held
		}},
		{"spin-3ms+dry", func() *Output { spin(3 * time.Millisecond); attribute(copied); return held }},
	}
	times := make([][]float64, len(kinds))
	r := 0
	for b.Loop() {
		for i := range kinds {
			k := (i + r) % len(kinds)
			out := kinds[k].before()
			t0 := time.Now()
			attribute(out)
			times[k] = append(times[k], float64(time.Since(t0).Nanoseconds())/1e3)
		}
		r++
	}
	for k, kind := range kinds {
		slices.Sort(times[k])
		b.ReportMetric(times[k][len(times[k])/2], "µs-"+kind.name)
	}
	if sink == -1 {
		b.Log(sink) // keeps the reads
	}
}
