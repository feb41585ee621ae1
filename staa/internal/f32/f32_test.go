package f32

import (
	"math"
	"math/rand/v2"
	"testing"
)

// lengths covers empty, sub-vector, exact-vector, block and odd lengths.
var lengths = []int{0, 1, 2, 7, 8, 9, 15, 16, 17, 24, 25, 31, 32, 33, 63, 64, 65, 95, 197, 1000, 1031}

// paths runs f once with the assembly kernels (where the CPU has them) and
// once with the Go code.
func paths(t *testing.T, f func(t *testing.T)) {
	asm, f16c := useAsm, useF16C
	defer func() { useAsm, useF16C = asm, f16c }()
	for _, on := range []bool{true, false} {
		if on && !asm {
			continue
		}
		useAsm, useF16C = on, on && f16c
		name := "go"
		if on {
			name = "asm"
		}
		t.Run(name, f)
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// sum64 is the reference sum, in float64, with its error bound for a
// float32 sum of the same values: n·ε·Σ|x|.
func sum64(x []float32) (s, bound float64) {
	var abs float64
	for _, v := range x {
		s += float64(v)
		abs += math.Abs(float64(v))
	}
	return s, float64(len(x)+1) * 0x1p-24 * abs
}

func TestSum(t *testing.T) {
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, n := range lengths {
			for off := range 9 { // unaligned starts
				buf := randSlice(rng, off+n)
				x := buf[off:]
				got := Sum(x)
				if want := sumGo(x); got != want {
					t.Fatalf("n %d off %d: Sum %v, blocked order gives %v", n, off, got, want)
				}
				ref, bound := sum64(x)
				if d := math.Abs(float64(got) - ref); d > bound {
					t.Fatalf("n %d off %d: Sum %v, float64 sum %v (|d| %g > %g)", n, off, got, ref, d, bound)
				}
			}
		}
	})
}

func TestSumStreams(t *testing.T) {
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, n := range append(lengths, 4096, 5000) {
			for _, k := range []int{1, 2, 3, 8, 12} {
				off := rng.IntN(8)
				x := randSlice(rng, off+n)[off:]
				got := SumStreams(x, k)
				// The documented order, spelled out independently.
				m := n / k / 32 * 32
				var acc [4][8]float32
				for p := 0; p < m; p += 32 {
					for s := 0; s < k; s++ {
						for i := 0; i < 32; i++ {
							acc[i/8][i%8] += x[s*m+p+i]
						}
					}
				}
				want := reduce(&acc) + sumGo(x[k*m:])
				if m == 0 {
					want = sumGo(x)
				}
				if got != want {
					t.Fatalf("n %d k %d: SumStreams %v, documented order %v", n, k, got, want)
				}
				ref, bound := sum64(x)
				if d := math.Abs(float64(got) - ref); d > bound {
					t.Fatalf("n %d k %d: SumStreams %v, float64 %v", n, k, got, ref)
				}
			}
		}
	})
}

// TestSumOrder pins the documented order on values where the order shows:
// 2²⁴ followed by 39 ones. A left-to-right loop loses every 1 (2²⁴+1 rounds
// to 2²⁴) and returns 2²⁴; the blocked order adds most ones among
// themselves first and returns 2²⁴+38 (the exact sum is 2²⁴+39).
func TestSumOrder(t *testing.T) {
	paths(t, func(t *testing.T) {
		x := make([]float32, 40)
		x[0] = 1 << 24
		for i := 1; i < len(x); i++ {
			x[i] = 1
		}
		got := Sum(x)
		if want := sumGo(x); got != want {
			t.Fatalf("Sum %v, Go %v", got, want)
		}
		if want := float32(1<<24 + 38); got != want {
			t.Fatalf("Sum %v, want %v", got, want)
		}
	})
}

// rowKernel is one of the row kernels, with a plain-loop reference for
// dst[j] written from its doc comment.
type rowKernel struct {
	name string
	run  func(dst, a, b []float32, rows, stride int) float32
	ref  func(a, b []float32, rows, stride, j int) float32
	// poison: any non-finite value read makes the sum NaN.
	poison bool
}

