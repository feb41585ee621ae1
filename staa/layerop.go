package staa

import (
	"gonum.org/v1/gonum/blas/blas32"
)

// layerOp applies one layer's operator to a row vector: out = v·M, where M is
// built on the fly from the H head matrices of side n stored at an offset of a
// (and of g, the gradients, for the Grad method).
//
// Row by row, M_i = β_i·Ā_i + γ_i·e_i with
//
//	plain (Last): β = 1,               γ = 0
//	Rollout:      β = (1−α)/r_i,       γ = α/r_i,  r_i = (1−α)·ΣĀ_i + α
//	Grad:         β = 1,               γ = 1
//
// so out = Σ_i v_i·(β_i·Ā_i + γ_i·e_i). The fused row Ā_i lives in an n-long
// scratch buffer (it stays in L1), so each attention value is read from memory
// once and the fused matrix is never materialised. Rows with v_i = 0 add
// nothing and are skipped: their values cannot change the result, and they
// are not read (nor checked for NaN).
type layerOp struct {
	a, g   Tensor
	heads  int
	n      int
	mode   opMode
	fusion Fusion
	alpha  float32
}

type opMode int

const (
	opPlain opMode = iota
	opRollout
	opGrad
)

// scratch holds per-goroutine buffers for layerOp.
type scratch struct {
	fused []float32 // n
	conv  []float32 // n, float16 widening of A
	convG []float32 // n, float16 widening of G
}

func newScratch(n int) *scratch {
	return &scratch{fused: make([]float32, n), conv: make([]float32, n), convG: make([]float32, n)}
}

// apply adds v·M for the matrices starting at element off into out, for the
// rows [r0, r1) of M only (callers split rows across goroutines). It reports
// false if a row it read held a NaN or an infinity: the fused row's sum, which
// every mode computes, is then not finite.
func (op *layerOp) apply(off int, v, out []float32, r0, r1 int, sc *scratch) (finite bool) {
	finite = true
	n := op.n
	mat := n * n
	invH := 1 / float32(op.heads)
	f := sc.fused[:n]
	for i := r0; i < r1; i++ {
		vi := v[i]
		if vi == 0 {
			continue
		}
		// Fuse the heads' row i into f (summed for mean; scaled below).
		switch {
		case op.mode == opGrad:
			clear(f)
			for h := 0; h < op.heads; h++ {
				base := off + h*mat + i*n
				ar := op.a.row(base, n, sc.conv)
				gr := op.g.row(base, n, sc.convG)
				for j, x := range ar {
					// p-p != 0 keeps NaN and ±Inf so that the sum shows them.
					if p := x * gr[j]; p > 0 || p-p != 0 {
						f[j] += p
					}
				}
			}
		case op.fusion == FuseMean && n < smallRow:
			// Short rows (TimeSformer's T×T temporal blocks): a plain loop
			// beats the per-call cost of the vectorised kernels.
			copy(f, op.a.row(off+i*n, n, sc.conv))
			for h := 1; h < op.heads; h++ {
				ar := op.a.row(off+h*mat+i*n, n, sc.conv)
				for j, x := range ar {
					f[j] += x
				}
			}
		case op.fusion == FuseMean:
			copy(f, op.a.row(off+i*n, n, sc.conv))
			for h := 1; h < op.heads; h++ {
				ar := op.a.row(off+h*mat+i*n, n, sc.conv)
				blas32.Axpy(1, blas32.Vector{N: n, Inc: 1, Data: ar}, blas32.Vector{N: n, Inc: 1, Data: f})
			}
		default:
			copy(f, op.a.row(off+i*n, n, sc.conv))
			max := op.fusion == FuseMax
			for h := 1; h < op.heads; h++ {
				ar := op.a.row(off+h*mat+i*n, n, sc.conv)
				for j, x := range ar {
					// x-x != 0 keeps NaN and ±Inf so that the sum shows them.
					if (max && x > f[j]) || (!max && x < f[j]) || x-x != 0 {
						f[j] = x
					}
				}
			}
		}
		// f holds H·Ā_i for mean and grad, Ā_i for max and min.
		scale := float32(1)
		if op.mode == opGrad || op.fusion == FuseMean {
			scale = invH
		}
		s := sum32(f) * scale
		if s-s != 0 {
			finite = false
			continue
		}
		var beta, gamma float32
		switch op.mode {
		case opPlain:
			beta, gamma = scale, 0
		case opGrad:
			beta, gamma = scale, 1
		case opRollout:
			r := (1-op.alpha)*s + op.alpha
			if r == 0 {
				continue // a zero row stays zero
			}
			beta, gamma = (1-op.alpha)*scale/r, op.alpha/r
		}
		if c := vi * beta; n < smallRow {
			for j, x := range f {
				out[j] += c * x
			}
		} else {
			blas32.Axpy(c, blas32.Vector{N: n, Inc: 1, Data: f}, blas32.Vector{N: n, Inc: 1, Data: out})
		}
		out[i] += vi * gamma
	}
	return finite
}

// smallRow is the row length below which plain loops replace gonum's
// vectorised kernels.
const smallRow = 32

var onesBuf = func() []float32 {
	b := make([]float32, 4096)
	for i := range b {
		b[i] = 1
	}
	return b
}()

// sum32 returns Σx with gonum's vectorised dot product against ones (a
// plain loop for short rows).
func sum32(x []float32) float32 {
	var s float32
	if len(x) < smallRow {
		for _, v := range x {
			s += v
		}
		return s
	}
	for len(x) > 0 {
		k := min(len(x), len(onesBuf))
		s += blas32.Dot(blas32.Vector{N: k, Inc: 1, Data: x[:k]}, blas32.Vector{N: k, Inc: 1, Data: onesBuf[:k]})
		x = x[k:]
	}
	return s
}
