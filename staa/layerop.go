package staa

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/float16"

	"github.com/staa-dev/staa/staa/internal/f32"
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
// so out = Σ_i v_i·(β_i·Ā_i + γ_i·e_i). The fused rows Ā_i live in a small
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

// scratch holds per-goroutine buffers for layerOp, grown on use.
type scratch struct {
	block []float32 // fused rows
	sums  []float32 // their sums
	coef  []float32 // v_i·β_i, each fused row's weight
	diag  []float32 // v_i·γ_i, added at out[i]
	conv  []float32 // float16 widening of A's head rows
	convG []float32 // the same for G
	idx   []int     // applySparse: the rows of nonzero weight,
	w     []float32 // their weights
	full  []float32 // and the diagonal terms of every row
}

func newScratch() *scratch { return new(scratch) }

// grow makes room for blocks of rows rows of n.
func (sc *scratch) grow(rows, n int) {
	if len(sc.block) < rows*n {
		sc.block = make([]float32, rows*n)
	}
	if len(sc.coef) < rows {
		sc.sums = make([]float32, rows)
		sc.coef = make([]float32, rows)
		sc.diag = make([]float32, rows)
	}
}

// apply adds v·M for the matrices starting at element off into out, for the
// rows [r0, r1) of M only (callers split rows across goroutines). It reports
// false if a row it read held a NaN or an infinity: the fused row's sum, which
// every mode computes, is then not finite.
//
// Rows are fused a block at a time (fuseBlock values, whole small matrices):
// each head's rows of the block are read front to back, which the memory
// system serves faster than a row's worth from each of H places, with fewer
// calls. Their sums come from one f32.SumEach and out += Σ_i v_i·β_i·Ā_i from
// one f32.AxpyRows: with rows of 17 or 8 values (small models), calls per
// row, not memory, had set the time. A block holding a zero weight is done
// row by row instead, so that rows of weight 0 are not read, and one holding
// a value that is not finite is done again row by row, which finds the row.
// Either way out sees the same operations in the same order — the rows'
// products in turn, then the block's diagonal terms v_i·γ_i — so the result
// does not depend on the path. The kernels' order of additions is fixed (it
// depends on neither the CPU nor the worker count).
func (op *layerOp) apply(off int, v, out []float32, r0, r1 int, sc *scratch) (finite bool) {
	n := op.n
	out = out[:n]
	rows := max(1, min(fuseBlock/n, n))
	sc.grow(rows, n)
	scale := op.scale()
	finite = true
	for i := r0; i < r1; i += rows {
		m := min(rows, r1-i)
		vb, coef, diag := v[i:i+m], sc.coef[:m], sc.diag[:m]
		if fb := sc.block[:m*n]; m > 1 && blockPath && !f32.HasZero(vb) && op.weighBlock(fb, off+i*n, vb, coef, diag, scale, sc) {
			if i == 0 && m == n { // a whole matrix: the diagonal terms too
				f32.AxpyRows(out, coef, fb, diag)
				continue
			}
			f32.AxpyRows(out, coef, fb, nil)
		} else { // row by row: rows of weight 0 unread, a row not finite found
			f := sc.block[:n]
			for k, vk := range vb {
				coef[k], diag[k] = 0, 0
				if vk == 0 {
					continue
				}
				var ok bool
				if coef[k], diag[k], ok = op.weigh(vk, op.fuse(f, off+(i+k)*n, sc), scale); !ok {
					finite = false
					continue
				}
				f32.Axpy(coef[k], f, out)
			}
		}
		for k, d := range diag {
			out[i+k] += d
		}
	}
	return finite
}

// blockPath enables the block path of apply; tests clear it to check that
// the row path gives the same result.
var blockPath = true

// fuseBlock is the number of fused values apply computes at once (16 KiB:
// the block stays in L1).
const fuseBlock = 4096

