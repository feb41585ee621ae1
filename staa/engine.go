package staa

import (
	"errors"
	"fmt"

	"github.com/staa-dev/staa/staa/internal/f32"
)

// Attribute explains one clip: it propagates the row vector through every
// layer of c (see the package documentation), reshapes the patch part to the
// volume V[F, h, w] and post-processes it with o.Post.
func Attribute(g Geometry, c Clip, o Options) (Attribution, error) {
	res, err := AttributeBatch(g, []Clip{c}, o)
	if err != nil {
		return Attribution{}, err
	}
	return res[0], nil
}

// AttributeBatch explains every clip of a batch, spreading the work over
// o.Workers goroutines: across clips when there are enough of them, else
// across the frames, patches or row blocks of each layer. Results are the
// same whatever the number of workers. Every clip is validated before any
// work starts.
func AttributeBatch(g Geometry, clips []Clip, o Options) ([]Attribution, error) {
	return attributeBatch(nil, g, clips, o)
}

// ResultLen is the number of values the results of n clips of geometry g
// take: per clip the volume and the spatial maps (F·h·w each) and the
// temporal profile (F).
func ResultLen(g Geometry, n int) int {
	return n * (2*g.Frames*g.Height*g.Width + g.Frames)
}

// AttributeBatchTo is AttributeBatch with the results in dst, which must
// hold ResultLen(g, len(clips)) values: clip b's volume, spatial maps and
// temporal profile are views of dst from b·ResultLen(g, 1) on. A caller that
// copies the results out (the C ABI) reuses one buffer instead of having
// fresh memory allocated, and often faulted in, for every call.
func AttributeBatchTo(dst []float32, g Geometry, clips []Clip, o Options) ([]Attribution, error) {
	if dst == nil {
		dst = []float32{} // no buffer is a buffer too short, not a request for new memory
	}
	return attributeBatch(dst, g, clips, o)
}

