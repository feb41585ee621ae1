package staa

import "github.com/staa-dev/staa/staa/internal/f32"

// The steps of a layer over groups of small matrices: all the frames (or
// patch positions) of a step in a few calls, where apply would make a few
// per matrix. Each gives apply's results bit for bit (layerop_test.go).

// patchGroup is the most groups (frames or patch positions) that one task
// handles when there are several workers (TimeSformer-base: the temporal
// step is 14 tasks of 14 blocks of 3 KB a layer): each reads a stretch of
// memory rather than every other small block, and the tasks balance.
const patchGroup = 14

// each runs op.applyEach on every group of a step: groups len(ok) of H
// matrices each, the first at element off, a task a few groups at a time
// (as many as fit in the fuse block, at most patchGroup when workers share
// the work). v and out hold n values per group.
func (op *layerOp) each(off int, v, out []float32, ok []bool, workers int, scratches []*scratch) {
	n, groups := op.n, len(ok)
	per := max(1, fuseBlock/(n*n))
	if workers > 1 {
		per = min(per, patchGroup)
	}
	tasks := (groups + per - 1) / per
	if workers <= 1 || tasks == 1 {
		for c := range tasks {
			op.task(c, per, off, v, out, ok, scratches[0])
		}
		return
	}
	op.eachParallel(tasks, per, off, v, out, ok, workers, scratches)
}

// eachParallel is each's loop over tasks on several goroutines (apart, so
// that the one-goroutine path allocates no closure).
func (op *layerOp) eachParallel(tasks, per, off int, v, out []float32, ok []bool, workers int, scratches []*scratch) {
	o := *op // a copy for the goroutines, so that op itself stays where it is
	parallelFor(tasks, workers, func(w, c int) { o.task(c, per, off, v, out, ok, scratches[w]) })
}

// task runs applyEach on the groups [c·per, (c+1)·per) of each's step.
func (op *layerOp) task(c, per, off int, v, out []float32, ok []bool, sc *scratch) {
	n := op.n
	g0, g1 := c*per, min((c+1)*per, len(ok))
	op.applyEach(off+g0*op.heads*n*n, v[g0*n:g1*n], out[g0*n:g1*n], ok[g0:g1], sc)
}

// applyEach is apply over whole matrices for groups = len(ok) groups at
// once: group g's H matrices start at off + g·H·n² (frames of the spatial
// attention, patches of the temporal one), and out[g·n:(g+1)·n] += v[g·n:
// (g+1)·n]·M_g; ok[g] reports whether group g's rows were finite. out must
// hold no −0 (callers clear it). When the groups' fused matrices fit in the
// block together (small models: 17×17 or 8×8 matrices), the first path that
// applies of
//
//   - the default (rollout, mean fusion, float32): one f32.RolloutGroups
//     (rolloutGroups);
//   - no weight 0: the groups fused, every row summed and weighed in one call
//     each, each group accumulated with f32.AxpyRows (blockGroups);
//   - weights 0: the rows of nonzero weight only (applySparse);
//
// does a step in a few calls rather than a few per group, with apply's
// operations on each group, so the same results. Otherwise, or if a value is
// not finite, each group goes through apply (out is not touched before that
// choice).
func (op *layerOp) applyEach(off int, v, out []float32, ok []bool, sc *scratch) {
	n, rows := op.n, len(ok)*op.n
	v, out = v[:rows], out[:rows]
	if n > 1 && blockPath && rows*n <= fuseBlock &&
		(op.rolloutGroups(off, v, out, sc) || op.blockGroups(off, v, out, sc) || op.applySparse(off, v, out, sc)) {
		for g := range ok {
			ok[g] = true
		}
		return
	}
	op.applyGroups(off, v, out, ok, sc)
}

// applyGroups is applyEach through apply, group by group.
func (op *layerOp) applyGroups(off int, v, out []float32, ok []bool, sc *scratch) {
	n, mat := op.n, op.heads*op.n*op.n
	for g := range ok {
		r := g * n
		ok[g] = op.apply(off+g*mat, v[r:r+n], out[r:r+n], 0, n, sc)
	}
}

// rolloutGroups is applyEach's default path, rollout of float32 attention
// fused by the mean, in one call. Rows of weight 0 are read too, and add
// nothing: out starts at +0 and gets ±0 from them. It reports false, out
// untouched, for another mode, fusion or dtype, or if a value read is not
// finite (the other paths skip rows of weight 0 and find the group).
func (op *layerOp) rolloutGroups(off int, v, out []float32, sc *scratch) bool {
	if op.mode != opRollout || op.fusion != FuseMean || op.a.F16 != nil {
		return false
	}
	n := op.n
	sc.grow(len(v), n)
	scale := op.scale()
	a, b := op.rolloutConstants(scale)
	return f32.RolloutGroups(out, v, op.a.F32[off:], sc.block, sc.sums, sc.coef, sc.diag, n, op.heads, op.heads*n*n, scale, a, b, op.alpha)
}

