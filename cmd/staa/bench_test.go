package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/staa-dev/staa/runtime"
	"github.com/staa-dev/staa/staa"
)

// Sliding-window explanation of a 300-frame video, end to end as staa
// explain runs it: decode (ffmpeg), preprocess, forward, attribution,
// combining the windows, and the outputs (MP4, GIF, PNGs, JSON). The video
// is generated clips of the benchmark (8 frames each), one after the other,
// encoded to MP4 (H.264, CRF 12) before the timing starts; at the model's
// frame size and at 320×240. Models: the fixture, the shipped model when built, and
// $STAA_BENCH_MODEL. Windows of the model's frames, stride half of it
// ($STAA_BENCH_STRIDE), batch $STAA_BENCH_BATCH (default 1), ONNX Runtime
// intra-op threads $STAA_BENCH_THREADS (default 0: staa explain's default,
// one per core).
//
//	go test ./cmd/staa -run '^$' -bench Explain300 -benchtime 3x
//
// Metrics: fps (video frames per second, end to end), window-ms (median
// and p99 latency of a window: preprocess + forward + attribution), and the
// split in ms per run: decode, forward (with preprocessing), attribution,
// encode (drawing the frames and writing every output).
func BenchmarkExplain300(b *testing.B) {
	tools := requireFFmpeg(b)
	requireORT(b)
	ms := models(b)
	if p := os.Getenv("STAA_BENCH_MODEL"); p != "" {
		ms["bench"] = p
	}
	names := make([]string, 0, len(ms))
	for n := range ms {
		names = append(names, n)
	}
	sort.Strings(names)
	batch := envInt("STAA_BENCH_BATCH", 1)
	threads := envInt("STAA_BENCH_THREADS", 0)
	dir := b.TempDir()
	for _, name := range names {
		model := ms[name]
		s, err := runtime.Open(model, runtime.Options{})
		if err != nil {
			b.Fatal(err)
		}
		info := s.Info()
		s.Close()
		F := info.Geometry.Frames
		stride := envInt("STAA_BENCH_STRIDE", max(1, F/2))
		sizes := [][2]int{{max(16, info.FrameWidth), max(16, info.FrameHeight)}, {320, 240}}
		for _, size := range sizes {
			w, h := size[0], size[1]
			path := filepath.Join(dir, fmt.Sprintf("%s-%dx%d.mp4", name, w, h))
			frames := syntheticVideo(b, 300, w, h, 1, 0)
			writeMP4(b, tools, path, frames, w, h, 25)
			out := filepath.Join(dir, "out")
			cfg := &explainConfig{model: model, video: path, out: out, method: staa.Rollout, methodName: "rollout",
				post: staa.Optimized(), postName: "optimized", stride: stride, topK: 3, batch: batch, threads: threads,
				maxSide: 480, alpha: 0.6, mp4: true, gif: true, gifWidth: 800}
			e := &env{stdout: io.Discard, stderr: io.Discard}
			b.Run(fmt.Sprintf("%s/%dx%d", name, w, h), func(b *testing.B) {
				var sum TimingReport
				var med, p99 []float64
				n := 0
				for b.Loop() {
					rep, err := explain(cfg, e)
					if err != nil {
						b.Fatal(err)
					}
					t := rep.Timings
					sum.TotalMS += t.TotalMS
					sum.DecodeMS += t.DecodeMS
					sum.PreprocessMS += t.PreprocessMS
					sum.ForwardMS += t.ForwardMS
					sum.AttributionMS += t.AttributionMS
					sum.CombineMS += t.CombineMS
					sum.EncodeMS += t.EncodeMS
					sum.EncodeMP4MS += t.EncodeMP4MS
					sum.EncodeGIFMS += t.EncodeGIFMS
					sum.RenderMS += t.RenderMS
					med = append(med, t.WindowMedianMS)
					p99 = append(p99, t.WindowP99MS)
					if n == 0 {
						b.Logf("%d windows of %d frames (stride %d, batch %d) over %d frames of %d×%d; outputs %d×%d",
							len(rep.Windows), F, stride, batch, rep.Video.Frames, w, h, rep.Outputs.Width, rep.Outputs.Height)
					}
					n++
				}
				k := float64(n)
				sort.Float64s(med)
				sort.Float64s(p99)
				b.ReportMetric(300/(sum.TotalMS/k/1e3), "fps")
				b.ReportMetric(med[len(med)/2], "window-median-ms")
				b.ReportMetric(p99[len(p99)/2], "window-p99-ms")
				b.ReportMetric(sum.DecodeMS/k, "decode-ms")
				b.ReportMetric((sum.PreprocessMS+sum.ForwardMS)/k, "forward-ms")
				b.ReportMetric(sum.AttributionMS/k, "attribution-ms")
				b.ReportMetric(sum.EncodeMS/k, "encode-ms")
				b.Logf("per run (ms): total %.0f = decode %.0f + preprocess %.0f + forward %.0f + attribution %.1f + combine %.1f + encode %.0f (render %.0f, mp4 %.0f, gif %.0f); explain-only %.0f frames/s",
					sum.TotalMS/k, sum.DecodeMS/k, sum.PreprocessMS/k, sum.ForwardMS/k, sum.AttributionMS/k, sum.CombineMS/k,
					sum.EncodeMS/k, sum.RenderMS/k, sum.EncodeMP4MS/k, sum.EncodeGIFMS/k,
					300/((sum.PreprocessMS+sum.ForwardMS+sum.AttributionMS)/k/1e3))
			})
		}
	}
}

func envInt(name string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(name), &n); err == nil && n > 0 {
		return n
	}
	return def
}
