package staa

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/float16"

	"github.com/staa-dev/staa/staa/internal/f32"
)

// baseClip is attention the size of TimeSformer-base: L 12, T 8, H 12,
// N 196 (14×14) with CLS, spatial and temporal, about 186 MB of float32.
func baseClip() (Geometry, Clip, int64) { return dividedClip(12, 8, 12, 14, 1) }

// dividedClip is random softmax attention of the divided layout with CLS,
// spatial and temporal: L layers, T frames, H heads, a side×side grid; and
// its size in bytes.
func dividedClip(L, T, H, side int, seed uint64) (Geometry, Clip, int64) {
	g := Geometry{Layout: Divided, Frames: T, Height: side, Width: side, CLS: true}
	N := side * side
	rng := rand.New(rand.NewPCG(seed, seed))
	c := Clip{
		Spatial:  Tensor{Shape: []int{L, T, H, N + 1, N + 1}, F32: randAttention(rng, L*T*H, N+1)},
		Temporal: Tensor{Shape: []int{L, N, H, T, T}, F32: randAttention(rng, L*N*H, T)},
	}
	return g, c, int64(4 * (c.Spatial.Len() + c.Temporal.Len()))
}

var benchSink float32

// readStreams is the number of streams of the reference reads: one core
// reads memory faster through a few at once than through one (compare
// BenchmarkReadOneStream); 4 was the fastest here.
const readStreams = 4

// readBlocks splits the clip's bytes into the engine's units: one block per
// layer and frame of the spatial attention [L, T, H, n, n], one per layer
// of the temporal [L, N, H, T, T].
func readBlocks(c Clip) [][]float32 {
	var blocks [][]float32
	split := func(x []float32, k int) {
		for i := 0; i < k; i++ {
			blocks = append(blocks, x[i*len(x)/k:(i+1)*len(x)/k])
		}
	}
	split(c.Spatial.F32, c.Spatial.Shape[0]*c.Spatial.Shape[1])
	split(c.Temporal.F32, c.Temporal.Shape[0])
	return blocks
}

// BenchmarkRead is the reference: one read of the same bytes on one
// goroutine, as fast as Go reads them (f32.SumStreams, AVX2).
func BenchmarkRead(b *testing.B) {
	_, c, bytes := baseClip()
	blocks := readBlocks(c)
	b.SetBytes(bytes)
	b.ResetTimer()
	for b.Loop() {
		var s float32
		for _, x := range blocks {
			s += f32.SumStreams(x, readStreams)
		}
		benchSink = s
	}
}

// BenchmarkReadOneStream is Read front to back in one stream (f32.Sum).
func BenchmarkReadOneStream(b *testing.B) {
	_, c, bytes := baseClip()
	readOneStream(b, c, bytes)
}

// readOneStream times one read of c's attention front to back (f32.Sum).
func readOneStream(b *testing.B, c Clip, bytes int64) {
	b.SetBytes(bytes)
	b.ResetTimer()
	for b.Loop() {
		benchSink = f32.Sum(c.Spatial.F32) + f32.Sum(c.Temporal.F32)
	}
}

// BenchmarkReadParallel is Read on GOMAXPROCS goroutines, block by block:
// the bound the engine is held against.
func BenchmarkReadParallel(b *testing.B) {
	_, c, bytes := baseClip()
	blocks := readBlocks(c)
	sums := make([]float32, len(blocks))
	b.SetBytes(bytes)
	b.ResetTimer()
	for b.Loop() {
		parallelFor(len(blocks), runtime.GOMAXPROCS(0), func(_, i int) {
			sums[i] = f32.SumStreams(blocks[i], readStreams)
		})
		benchSink = sums[0]
	}
}

func benchMethod(b *testing.B, m Method, workers int) {
	g, c, bytes := baseClip()
	benchClip(b, g, c, bytes, m, workers)
}

func benchClip(b *testing.B, g Geometry, c Clip, bytes int64, m Method, workers int) {
	o := Options{Method: m, Residual: 0.5, Post: Raw(), Workers: workers}
	b.SetBytes(bytes) // bytes of attention per call, for a comparable GB/s
	b.ResetTimer()
	for b.Loop() {
		if _, err := Attribute(g, c, o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRolloutBase1(b *testing.B) { benchMethod(b, Rollout, 1) }
func BenchmarkRolloutBase(b *testing.B)  { benchMethod(b, Rollout, 0) }
func BenchmarkLastBase(b *testing.B)     { benchMethod(b, Last, 0) }

// BenchmarkRolloutBaseF16 is RolloutBase on float16 attention (93 MB; the
// GB/s count the float16 bytes).
func BenchmarkRolloutBaseF16(b *testing.B) {
	g, c, _ := baseClip()
	half := func(x []float32) []float16.Num {
		h := make([]float16.Num, len(x))
		for i, v := range x {
			h[i] = float16.New(v)
		}
		return h
	}
	c.Spatial = Tensor{Shape: c.Spatial.Shape, F16: half(c.Spatial.F32)}
	c.Temporal = Tensor{Shape: c.Temporal.Shape, F16: half(c.Temporal.F32)}
	benchClip(b, g, c, int64(2*(c.Spatial.Len()+c.Temporal.Len())), Rollout, 0)
}

// smallClip is attention the size of the shipped model's
// (models/timesformer-synth.onnx): L 3, T 8, H 4, 4×4 patches with CLS,
// spatial and temporal, 160 KB of float32: small enough that the engine's
// fixed and per-row costs, not memory, set its time.
func smallClip() (Geometry, Clip, int64) { return dividedClip(3, 8, 4, 4, 2) }

// BenchmarkRolloutSmall is the shipped model's attribution as a Session
// runs it: rollout, the default (optimized) post-processing, one worker.
func BenchmarkRolloutSmall(b *testing.B) {
	g, c, bytes := smallClip()
	o := DefaultOptions()
	o.Workers = 1
	b.SetBytes(bytes)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Attribute(g, c, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadSmall is one read of smallClip's bytes (f32.Sum).
func BenchmarkReadSmall(b *testing.B) {
	_, c, bytes := smallClip()
	readOneStream(b, c, bytes)
}