// blockGroups is applyEach's path for weights without a zero: every
// group's matrices fused into the block, every row summed and weighed, each
// group accumulated with its diagonal terms. It reports false, out
// untouched, if a weight is 0 or a value read is not finite.
func (op *layerOp) blockGroups(off int, v, out []float32, sc *scratch) bool {
	n, rows := op.n, len(v)
	if f32.HasZero(v) {
		return false
	}
	sc.grow(rows, n)
	fb := sc.block[:rows*n]
	if s := op.fuseGroups(fb, off, n*n, sc); s-s != 0 {
		return false
	}
	if !op.weighRows(fb, v, sc.coef[:rows], sc.diag[:rows], op.scale(), sc) {
		return false
	}
	f32.AxpyRowsEach(out, sc.coef[:rows], fb, sc.diag[:rows], n)
	return true
}

// fuseGroups sets dst, m values a group, to the fusion of the first m
// values of each group's H matrices (group g's start at off + g·H·n²), in
// one call for float32 attention fused by the mean, and returns the sum of
// the groups' fused values: not finite if a value read was not.
func (op *layerOp) fuseGroups(dst []float32, off, m int, sc *scratch) float32 {
	nn := op.n * op.n
	mat := op.heads * nn
	if op.mode != opGrad && op.fusion == FuseMean && op.a.F16 == nil {
		return f32.SumRowsEach(dst, op.a.F32[off:], m, op.heads, nn, mat)
	}
	var s float32
	for g := range len(dst) / m {
		s += op.fuse(dst[g*m:(g+1)*m], off+g*mat, sc)
	}
	return s
}

// firstRows is applyEach for a step whose weights are 0 outside each
// group's first row: the step from e_CLS, which reads each frame's CLS rows
// only. The groups' first rows are fused in one pass, summed and weighed in
// one call each, then added to their group's out with the diagonal term,
// the operations of the row path (so the same results; a zero weight adds
// nothing, as a skipped row). If a value read is not finite, the groups go
// through apply, which finds them.
func (op *layerOp) firstRows(off int, v, out []float32, ok []bool, sc *scratch) {
	n, groups := op.n, len(ok)
	sc.grow(groups, n)
	rows, w, sums := sc.block[:groups*n], reuse(&sc.w, groups), sc.sums[:groups]
	for g := range groups {
		w[g] = v[g*n]
	}
	s := op.fuseGroups(rows, off, n, sc)
	f32.SumEach(sums, rows, n)
	coef, diag := sc.coef[:groups], sc.diag[:groups]
	if s-s != 0 || !op.weighSums(w, sums, coef, diag, op.scale()) {
		op.applyGroups(off, v, out, ok, sc)
		return
	}
	for g := range groups {
		o := out[g*n : (g+1)*n]
		f32.Axpy(coef[g], rows[g*n:(g+1)*n], o)
		o[0] += diag[g]
		ok[g] = true
	}
}

// applySparse is applyEach for weights with zeros (attention with exact
// zeros; the step from e_CLS has firstRows): the rows of nonzero weight, and
// only they, are fused into the block one after the other, weighed in one call and added
// to their group's out, then every group's diagonal terms (0 for the other
// rows) — apply's row path on each group, so the same results, without
// apply's setup per group. It reports false, out untouched, if a value read
// is not finite.
func (op *layerOp) applySparse(off int, v, out []float32, sc *scratch) bool {
	n := op.n
	mat := op.heads * n * n
	sc.idx = sc.idx[:0]
	for r, x := range v {
		if x != 0 {
			sc.idx = append(sc.idx, r)
		}
	}
	m := len(sc.idx)
	sc.grow(m, n)
	w, sums := reuse(&sc.w, m), sc.sums[:m]
	for k, r := range sc.idx {
		w[k] = v[r]
		sums[k] = op.fuse(sc.block[k*n:(k+1)*n], off+(r/n)*mat+(r%n)*n, sc)
	}
	coef, diag := sc.coef[:m], sc.diag[:m]
	if !op.weighSums(w, sums, coef, diag, op.scale()) {
		return false
	}
	full := reuse(&sc.full, len(v))
	for k, r := range sc.idx {
		g := r / n
		f32.Axpy(coef[k], sc.block[k*n:(k+1)*n], out[g*n:(g+1)*n])
		full[r] = diag[k]
	}
	f32.Axpy(1, full, out) // 1·d = d: out += d exactly
	return true
}
