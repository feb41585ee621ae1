package staa

import (
	"fmt"

	"github.com/staa-dev/staa/staa/internal/f32"
)

// rowBlock is the number of rows of a joint matrix that one task handles.
// It is fixed, not derived from the worker count, so that the partial sums,
// and hence the results, are the same for any number of workers.
const rowBlock = 64

// propagateJoint runs v ← v·M_l for l = L−1 … 0 over [H, S, S] matrices.
// The result is a vector of ws, valid until ws is reused.
func (p *plan) propagateJoint(workers int, ws *workspace) ([]float32, error) {
	S := p.g.Tokens()
	op := layerOp{a: p.c.Joint, g: p.c.JointGrad, heads: p.heads, n: S, mode: p.mode(), fusion: p.o.Fusion, alpha: float32(p.o.Residual)}
	blocks := (S + rowBlock - 1) / rowBlock
	if workers > blocks {
		workers = blocks
	}
	scratches := ws.scratchFor(workers)
	partial := ws.vec(0, blocks*S)
	ok := ws.flag(0, blocks)
	v := startVector(ws.vec(1, S), p.g.CLS)
	next := ws.vec(2, S)
	last := 0
	if op.mode == opPlain {
		last = p.layers - 1 // Last reads the last layer only
	}
	for l := p.layers - 1; l >= last; l-- {
		off := l * p.heads * S * S
		clear(partial)
		parallelFor(blocks, workers, func(w, b int) {
			r0 := b * rowBlock
			ok[b] = op.apply(off, v, partial[b*S:(b+1)*S], r0, min(r0+rowBlock, S), scratches[w])
		})
		if err := nonFinite(ok, "joint", l, "row block"); err != nil {
			return nil, err
		}
		clear(next)
		for b := 0; b < blocks; b++ {
			addTo(next, partial[b*S:(b+1)*S])
		}
		v, next = next, v
		if err := checkFinite(v, "joint", l); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// propagateDivided runs the divided space-time reverse pass: per layer, last
// first, the spatial blocks (per frame) and then the temporal blocks (per
// patch). The state is [CLS?, T·N patches]. The output CLS of a layer is the
// mean of its T per-frame copies, so each copy receives v_CLS/T, and the input
// CLS collects the sum over frames. The result is a vector of ws, valid
// until ws is reused.
//
// Each step asks for the next step's attention to be prefetched: right after
// the model's forward pass it is out of the core's caches, and small models'
// steps are short.
func (p *plan) propagateDivided(workers int, ws *workspace) ([]float32, error) {
	g := p.g
	T, N, C := g.Groups(), g.Patches(), g.C()
	n := C + N
	mode := p.mode()
	sop := layerOp{a: p.c.Spatial, g: p.c.SpatialGrad, heads: p.heads, n: n, mode: mode, fusion: p.o.Fusion, alpha: float32(p.o.Residual)}
	top := layerOp{a: p.c.Temporal, g: p.c.TemporalGrad, heads: p.theads, n: T, mode: mode, fusion: p.o.Fusion, alpha: float32(p.o.Residual)}
	scratches := ws.scratchFor(workers)
	// Per-frame input and output vectors u, uo; per-patch wt, wo; the state
	// v: each written (or cleared) before it is read.
	vecs := ws.buf(0, 2*T*n+2*N*T+C+T*N)
	u, uo := vecs[:T*n], vecs[T*n:2*T*n]
	wt, wo := vecs[2*T*n:2*T*n+N*T], vecs[2*T*n+N*T:2*T*n+2*N*T]
	v := startVector(vecs[2*T*n+2*N*T:], g.CLS)
	okT, okN := ws.flag(0, T), ws.flag(1, N)
	sm, tm := T*p.heads*n*n, N*p.theads*T*T // a layer's values
	if mode == opPlain {
		return p.lastDivided(&sop, u, uo, v, okT, workers, scratches)
	}
	for l := p.layers - 1; l >= 0; l-- {
		prefetch(top.a, l*tm, tm)
		// Spatial, per frame.
		for t := range T {
			ut := u[t*n : (t+1)*n]
			if C == 1 {
				ut[0] = v[0] / float32(T)
			}
			copy(ut[C:], v[C+t*N:C+(t+1)*N])
		}
		clear(uo)
		if l == p.layers-1 {
			p.firstSpatial(&sop, u, uo, okT, workers, scratches)
		} else {
			sop.each(l*sm, u, uo, okT, workers, scratches)
		}
		if err := nonFinite(okT, "spatial", l, "frame"); err != nil {
			return nil, err
		}
		if C == 1 {
			v[0] = 0
			for t := range T {
				v[0] += uo[t*n]
			}
		}
		p.gatherPatches(v, uo)
		if err := checkFinite(v, "spatial", l); err != nil {
			return nil, err
		}
		if p.theads == 0 {
			continue // no temporal attention: T̂_l = I
		}
		if l > 0 {
			prefetch(sop.a, (l-1)*sm, sm)
		}
		// Temporal, per patch position; the CLS passes through.
		f32.Transpose(wt, v[C:], T, N)
		clear(wo)
		top.each(l*tm, wt, wo, okN, workers, scratches)
		if err := nonFinite(okN, "temporal", l, "patch"); err != nil {
			return nil, err
		}
		f32.Transpose(v[C:], wo, N, T)
		if err := checkFinite(v, "temporal", l); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// lastDivided is propagateDivided for Last: frame t's row is e_CLS·Ā_L[t]
// (or, without CLS, the mean of its rows). u, uo and v are propagateDivided's
// vectors; v receives the patch entries.
func (p *plan) lastDivided(sop *layerOp, u, uo, v []float32, okT []bool, workers int, scratches []*scratch) ([]float32, error) {
	T, n := p.g.Groups(), p.g.C()+p.g.Patches()
	startVector(u[:n], p.g.CLS)
	for t := 1; t < T; t++ {
		copy(u[t*n:(t+1)*n], u[:n])
	}
	clear(uo)
	p.firstSpatial(sop, u, uo, okT, workers, scratches)
	l := p.layers - 1
	if err := nonFinite(okT, "spatial", l, "frame"); err != nil {
		return nil, err
	}
	clear(v)
	p.gatherPatches(v, uo)
	return v, checkFinite(v, "spatial", l)
}

// firstSpatial is the spatial step of the last layer, the first of the
// pass: from e_CLS (each frame's CLS row only, prefetched first) when there
// is a CLS token, a step like the others when there is not.
func (p *plan) firstSpatial(sop *layerOp, u, uo []float32, okT []bool, workers int, scratches []*scratch) {
	T, n := p.g.Groups(), sop.n
	off := (p.layers - 1) * T * p.heads * n * n
	if !p.g.CLS {
		sop.each(off, u, uo, okT, workers, scratches)
		return
	}
	prefetchRows(sop.a, off, n, T*p.heads, n*n)
	sop.firstRows(off, u, uo, okT, scratches[0])
}

// gatherPatches copies each frame's patch entries of uo ([T, c+N]) into
// the state v ([c?, T·N]).
func (p *plan) gatherPatches(v, uo []float32) {
	T, N, C := p.g.Groups(), p.g.Patches(), p.g.C()
	n := C + N
	for t := range T {
		copy(v[C+t*N:C+(t+1)*N], uo[t*n+C:(t+1)*n])
	}
}

// prefetchLimit is the most values prefetch asks for at once: a step of a
// small model (the shipped one's are 37 and 16 KB). A larger step would not
// stay in the cache until it is read, and the prefetches would double the
// traffic of a pass bound by memory.
const prefetchLimit = 32 << 10

// prefetchRows asks for rows of n values of t, stride apart from off, to be
// brought towards the cache.
func prefetchRows(t Tensor, off, n, rows, stride int) {
	if t.F16 != nil {
		f32.PrefetchRowsHalf(halfBits16(t.F16[off:off+(rows-1)*stride+n]), n, rows, stride)
	} else if t.F32 != nil {
		f32.PrefetchRows(t.F32[off:off+(rows-1)*stride+n], n, rows, stride)
	}
}

// prefetch asks for t's values [off, off+n) to be brought towards the cache,
// if there are at most prefetchLimit of them.
func prefetch(t Tensor, off, n int) {
	if n > prefetchLimit {
		return
	}
	if t.F16 != nil {
		f32.PrefetchHalf(halfBits16(t.F16[off : off+n]))
	} else if t.F32 != nil {
		f32.Prefetch(t.F32[off : off+n])
	}
}

// nonFinite names the first task whose rows held a NaN or an infinity.
func nonFinite(ok []bool, what string, layer int, unit string) error {
	for i, good := range ok {
		if !good {
			return fmt.Errorf("staa: %s attention (or its gradient) holds NaN or Inf in layer %d, %s %d", what, layer, unit, i)
		}
	}
	return nil
}

// addTo adds x into dst elementwise.
func addTo(dst, x []float32) {
	for i, xi := range x {
		dst[i] += xi
	}
}
