package f32

import (
	"math"
	"math/rand/v2"
	"testing"
)

// IntPow agrees with math.Pow on whole exponents.
func TestIntPow(t *testing.T) {
	for _, r := range []float64{0, 1e-3, 0.37, 0.5, 0.999, 1} {
		for k := 1; k <= 64; k++ {
			want := math.Pow(r, float64(k))
			if got := IntPow(r, k); math.Abs(got-want) > 1e-14*math.Max(want, 1e-300) && got != want {
				t.Errorf("IntPow(%v, %d) = %v, want %v", r, k, got, want)
			}
		}
	}
}

func randUnit(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = rng.Float32()
	}
	return x
}

// TestPowScaled: the values and the sum are those of the plain loop over
// IntPow with the documented order of additions, bit for bit.
func TestPowScaled(t *testing.T) {
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, n := range lengths {
			for _, k := range []int{1, 2, 3, 7, 8, 13, 64} {
				x := randUnit(rng, n)
				want := append([]float32(nil), x...)
				inv := 1 / 1.0001
				var s [8]float64
				p := make([]float64, n)
				for i, v := range want {
					p[i] = IntPow(float64(v)*inv, k)
					want[i] = float32(p[i])
				}
				m := n &^ 7
				for i := 0; i < m; i++ {
					s[i%8] += p[i]
				}
				wantSum := ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]))
				for _, q := range p[m:] {
					wantSum += q
				}
				if got := PowScaled(x, inv, k); got != wantSum {
					t.Fatalf("n %d k %d: sum %v, want %v", n, k, got, wantSum)
				}
				for i := range x {
					if math.Float32bits(x[i]) != math.Float32bits(want[i]) {
						t.Fatalf("n %d k %d: x[%d] = %v, want %v", n, k, i, x[i], want[i])
					}
				}
			}
		}
	})
}

// TestSum64: Σ x in PowScaled's order, bit for bit.
func TestSum64(t *testing.T) {
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(15, 16))
		for _, n := range lengths {
			x := randSlice(rng, n)
			var s [8]float64
			m := n &^ 7
			for i := 0; i < m; i++ {
				s[i%8] += float64(x[i])
			}
			want := ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]))
			for _, v := range x[m:] {
				want += float64(v)
			}
			if got := Sum64(x); got != want {
				t.Fatalf("n %d: Sum64 = %v, want %v", n, got, want)
			}
		}
	})
}

// TestDivisions: DivScaled and DivBy give the scalar quotients bit for bit.
func TestDivisions(t *testing.T) {
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, n := range lengths {
			x := randUnit(rng, n)
			y := append([]float32(nil), x...)
			DivScaled(y, 3.7)
			z := append([]float32(nil), x...)
			DivBy(z, 0.37)
			for i, v := range x {
				if w := float32(float64(v) / 3.7); y[i] != w {
					t.Fatalf("n %d: DivScaled x[%d] = %v, want %v", n, i, y[i], w)
				}
				if w := v / 0.37; z[i] != w {
					t.Fatalf("n %d: DivBy x[%d] = %v, want %v", n, i, z[i], w)
				}
			}
		}
	})
}

// TestMax: the largest value wherever it is, and 0 for negative values.
func TestMax(t *testing.T) {
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		for _, n := range lengths {
			x := randUnit(rng, n)
			for i := range x {
				x[i] -= 2 // all negative
			}
			if m := Max(x); m != 0 {
				t.Fatalf("n %d: Max of negative values = %v, want 0", n, m)
			}
			for i := range x {
				x[i] = 7
				if m := Max(x); m != 7 {
					t.Fatalf("n %d: Max with 7 at %d = %v", n, i, m)
				}
				x[i] = -1
			}
		}
	})
}

// TestNonNegFinite: a negative, infinite or NaN value anywhere is found;
// −0 and MaxFloat32 are fine.
func TestNonNegFinite(t *testing.T) {
	paths(t, func(t *testing.T) {
		for _, n := range lengths {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(i)
			}
			if !NonNegFinite(x) {
				t.Fatalf("n %d: good values rejected", n)
			}
			for i := range x {
				for _, good := range []float32{float32(math.Copysign(0, -1)), math.MaxFloat32} {
					x[i] = good
					if !NonNegFinite(x) {
						t.Fatalf("n %d: %v at %d rejected", n, good, i)
					}
				}
				for _, bad := range []float32{-1e-30, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())} {
					x[i] = bad
					if NonNegFinite(x) {
						t.Fatalf("n %d: %v at %d accepted", n, bad, i)
					}
				}
				x[i] = 1
			}
		}
	})
}
