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
		const H, count = 3, 2
		a := randAttention(rng, count*H, n)
		g := randSigned(rng, len(a))
		a16, g16 := make([]float16.Num, len(a)), make([]float16.Num, len(g))
		for i := range a {
			a16[i], g16[i] = float16.New(a[i]), float16.New(g[i])
		}
		for _, half := range []bool{false, true} {
			for _, mode := range []opMode{opPlain, opRollout, opGrad} {
				for _, fu := range []Fusion{FuseMean, FuseMax, FuseMin} {
					op := layerOp{a: Tensor{F32: a}, g: Tensor{F32: g}, heads: H, n: n, mode: mode, fusion: fu, alpha: 0.5}
					if half {
						op.a, op.g = Tensor{F16: a16}, Tensor{F16: g16}
					}
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
						continue
					}
					// A NaN in the last row is found by the block pass too.
					bad := append([]float32(nil), a...)
					bad[off+(H-1)*n*n+n*n-1] = float32(math.NaN())
					op.a = Tensor{F32: bad}
					if op.apply(off, v, make([]float32, n), 0, n, newScratch()) {
						t.Fatalf("n %d mode %d fusion %v: NaN not reported", n, mode, fu)
					}
				}
			}
		}
	}
}
