package staa

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/float16"
)

// TestApplyBlockMatchesRows: rows fused a block at a time give bit for bit
// what the row-by-row pass gives, for every mode and fusion, float32 and
// float16, and a NaN is still found.
func TestApplyBlockMatchesRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{1, 3, 8, 16, 100, 197} {
		const H = 3
		eachOp(rng, 2*H, n, func(op layerOp, a []float32, half bool) {
			mode, fu := op.mode, op.fusion
			v := randSigned(rng, n)
			off := H * n * n // the second matrix group
			block := make([]float32, n)
			if !op.apply(off, v, block, 0, n, newScratch()) {
				t.Fatalf("n %d: block pass reported a non-finite value", n)
			}
			rows := make([]float32, n)
			blockPath = false
			ok := op.apply(off, v, rows, 0, n, newScratch())
			blockPath = true
			if !ok {
				t.Fatalf("n %d: row pass reported a non-finite value", n)
			}
			for j := range rows {
				if block[j] != rows[j] {
					t.Fatalf("n %d half %v mode %d fusion %v: out[%d] block %v, rows %v", n, half, mode, fu, j, block[j], rows[j])
				}
			}
			if half {
				return
			}
			// A NaN in the last row is found by the block pass too.
			bad := append([]float32(nil), a...)
			bad[off+(H-1)*n*n+n*n-1] = float32(math.NaN())
			op.a = Tensor{F32: bad}
			if op.apply(off, v, make([]float32, n), 0, n, newScratch()) {
				t.Fatalf("n %d mode %d fusion %v: NaN not reported", n, mode, fu)
			}
		})
	}
}

// eachOp calls f with a layerOp of H = 3 heads on count random attention
// matrices of side n (and gradients) for every mode and fusion, on float32
// data and then float16 (half); a is the float32 attention.
func eachOp(rng *rand.Rand, count, n int, f func(op layerOp, a []float32, half bool)) {
	a := randAttention(rng, count, n)
	g := randSigned(rng, len(a))
	a16, g16 := make([]float16.Num, len(a)), make([]float16.Num, len(g))
	for i := range a {
		a16[i], g16[i] = float16.New(a[i]), float16.New(g[i])
	}
	for _, half := range []bool{false, true} {
		for _, mode := range []opMode{opPlain, opRollout, opGrad} {
			for _, fu := range []Fusion{FuseMean, FuseMax, FuseMin} {
				op := layerOp{a: Tensor{F32: a}, g: Tensor{F32: g}, heads: 3, n: n, mode: mode, fusion: fu, alpha: 0.5}
				if half {
					op.a, op.g = Tensor{F16: a16}, Tensor{F16: g16}
				}
				f(op, a, half)
			}
		}
	}
}

// TestApplyEachMatchesRows: several groups at once (one call per kernel for
// all of them) give bit for bit what the row path gives group by group, for
// every mode and fusion, float32 and float16; a zero weight or a NaN in one
// group sends the groups through apply, and the NaN is reported for its
// group only.
func TestApplyEachMatchesRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{2, 5, 8, 17, 40} {
		const H, groups = 3, 5
		eachOp(rng, groups*H, n, func(op layerOp, a []float32, half bool) {
			mode, fu := op.mode, op.fusion
			// Zeros: none, one, all but each group's first row (the
			// step from e_CLS), and those plus a whole group.
			for zero := range 4 {
				v := randSigned(rng, groups*n)
				switch zero {
				case 1:
					v[2*n+1] = 0
				case 2, 3:
					for r := range v {
						if r%n != 0 || zero == 3 && r/n == 1 {
							v[r] = 0
						}
					}
				}
				each := make([]float32, groups*n)
				ok := make([]bool, groups)
				op.applyEach(0, v, each, ok, newScratch())
				blockPath = false
				rows := make([]float32, groups*n)
				for k := range groups {
					if !op.apply(k*H*n*n, v[k*n:(k+1)*n], rows[k*n:(k+1)*n], 0, n, newScratch()) {
						t.Fatalf("n %d: row pass reported a non-finite value", n)
					}
				}
				blockPath = true
				for k, good := range ok {
					if !good {
						t.Fatalf("n %d half %v mode %d fusion %v: group %d reported not finite", n, half, mode, fu, k)
					}
				}
				for j := range rows {
					if math.Float32bits(each[j]) != math.Float32bits(rows[j]) {
						t.Fatalf("n %d half %v mode %d fusion %v zeros %d: out[%d] each %v, rows %v", n, half, mode, fu, zero, j, each[j], rows[j])
					}
				}
				if zero >= 2 { // weights in first rows only: firstRows too
					first := make([]float32, groups*n)
					op.firstRows(0, v, first, ok, newScratch())
					for j := range rows {
						if math.Float32bits(first[j]) != math.Float32bits(rows[j]) || !ok[j/n] {
							t.Fatalf("n %d half %v mode %d fusion %v zeros %d: out[%d] firstRows %v, rows %v", n, half, mode, fu, zero, j, first[j], rows[j])
						}
					}
				}
			}
			if half {
				return
			}
			// A NaN in group 3 is reported there, and only there.
			bad := append([]float32(nil), a...)
			bad[3*H*n*n+n*n+n-1] = float32(math.NaN())
			op.a = Tensor{F32: bad}
			ok := make([]bool, groups)
			op.applyEach(0, randSigned(rng, groups*n), make([]float32, groups*n), ok, newScratch())
			for k, good := range ok {
				if good == (k == 3) {
					t.Fatalf("n %d mode %d fusion %v: group %d finite %v", n, mode, fu, k, good)
				}
			}
			// firstRows reads first rows only: a NaN in group 3's first
			// row is reported there, one in another row of group 2 not.
			bad[2*H*n*n+n*n+n] = float32(math.NaN())
			bad[3*H*n*n+n*n+1] = float32(math.NaN())
			v := make([]float32, groups*n)
			for g := range groups {
				v[g*n] = 0.5
			}
			op.firstRows(0, v, make([]float32, groups*n), ok, newScratch())
			for k, good := range ok {
				if good == (k == 3) {
					t.Fatalf("n %d mode %d fusion %v: firstRows group %d finite %v", n, mode, fu, k, good)
				}
			}
		})
	}
}