var rowKernels = []rowKernel{
	{"SumRows", func(dst, a, _ []float32, rows, stride int) float32 { return SumRows(dst, a, rows, stride) },
		func(a, _ []float32, rows, stride, j int) float32 {
			s := a[j]
			for k := 1; k < rows; k++ {
				s += a[k*stride+j]
			}
			return s
		}, false},
	{"MaxRows", func(dst, a, _ []float32, rows, stride int) float32 { return MaxRows(dst, a, rows, stride) },
		func(a, _ []float32, rows, stride, j int) float32 {
			m := a[j]
			for k := 1; k < rows; k++ {
				if x := a[k*stride+j]; x > m {
					m = x
				}
			}
			return m
		}, true},
	{"MinRows", func(dst, a, _ []float32, rows, stride int) float32 { return MinRows(dst, a, rows, stride) },
		func(a, _ []float32, rows, stride, j int) float32 {
			m := a[j]
			for k := 1; k < rows; k++ {
				if x := a[k*stride+j]; x < m {
					m = x
				}
			}
			return m
		}, true},
	{"SumPosProdRows", func(dst, a, b []float32, rows, stride int) float32 { return SumPosProdRows(dst, a, b, rows, stride) },
		func(a, b []float32, rows, stride, j int) float32 {
			var s float32
			for k := 0; k < rows; k++ {
				if p := float32(a[k*stride+j] * b[k*stride+j]); p > 0 {
					s += p
				}
			}
			return s
		}, true},
}

// same reports whether x and y are the same value (any NaN matching any).
func same(x, y float32) bool {
	return x == y && math.Signbit(float64(x)) == math.Signbit(float64(y)) || x != x && y != y
}

func TestRowKernels(t *testing.T) {
	for _, kern := range rowKernels {
		t.Run(kern.name, func(t *testing.T) {
			paths(t, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(3, 4))
				for _, n := range lengths {
					for _, rows := range []int{1, 2, 3, 12} {
						for _, extra := range []int{0, 1, 5, 64} { // stride = n + extra
							off := rng.IntN(8) // unaligned starts
							stride := n + extra
							size := off + (rows-1)*stride + n
							a, b := randSlice(rng, size)[off:], randSlice(rng, size)[off:]
							dst := randSlice(rng, n+3) // 3 sentinels
							sentinel := append([]float32(nil), dst[n:]...)
							got := kern.run(dst[:n], a, b, rows, stride)
							for j := 0; j < n; j++ {
								if want := kern.ref(a, b, rows, stride, j); !same(dst[j], want) {
									t.Fatalf("n %d rows %d stride %d: dst[%d] %v, want %v", n, rows, stride, j, dst[j], want)
								}
							}
							for j, s := range sentinel {
								if dst[n+j] != s {
									t.Fatalf("n %d rows %d: wrote past dst (index %d)", n, rows, n+j)
								}
							}
							if want := sumGo(dst[:n]); got != want {
								t.Fatalf("n %d rows %d stride %d: sum %v, blocked order gives %v", n, rows, stride, got, want)
							}
							ref, bound := sum64(dst[:n])
							if d := math.Abs(float64(got) - ref); d > bound {
								t.Fatalf("n %d rows %d: sum %v, float64 %v", n, rows, got, ref)
							}
						}
					}
				}
			})
		})
	}
}

