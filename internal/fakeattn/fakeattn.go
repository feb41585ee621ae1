// Package fakeattn generates TimeSformer-style (divided) attention with a
// known answer: a target square that moves across a window of frames, which
// the CLS token and the patches attend to more than to the rest. It feeds the
// demo, examples and benchmarks; it is not a model.
package fakeattn

import (
	"math"
	"math/rand/v2"

	"github.com/staa-dev/staa/staa"
)

// Spec describes the generated clip.
type Spec struct {
	Frames, Height, Width int // F (= T, tubelet 1), grid h×w
	Layers, Heads         int
	Size                  int     // side of the target square, in patches
	First, Last           int     // frames where the target is visible, inclusive
	Focus                 float64 // logit bonus of target tokens
	Noise                 float64 // std of the logit noise
	Seed                  uint64
}

// Default is an 8-frame, 10×12-patch clip, target visible in frames 2–5.
func Default() Spec {
	return Spec{Frames: 8, Height: 10, Width: 12, Layers: 4, Heads: 4, Size: 3, First: 2, Last: 5, Focus: 2.5, Noise: 1, Seed: 1}
}

// Geometry returns the matching geometry (divided, CLS, tubelet 1).
func (s Spec) Geometry() staa.Geometry {
	return staa.Geometry{Layout: staa.Divided, Frames: s.Frames, Height: s.Height, Width: s.Width, CLS: true, Tubelet: 1}
}

// Mask returns the ground truth: 1 where the target is, [F, h, w].
func (s Spec) Mask() staa.Volume {
	m := staa.NewVolume(s.Frames, s.Height, s.Width)
	for f := s.First; f <= s.Last && f < s.Frames; f++ {
		i0, j0 := s.position(f)
		for i := i0; i < i0+s.Size; i++ {
			for j := j0; j < j0+s.Size; j++ {
				m.Frame(f)[i*s.Width+j] = 1
			}
		}
	}
	return m
}

// position is the target's top-left patch in frame f: a diagonal sweep.
func (s Spec) position(f int) (int, int) {
	span := max(s.Last-s.First, 1)
	t := float64(f-s.First) / float64(span)
	return int(math.Round(t * float64(s.Height-s.Size))), int(math.Round(t * float64(s.Width-s.Size)))
}

// Clip generates the attention: softmax rows of random logits plus Focus on
// the target's tokens (spatial) and on the frames where it shows (temporal).
func (s Spec) Clip() staa.Clip {
	rng := rand.New(rand.NewPCG(s.Seed, 0x57aa))
	mask := s.Mask()
	L, T, H, N := s.Layers, s.Frames, s.Heads, s.Height*s.Width
	n := N + 1
	sp := make([]float32, L*T*H*n*n)
	logits := make([]float64, max(n, T))
	for l := 0; l < L; l++ {
		for t := 0; t < T; t++ {
			m := mask.Frame(t)
			for h := 0; h < H; h++ {
				for i := 0; i < n; i++ {
					for j := 0; j < n; j++ {
						logits[j] = s.Noise * rng.NormFloat64()
						if j > 0 && m[j-1] > 0 {
							logits[j] += s.Focus
						}
					}
					softmax(logits[:n], sp[(((l*T+t)*H+h)*n+i)*n:][:n])
				}
			}
		}
	}
	tp := make([]float32, L*N*H*T*T)
	for l := 0; l < L; l++ {
		for k := 0; k < N; k++ {
			for h := 0; h < H; h++ {
				for i := 0; i < T; i++ {
					for j := 0; j < T; j++ {
						logits[j] = s.Noise * rng.NormFloat64()
						if j >= s.First && j <= s.Last {
							logits[j] += s.Focus / 2
						}
					}
					softmax(logits[:T], tp[(((l*N+k)*H+h)*T+i)*T:][:T])
				}
			}
		}
	}
	return staa.Clip{
		Spatial:  staa.Tensor{Shape: []int{L, T, H, n, n}, F32: sp},
		Temporal: staa.Tensor{Shape: []int{L, N, H, T, T}, F32: tp},
	}
}

func softmax(x []float64, out []float32) {
	top := math.Inf(-1)
	for _, v := range x {
		top = math.Max(top, v)
	}
	var sum float64
	for _, v := range x {
		sum += math.Exp(v - top)
	}
	for j, v := range x {
		out[j] = float32(math.Exp(v-top) / sum)
	}
}