// fuse sets f to the fusion of the H heads' values [base, base+len(f)) of
// the matrices (one matrix apart): summed for mean and grad, scaled later;
// max or min. It reads each value once, 8 lanes at a time, and returns Σf,
// which is not finite if a value read was not.
func (op *layerOp) fuse(f []float32, base int, sc *scratch) float32 {
	mat := op.n * op.n
	rows, stride := headRows(op.a, base, op.heads, len(f), mat, &sc.conv)
	switch {
	case op.mode == opGrad:
		grows, _ := headRows(op.g, base, op.heads, len(f), mat, &sc.convG)
		return f32.SumPosProdRows(f, rows, grows, op.heads, stride)
	case op.fusion == FuseMean:
		return f32.SumRows(f, rows, op.heads, stride)
	case op.fusion == FuseMax:
		return f32.MaxRows(f, rows, op.heads, stride)
	default:
		return f32.MinRows(f, rows, op.heads, stride)
	}
}

// weighBlock fuses the m = len(v) rows of the block at base into fb and
// weighs them (weighRows). It reports false if a value read or a row's sum
// is not finite: the row path then finds the row.
func (op *layerOp) weighBlock(fb []float32, base int, v, coef, diag []float32, scale float32, sc *scratch) bool {
	if s := op.fuse(fb, base, sc); s-s != 0 {
		return false
	}
	return op.weighRows(fb, v, coef, diag, scale, sc)
}

// weighRows sums the fused rows fb (len(v) rows of n) and sets their weights,
// 8 rows at a time for the rollout. It reports false if a sum is not finite.
func (op *layerOp) weighRows(fb, v, coef, diag []float32, scale float32, sc *scratch) bool {
	sums := sc.sums[:len(v)]
	f32.SumEach(sums, fb, op.n)
	return op.weighSums(v, sums, coef, diag, scale)
}

// weighSums sets the weights of rows of weight v whose fused values sum to
// sums (weigh, 8 rows at a time for the rollout); false if a sum is not
// finite.
func (op *layerOp) weighSums(v, sums, coef, diag []float32, scale float32) bool {
	if op.mode == opRollout {
		a, b := op.rolloutConstants(scale)
		return f32.RolloutWeights(coef, diag, v, sums, scale, a, b, op.alpha)
	}
	for k, vk := range v {
		var ok bool
		if coef[k], diag[k], ok = op.weigh(vk, sums[k], scale); !ok {
			return false
		}
	}
	return true
}

// rolloutConstants returns a = 1 − α and b = (1 − α)·scale, the constants of
// f32.RolloutWeight, computed once for the block and the row paths alike.
func (op *layerOp) rolloutConstants(scale float32) (a, b float32) {
	a = 1 - op.alpha
	return a, a * scale
}

// scale is the factor that turns a fused row into Ā_i: 1/H for the sums of
// mean and grad, 1 for max and min.
func (op *layerOp) scale() float32 {
	if op.mode == opGrad || op.fusion == FuseMean {
		return 1 / float32(op.heads)
	}
	return 1
}

// weigh returns the weights of a row of weight v_i whose fused values f
// (H·Ā_i for mean and grad, Ā_i for max and min; scale turns one into the
// other) sum to s: coef = v_i·β_i, the factor of f, and diag = v_i·γ_i. ok
// is false if s is not finite. A zero row of the rollout (r_i = 0) stays
// zero: both weights 0.
func (op *layerOp) weigh(vi, s, scale float32) (coef, diag float32, ok bool) {
	if op.mode == opRollout { // as f32.RolloutWeights computes it for a block
		a, b := op.rolloutConstants(scale)
		return f32.RolloutWeight(vi, s, scale, a, b, op.alpha)
	}
	s *= scale
	if s-s != 0 {
		return 0, 0, false
	}
	if op.mode == opPlain {
		return vi * scale, 0, true
	}
	return vi * scale, vi, true // grad
}

// headRows returns the H rows of side n that start at element base of t, one
// every mat elements, as a slice and the stride between the rows in it:
// float32 data in place, float16 data widened into buf (n apart).
func headRows(t Tensor, base, heads, n, mat int, buf *[]float32) ([]float32, int) {
	if t.F16 == nil {
		return t.F32[base : base+(heads-1)*mat+n], mat
	}
	if len(*buf) < heads*n {
		*buf = make([]float32, heads*n)
	}
	w := (*buf)[:heads*n]
	f32.FromHalfRows(w, halfBits16(t.F16[base:base+(heads-1)*mat+n]), n, heads, mat)
	return w, n
}

// halfBits16 views float16 values as their bit patterns (float16.Num is a
// struct holding one uint16).
func halfBits16(x []float16.Num) []uint16 {
	return unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
}