// TestRowKernelsNonFinite: a NaN or an infinity anywhere in the rows makes
// the returned sum non-finite (the engine's check relies on it), dst is still
// what the reference loop gives, and both paths agree.
func TestRowKernelsNonFinite(t *testing.T) {
	bad := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	for _, kern := range rowKernels {
		t.Run(kern.name, func(t *testing.T) {
			paths(t, func(t *testing.T) {
				for _, n := range []int{1, 8, 13, 40, 197} {
					rows, stride := 3, n+2
					for _, v := range bad {
						for _, pos := range []int{0, n - 1, n / 2} {
							for k := range rows {
								a := make([]float32, (rows-1)*stride+n)
								b := make([]float32, len(a))
								for i := range a {
									a[i], b[i] = 0.25*float32(i%7-2), 1
								}
								a[k*stride+pos] = v
								dst := make([]float32, n)
								s := kern.run(dst, a, b, rows, stride)
								if s-s == 0 {
									t.Fatalf("n %d: %v in row %d at %d gave a finite sum %v", n, v, k, pos, s)
								}
								if kern.poison && s == s {
									t.Fatalf("n %d: %v in row %d at %d gave %v, want NaN", n, v, k, pos, s)
								}
								for j := range dst {
									if want := kern.ref(a, b, rows, stride, j); !same(dst[j], want) {
										t.Fatalf("n %d, %v in row %d at %d: dst[%d] %v, want %v", n, v, k, pos, j, dst[j], want)
									}
								}
							}
						}
					}
				}
			})
		})
	}
}

func TestAxpy(t *testing.T) {
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, n := range lengths {
			for off := range 9 {
				a := float32(rng.NormFloat64())
				x := randSlice(rng, off+n)[off:]
				y := randSlice(rng, n+off+2)[off:] // 2 sentinels
				want := append([]float32(nil), y...)
				for i := range x {
					want[i] += float32(a * x[i])
				}
				Axpy(a, x, y)
				for i := range y {
					if y[i] != want[i] {
						t.Fatalf("n %d off %d: y[%d] %v, want %v", n, off, i, y[i], want[i])
					}
				}
			}
		}
	})
}

// TestSumEach: each row's sum is Sum's, bit for bit, on both paths.
func TestSumEach(t *testing.T) {
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, n := range lengths[1:] {
			for _, rows := range []int{0, 1, 2, 5, 8, 16, 17, 25} {
				x := randSlice(rng, rows*n+3) // 3 values past the block
				if rows > 2 {
					for j := range n { // a row of negative zeros sums to +0, as Sum has it
						x[2*n+j] = float32(math.Copysign(0, -1))
					}
				}
				sums := make([]float32, rows+1)
				sums[rows] = 42 // a sentinel
				SumEach(sums[:rows], x, n)
				for k := range rows {
					want := sumGo(x[k*n : (k+1)*n])
					if !same(sums[k], want) {
						t.Fatalf("n %d rows %d: sums[%d] %v, want %v", n, rows, k, sums[k], want)
					}
					if s, _ := sum64(x[k*n : (k+1)*n]); math.Abs(float64(sums[k])-s) > 1e-4*(1+math.Abs(s)) {
						t.Fatalf("n %d rows %d: sums[%d] %v, float64 sum %v", n, rows, k, sums[k], s)
					}
				}
				if sums[rows] != 42 {
					t.Fatalf("n %d rows %d: wrote past the sums", n, rows)
				}
			}
		}
	})
}

// TestAxpyRows: the same y as one Axpy per row in order, then the diagonal
// terms, bit for bit.
func TestAxpyRows(t *testing.T) {
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, n := range lengths {
			for _, rows := range []int{0, 1, 2, 5, 17} {
				for _, withDiag := range []bool{false, true} {
					a := randSlice(rng, rows)
					x := randSlice(rng, rows*n+2)
					y := randSlice(rng, n+2) // 2 sentinels past y[:n]
					var d []float32
					if withDiag {
						d = randSlice(rng, n)
					}
					want := append([]float32(nil), y...)
					for k := range rows {
						for j := range n {
							want[j] += float32(a[k] * x[k*n+j])
						}
					}
					for j, dj := range d {
						want[j] += dj
					}
					AxpyRows(y[:n], a, x, d)
					for j := range y {
						if y[j] != want[j] {
							t.Fatalf("n %d rows %d diag %v: y[%d] %v, want %v", n, rows, withDiag, j, y[j], want[j])
						}
					}
				}
			}
		}
	})
}

