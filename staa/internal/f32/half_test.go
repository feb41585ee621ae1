package f32

import (
	"math"
	"math/rand/v2"
	"testing"
)

// halfRef decodes binary16 from its definition: (−1)^s·2^(e−15)·(1 + f/1024)
// for 0 < e < 31, (−1)^s·2^−14·f/1024 for e = 0, ±Inf or NaN for e = 31.
func halfRef(h uint16) float64 {
	s := 1.0
	if h&0x8000 != 0 {
		s = -1
	}
	e, f := int(h>>10)&0x1f, float64(h&0x3ff)
	switch e {
	case 0:
		return s * math.Ldexp(f/1024, -14)
	case 31:
		if f != 0 {
			return math.NaN()
		}
		return s * math.Inf(1)
	}
	return s * math.Ldexp(1+f/1024, e-15)
}

func TestFromHalfAll(t *testing.T) {
	src := make([]uint16, 1<<16)
	for i := range src {
		src[i] = uint16(i)
	}
	var bits [2][]uint32
	paths(t, func(t *testing.T) {
		dst := make([]float32, len(src))
		FromHalfRows(dst, src, len(src), 1, 0)
		for i, v := range dst {
			want := halfRef(uint16(i))
			if !(float64(v) == want && math.Signbit(float64(v)) == math.Signbit(want) || v != v && want != want) {
				t.Fatalf("half %#04x = %v, want %v", i, v, want)
			}
		}
		b := make([]uint32, len(dst))
		for i, v := range dst {
			b[i] = math.Float32bits(v)
		}
		if useAsm {
			bits[0] = b
		} else {
			bits[1] = b
		}
	})
	// The paths agree bit for bit, NaNs included.
	if bits[0] != nil {
		for i := range bits[0] {
			if bits[0][i] != bits[1][i] {
				t.Fatalf("half %#04x: asm %#08x, Go %#08x", i, bits[0][i], bits[1][i])
			}
		}
	}
}

func TestFromHalfRows(t *testing.T) {
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, n := range lengths {
			for _, rows := range []int{1, 2, 12} {
				for _, extra := range []int{0, 3, 40} {
					stride := n + extra
					off := rng.IntN(8)
					src := make([]uint16, off+(rows-1)*stride+n)
					for i := range src {
						src[i] = uint16(rng.Uint32())
					}
					src = src[off:]
					dst := make([]float32, rows*n+2)
					dst[rows*n], dst[rows*n+1] = 7, 7
					FromHalfRows(dst[:rows*n], src, n, rows, stride)
					for k := 0; k < rows; k++ {
						for j := 0; j < n; j++ {
							v, want := dst[k*n+j], halfRef(src[k*stride+j])
							if !(float64(v) == want || v != v && want != want) {
								t.Fatalf("n %d rows %d stride %d: [%d][%d] = %v, want %v", n, rows, stride, k, j, v, want)
							}
						}
					}
					if dst[rows*n] != 7 || dst[rows*n+1] != 7 {
						t.Fatalf("n %d rows %d: wrote past dst", n, rows)
					}
				}
			}
		}
	})
}
