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
	if p := filepath.Join("..", "models", "timesformer-synth.onnx"); fileExists(p) {
		models["synth"] = p
	}
	if p := os.Getenv("STAA_BENCH_MODEL"); p != "" {
		models["env"] = p
	}
	return models
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
		// No spinning, as staa explain runs it: an idle ORT pool thread
		// spinning after the forward pass would take a core from the
		// attribution timed right after it.
		s, err := Open(path, Options{IntraOpThreads: benchThreads(), InterOpThreads: 1,
			Config: map[string]string{"session.intra_op.allow_spinning": "0"}})
		if err != nil {
			b.Fatal(err)
		}
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