// TestRolloutWeights: the same weights as RolloutWeight row by row, bit for
// bit, on both paths, zero rows (r = 0) included; a sum that is not finite
// anywhere in the block is reported.
func TestRolloutWeights(t *testing.T) {
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, m := range []int{1, 2, 7, 8, 9, 16, 17, 31} {
			for _, alpha := range []float32{0.5, 0} {
				v := randSlice(rng, m)
				sums := randSlice(rng, m)
				if alpha == 0 {
					sums[m/2] = 0 // r = 0: both weights 0
				}
				scale, a := float32(0.25), 1-alpha
				b := a * scale
				coef, diag := make([]float32, m+1), make([]float32, m+1)
				coef[m], diag[m] = 42, 42 // sentinels
				if !RolloutWeights(coef[:m], diag[:m], v, sums, scale, a, b, alpha) {
					t.Fatalf("m %d: finite sums reported as not finite", m)
				}
				for k := range m {
					c, d, ok := RolloutWeight(v[k], sums[k], scale, a, b, alpha)
					if !ok || !same(coef[k], c) || !same(diag[k], d) {
						t.Fatalf("m %d alpha %v row %d: (%v, %v), want (%v, %v)", m, alpha, k, coef[k], diag[k], c, d)
					}
				}
				if alpha == 0 && (coef[m/2] != 0 || diag[m/2] != 0) {
					t.Fatalf("m %d: a zero row got weights (%v, %v)", m, coef[m/2], diag[m/2])
				}
				if coef[m] != 42 || diag[m] != 42 {
					t.Fatalf("m %d: wrote past the weights", m)
				}
				for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
					sums[m-1] = bad
					if RolloutWeights(coef[:m], diag[:m], v, sums, scale, a, b, alpha) {
						t.Fatalf("m %d: sum %v not reported", m, bad)
					}
				}
			}
		}
	})
}

// TestAxpyProduct pins the rounding: the product is rounded before the add
// (a fused multiply-add would give 2⁻⁴⁸ here, not 0).
func TestAxpyProduct(t *testing.T) {
	paths(t, func(t *testing.T) {
		a := float32(1 + 0x1p-23)
		for _, n := range []int{1, 8, 32} {
			x := make([]float32, n)
			y := make([]float32, n)
			for i := range x {
				x[i] = 1 - 0x1p-23
				y[i] = -1
			}
			Axpy(a, x, y)
			for i, v := range y {
				if v != 0 {
					t.Fatalf("n %d: y[%d] = %g, want 0 (a·x rounded to 1 first)", n, i, v)
				}
			}
		}
	})
}

func TestPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"short src":  func() { SumRows(make([]float32, 4), make([]float32, 6), 2, 3) },
		"short b":    func() { SumPosProdRows(make([]float32, 4), make([]float32, 8), make([]float32, 7), 2, 4) },
		"max rows":   func() { MaxRows(make([]float32, 4), make([]float32, 8), 0, 4) },
		"short half": func() { FromHalfRows(make([]float32, 8), make([]uint16, 9), 4, 2, 6) },
		"no rows":    func() { SumRows(make([]float32, 4), make([]float32, 8), 0, 4) },
		"neg stride": func() { SumRows(make([]float32, 4), make([]float32, 8), 2, -1) },
		"short y":    func() { Axpy(1, make([]float32, 4), make([]float32, 3)) },
		"no streams": func() { SumStreams(make([]float32, 64), 0) },
		"short each": func() { SumEach(make([]float32, 3), make([]float32, 8), 3) },
		"each n 0":   func() { SumEach(make([]float32, 3), make([]float32, 8), 0) },
		"short rows": func() { AxpyRows(make([]float32, 3), make([]float32, 3), make([]float32, 8), nil) },
		"short diag": func() { AxpyRows(make([]float32, 3), make([]float32, 1), make([]float32, 3), make([]float32, 2)) },
		"short coef": func() {
			RolloutWeights(make([]float32, 2), make([]float32, 3), make([]float32, 3), make([]float32, 3), 1, 1, 1, 0)
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
