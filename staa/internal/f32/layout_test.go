package f32

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestTranspose: every element lands at its place, tiles and edges, with
// room around dst left untouched.
func TestTranspose(t *testing.T) {
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, rows := range []int{0, 1, 3, 7, 8, 9, 16, 17, 24} {
			for _, cols := range []int{0, 1, 5, 8, 9, 16, 23, 196} {
				src := randSlice(rng, rows*cols)
				dst := make([]float32, rows*cols+3)
				for i := range dst {
					dst[i] = -7
				}
				Transpose(dst, src, rows, cols)
				for r := 0; r < rows; r++ {
					for c := 0; c < cols; c++ {
						if got, want := dst[c*rows+r], src[r*cols+c]; got != want {
							t.Fatalf("%d×%d: dst[%d·%d+%d] = %v, want %v", rows, cols, c, rows, r, got, want)
						}
					}
				}
				for _, x := range dst[rows*cols:] {
					if x != -7 {
						t.Fatalf("%d×%d: wrote past the matrix", rows, cols)
					}
				}
			}
		}
	})
}

func TestTransposePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Transpose into a short dst did not panic")
		}
	}()
	Transpose(make([]float32, 5), make([]float32, 6), 2, 3)
}

// TestHasZero: a zero (of either sign) at any place is found, NaN is not a
// zero, and values past the slice are not looked at.
func TestHasZero(t *testing.T) {
	paths(t, func(t *testing.T) {
		negZero := float32(math.Copysign(0, -1))
		for _, n := range lengths {
			x := make([]float32, n+1)
			for i := range x {
				x[i] = 1 + float32(i)
			}
			x[n] = 0 // past the slice
			if HasZero(x[:n]) {
				t.Fatalf("n %d: zero found in a slice without one", n)
			}
			for i := 0; i < n; i++ {
				for _, z := range []float32{0, negZero} {
					x[i] = z
					if !HasZero(x[:n]) {
						t.Fatalf("n %d: zero %v at %d not found", n, z, i)
					}
				}
				x[i] = float32(math.NaN())
				if HasZero(x[:n]) {
					t.Fatalf("n %d: NaN at %d taken for a zero", n, i)
				}
				x[i] = 1
			}
		}
	})
}

// TestEachKernels: SumRowsEach and AxpyRowsEach are their one-group kernels
// called group by group, bit for bit.
func TestEachKernels(t *testing.T) {
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, n := range []int{1, 3, 8, 17, 33} {
			const rows, groups = 4, 3
			nn := n * n
			gstride := rows*nn + 5 // groups apart by more than their rows
			src := randSlice(rng, groups*gstride)
			got := make([]float32, groups*nn)
			s := SumRowsEach(got, src, nn, rows, nn, gstride)
			want := make([]float32, groups*nn)
			var ws float32
			for g := range groups {
				ws += SumRows(want[g*nn:(g+1)*nn], src[g*gstride:], rows, nn)
			}
			if s != ws {
				t.Fatalf("n %d: SumRowsEach returned %v, want %v", n, s, ws)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("n %d: SumRowsEach [%d] = %v, want %v", n, i, got[i], want[i])
				}
			}
			y := randSlice(rng, groups*n)
			a, d := randSlice(rng, groups*n), randSlice(rng, groups*n)
			x := randSlice(rng, groups*nn)
			yw := append([]float32(nil), y...)
			AxpyRowsEach(y, a, x, d, n)
			for g := range groups {
				r := g * n
				AxpyRows(yw[r:r+n], a[r:r+n], x[r*n:(r+n)*n], d[r:r+n])
			}
			for i := range y {
				if y[i] != yw[i] {
					t.Fatalf("n %d: AxpyRowsEach [%d] = %v, want %v", n, i, y[i], yw[i])
				}
			}
		}
	})
}

// TestPrefetch: a hint only — any length and alignment, nothing changes.
func TestPrefetch(t *testing.T) {
	paths(t, func(t *testing.T) {
		x := make([]float32, 300)
		h := make([]uint16, 300)
		for i := range x {
			x[i], h[i] = float32(i), uint16(i)
		}
		for _, lo := range []int{0, 1, 5, 17} {
			for _, hi := range []int{lo, lo + 1, lo + 16, 300} {
				Prefetch(x[lo:hi])
				PrefetchHalf(h[lo:hi])
				if hi > lo {
					PrefetchRows(x[lo:], hi-lo, 2, 300-hi)
					PrefetchRowsHalf(h[lo:], hi-lo, 2, 300-hi)
				}
			}
		}
		for i := range x {
			if x[i] != float32(i) || h[i] != uint16(i) {
				t.Fatalf("Prefetch changed value %d", i)
			}
		}
	})
}

// TestRolloutGroups: one call gives what the four kernels give one after
// the other, bit for bit; a NaN makes it return false with out untouched.
func TestRolloutGroups(t *testing.T) {
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(17, 18))
		for _, n := range []int{1, 3, 8, 17} {
			const heads, groups = 3, 4
			nn, m := n*n, groups*n
			gstride := heads*nn + 2
			src := randSlice(rng, groups*gstride)
			for i := range src {
				src[i] = src[i]*src[i] + 0.1
			}
			v := randSlice(rng, m)
			out := randSlice(rng, m)
			want := append([]float32(nil), out...)
			block, sums, coef, diag := make([]float32, m*n), make([]float32, m), make([]float32, m), make([]float32, m)
			const scale, a, b, alpha = 1.0 / 3, 0.5, 0.5 / 3, 0.5
			if !RolloutGroups(out, v, src, block, sums, coef, diag, n, heads, gstride, scale, a, b, alpha) {
				t.Fatalf("n %d: finite values reported not finite", n)
			}
			wb, ws, wc, wd := make([]float32, m*n), make([]float32, m), make([]float32, m), make([]float32, m)
			SumRowsEach(wb, src, nn, heads, nn, gstride)
			SumEach(ws, wb, n)
			RolloutWeights(wc, wd, v, ws, scale, a, b, alpha)
			AxpyRowsEach(want, wc, wb, wd, n)
			for i := range want {
				if math.Float32bits(out[i]) != math.Float32bits(want[i]) {
					t.Fatalf("n %d: out[%d] = %v, want %v", n, i, out[i], want[i])
				}
			}
			src[2*gstride+nn+n-1] = float32(math.NaN())
			before := append([]float32(nil), out...)
			if RolloutGroups(out, v, src, block, sums, coef, diag, n, heads, gstride, scale, a, b, alpha) {
				t.Fatalf("n %d: NaN not reported", n)
			}
			for i := range out {
				if out[i] != before[i] {
					t.Fatalf("n %d: out changed on failure", n)
				}
			}
		}
	})
}