// attributeBatch is AttributeBatch with the results in dst, or in new
// memory when dst is nil.
func attributeBatch(dst []float32, g Geometry, clips []Clip, o Options) ([]Attribution, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if want := ResultLen(g, len(clips)); dst != nil && len(dst) < want {
		return nil, fmt.Errorf("staa: AttributeBatchTo: %d values for the results of %d clips, want %d", len(dst), len(clips), want)
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if len(clips) == 0 {
		return nil, errors.New("staa: empty batch: no clips to explain")
	}
	if len(clips) == 1 { // the common call: no per-clip slices or closures
		p, err := newPlan(g, &clips[0], o)
		if err != nil {
			return nil, err
		}
		w := o.workers()
		if p.small() {
			w = 1
		}
		a, err := p.run(w, dst)
		if err != nil {
			return nil, err
		}
		return []Attribution{a}, nil
	}
	plans := make([]plan, len(clips))
	for b := range clips {
		p, err := newPlan(g, &clips[b], o)
		if err != nil {
			if len(clips) > 1 {
				return nil, fmt.Errorf("clip %d: %w", b, err)
			}
			return nil, err
		}
		plans[b] = p
	}
	res := make([]Attribution, len(clips))
	errs := make([]error, len(clips))
	w := o.workers()
	per := ResultLen(g, 1)
	out := func(b int) []float32 {
		if dst == nil {
			return nil
		}
		return dst[b*per : (b+1)*per : (b+1)*per]
	}
	if len(clips) >= w || plans[0].small() {
		parallelFor(len(clips), w, func(_, b int) { res[b], errs[b] = plans[b].run(1, out(b)) })
	} else {
		for b := range clips {
			res[b], errs[b] = plans[b].run(w, out(b))
		}
	}
	for b, err := range errs {
		if err != nil {
			if len(clips) > 1 {
				return nil, fmt.Errorf("clip %d: %w", b, err)
			}
			return nil, err
		}
	}
	return res, nil
}

// plan is one validated clip with its geometry and options.
type plan struct {
	g      Geometry
	o      Options
	c      *Clip
	layers int // L
	heads  int // H of the spatial or joint attention
	theads int // H of the temporal attention, 0 when absent
}

// newPlan checks c's tensors against g and o. The plan refers to c, which
// must not change while the plan is used.
func newPlan(g Geometry, c *Clip, o Options) (plan, error) {
	p := plan{g: g, o: o, c: c}
	T, N, C := g.Groups(), g.Patches(), g.C()
	switch g.Layout {
	case Joint:
		if !c.Spatial.Empty() || !c.Temporal.Empty() {
			return p, errors.New("staa: layout joint takes joint attention, not spatial/temporal (did you mean layout divided?)")
		}
		L, H, err := leadingDims("joint", c.Joint, g, 1)
		if err != nil {
			return p, err
		}
		S := g.Tokens()
		if err := c.Joint.checkShape("joint attention", []int{L, H, S, S}); err != nil {
			return p, g.shapeError(err)
		}
		p.layers, p.heads = L, H
		if o.Method == Grad {
			if c.JointGrad.Empty() {
				return p, errors.New("staa: method grad needs the gradients of the joint attention (joint_grad)")
			}
			if err := c.JointGrad.checkShape("joint_grad", c.Joint.Shape); err != nil {
				return p, err
			}
		}
	case Divided:
		if !c.Joint.Empty() {
			return p, errors.New("staa: layout divided takes spatial (and temporal) attention, not joint (did you mean layout joint?)")
		}
		L, H, err := leadingDims("spatial", c.Spatial, g, 2)
		if err != nil {
			return p, err
		}
		if err := c.Spatial.checkShape("spatial attention", []int{L, T, H, C + N, C + N}); err != nil {
			return p, g.shapeError(err)
		}
		p.layers, p.heads = L, H
		if !c.Temporal.Empty() {
			Lt, Ht, err := leadingDims("temporal", c.Temporal, g, 2)
			if err != nil {
				return p, err
			}
			if Lt != L {
				return p, layersError(Lt, L)
			}
			if err := c.Temporal.checkShape("temporal attention", []int{L, N, Ht, T, T}); err != nil {
				return p, g.temporalShapeError(err)
			}
			p.theads = Ht
		}
		if o.Method == Grad {
			if c.SpatialGrad.Empty() {
				return p, errors.New("staa: method grad needs the gradients of the spatial attention (spatial_grad)")
			}
			if err := c.SpatialGrad.checkShape("spatial_grad", c.Spatial.Shape); err != nil {
				return p, err
			}
			if p.theads > 0 {
				if c.TemporalGrad.Empty() {
					return p, errors.New("staa: method grad needs the gradients of the temporal attention (temporal_grad)")
				}
				if err := c.TemporalGrad.checkShape("temporal_grad", c.Temporal.Shape); err != nil {
					return p, err
				}
			}
		}
	}
	return p, nil
}

// The errors of newPlan, built apart so that its checks stay short.

// shapeError adds g to a shape error of the spatial or joint attention.
func (g Geometry) shapeError(err error) error {
	if g.Layout == Joint {
		return fmt.Errorf("%w for layout joint with frames %d, grid [%d, %d], cls %t, tubelet %d (S = %d)", err, g.Frames, g.Height, g.Width, g.CLS, g.tubelet(), g.Tokens())
	}
	return fmt.Errorf("%w for layout divided with frames %d, grid [%d, %d], cls %t, tubelet %d", err, g.Frames, g.Height, g.Width, g.CLS, g.tubelet())
}

// temporalShapeError adds g to a shape error of the temporal attention.
func (g Geometry) temporalShapeError(err error) error {
	return fmt.Errorf("%w for grid [%d, %d] and %d token groups", err, g.Height, g.Width, g.Groups())
}

func layersError(temporal, spatial int) error {
	return fmt.Errorf("staa: temporal attention has %d layers but spatial attention has %d", temporal, spatial)
}

// leadingDims returns (L, H) of t, whose heads axis is at index headsAxis.
func leadingDims(what string, t Tensor, g Geometry, headsAxis int) (int, int, error) {
	if t.Empty() {
		return 0, 0, fmt.Errorf("staa: layout %s needs the %s attention", g.Layout, what)
	}
	want := 4
	if g.Layout == Divided {
		want = 5
	}
	if len(t.Shape) != want {
		return 0, 0, fmt.Errorf("staa: %s attention has %d dimensions %v, want %d", what, len(t.Shape), t.Shape, want)
	}
	L, H := t.Shape[0], t.Shape[headsAxis]
	if L <= 0 || H <= 0 {
		return 0, 0, fmt.Errorf("staa: %s attention has shape %v: no layers or no heads", what, t.Shape)
	}
	return L, H, nil
}

// small reports whether a clip needs so few attention values that splitting
// it across goroutines costs more than it saves (waking a worker thread
// costs tens of microseconds, more when the caller is a C thread).
func (p *plan) small() bool {
	return p.reads() < 1<<18
}

// reads returns about how many attention values the method reads: all of
// them, but for Last only the last layer's, and of a CLS layout only the
// CLS rows (the other rows have weight 0 and are skipped).
func (p *plan) reads() int {
	n := p.c.Spatial.Len() + p.c.Temporal.Len() + p.c.Joint.Len()
	if p.o.Method != Last {
		return n
	}
	T, N, C := p.g.Groups(), p.g.Patches(), p.g.C()
	if p.g.Layout == Joint {
		S := C + T*N
		if C > 0 {
			return p.heads * S
		}
		return p.heads * S * S
	}
	n = T * p.heads * (C + N) * (C + N)
	if C > 0 {
		n = T * p.heads * (C + N)
	}
	return n + N*p.theads*T*T
}

func (p *plan) mode() opMode {
	switch p.o.Method {
	case Last:
		return opPlain
	case Grad:
		return opGrad
	}
	return opRollout
}

// run propagates the vector and post-processes the volume, into out
// (ResultLen(g, 1) values) or, when out is nil, new memory.
func (p *plan) run(workers int, out []float32) (Attribution, error) {
	ws := getWorkspace()
	var v []float32
	var err error
	if p.g.Layout == Joint {
		v, err = p.propagateJoint(workers, ws)
	} else {
		v, err = p.propagateDivided(workers, ws)
	}
	// One allocation for the results: the volume, the spatial maps and the
	// temporal profile.
	g := p.g
	n := g.Frames * g.Height * g.Width
	var buf []float32
	var vol Volume
	if err == nil {
		if buf = out; buf == nil {
			buf = make([]float32, 2*n+g.Frames)
		}
		vol = Volume{Frames: g.Frames, Height: g.Height, Width: g.Width, Data: buf[:n:n]}
		p.fillVolume(vol, v)
	}
	putWorkspace(ws)
	if err != nil {
		return Attribution{}, err
	}
	spatial, temporal, err := postprocess(vol, p.o.Post, buf[n:])
	if err != nil {
		return Attribution{}, err
	}
	return Attribution{
		Volume:            vol,
		Spatial:           spatial,
		Temporal:          temporal,
		TemporalAttention: p.g.Layout == Divided && p.theads > 0 && p.o.Method != Last,
	}, nil
}

// fillVolume sets vol to the patch entries of v reshaped to [T, h, w], each
// token group repeated τ times along time.
func (p *plan) fillVolume(vol Volume, v []float32) {
	g := p.g
	N, tau := g.Patches(), g.tubelet()
	patches := v[g.C():]
	for f := 0; f < g.Frames; f++ {
		t := f / tau
		copy(vol.Frame(f), patches[t*N:(t+1)*N])
	}
}

// startVector sets v to e_CLS, or to the uniform vector over its tokens
// without CLS, and returns it.
func startVector(v []float32, cls bool) []float32 {
	if cls {
		clear(v)
		v[0] = 1
		return v
	}
	for i := range v {
		v[i] = 1 / float32(len(v))
	}
	return v
}

// checkFinite reports a NaN or Inf in v after a layer: an overflow, since
// the rows read were finite. A finite sum (one vectorised pass) means every
// value is finite; only a sum that is not is looked into value by value (it
// may be a sum of finite values too large for float32).
func checkFinite(v []float32, what string, layer int) error {
	if s := f32.Sum(v); s-s == 0 {
		return nil
	}
	for _, x := range v {
		if x-x != 0 {
			return fmt.Errorf("staa: the propagation overflowed in the %s attention of layer %d (values too large for float32)", what, layer)
		}
	}
	return nil
}
