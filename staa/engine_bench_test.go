package staa

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// baseClip is attention the size of TimeSformer-base: L 12, T 8, H 12,
// N 196 (14×14) with CLS, spatial and temporal, about 186 MB of float32.
func baseClip() (Geometry, Clip, int64) {
	g := Geometry{Layout: Divided, Frames: 8, Height: 14, Width: 14, CLS: true}
	L, T, H, N := 12, 8, 12, 196
	rng := rand.New(rand.NewPCG(1, 1))
	c := Clip{
		Spatial:  Tensor{Shape: []int{L, T, H, N + 1, N + 1}, F32: randAttention(rng, L*T*H, N+1)},
		Temporal: Tensor{Shape: []int{L, N, H, T, T}, F32: randAttention(rng, L*N*H, T)},
	}
	return g, c, int64(4 * (c.Spatial.Len() + c.Temporal.Len()))
}

var benchSink float32

// BenchmarkRead is the reference: one vectorised read of the same bytes.
func BenchmarkRead(b *testing.B) {
	_, c, bytes := baseClip()
	b.SetBytes(bytes)
	b.ResetTimer()
	for b.Loop() {
		benchSink = sum32(c.Spatial.F32) + sum32(c.Temporal.F32)
	}
}

// BenchmarkReadParallel reads the same bytes on GOMAXPROCS goroutines, in
// the same row blocks as the engine: the bound the engine is held against.
func BenchmarkReadParallel(b *testing.B) {
	_, c, bytes := baseClip()
	chunks := c.Spatial.Shape[0] * c.Spatial.Shape[1] // one per layer and frame
	size := len(c.Spatial.F32) / chunks
	sums := make([]float32, chunks)
	b.SetBytes(bytes)
	b.ResetTimer()
	for b.Loop() {
		parallelFor(chunks, runtime.GOMAXPROCS(0), func(_, i int) {
			sums[i] = sum32(c.Spatial.F32[i*size : (i+1)*size])
		})
		benchSink = sums[0] + sum32(c.Temporal.F32)
	}
}

func benchMethod(b *testing.B, m Method, workers int) {
	g, c, bytes := baseClip()
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
