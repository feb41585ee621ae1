package staa

import "fmt"

// An Attributor explains a stream of clips that share one geometry, one set
// of options and the shapes of their attention — the windows of a video,
// the forward passes of one model — with the checks of AttributeBatch done
// once, by NewAttributor. A call only compares its clip's tensors with the
// shapes of the first clip, then runs the pass of Attribute, with the same
// results.
//
// Right after a model's forward pass none of the engine's code is in the
// caches, and the checks of a call cost a sixth of a small model's
// attribution (the shipped model: 6–7 µs of 40). An Attributor is safe for
// concurrent use.
type Attributor struct {
	g       Geometry
	o       Options
	workers int // the goroutines a call uses
	layers  int // L
	heads   int // H of the spatial or joint attention
	theads  int // H of the temporal attention, 0 when absent
	// what a clip must hold, in the order of clipTensor
	want [len(tensorNames)]tensorWant
}

// tensorWant is what an Attributor asks of one tensor of a clip.
type tensorWant struct {
	check bool  // whether the tensor is checked at all (grads are not read by rollout)
	shape []int // its shape; nil: it must be empty
	n     int   // its values
}

// fits reports whether t has the shape and values wanted (checkShape says
// what is wrong when it has not).
func (w *tensorWant) fits(t *Tensor) bool {
	if len(t.Shape) != len(w.shape) || t.Len() != w.n || t.F32 != nil && t.F16 != nil {
		return false
	}
	for i, d := range w.shape {
		if t.Shape[i] != d {
			return false
		}
	}
	return true
}

// tensorNames names a clip's tensors in the order of clipTensor.
var tensorNames = [...]string{"spatial attention", "temporal attention", "joint attention", "spatial_grad", "temporal_grad", "joint_grad"}

// clipTensor returns c's tensor i, in the order of tensorNames.
func clipTensor(c *Clip, i int) *Tensor {
	switch i {
	case 0:
		return &c.Spatial
	case 1:
		return &c.Temporal
	case 2:
		return &c.Joint
	case 3:
		return &c.SpatialGrad
	case 4:
		return &c.TemporalGrad
	}
	return &c.JointGrad
}

// NewAttributor checks g, o and the shapes of c as AttributeBatch does, and
// returns an Attributor for clips of c's shapes. c's values are not read.
func NewAttributor(g Geometry, o Options, c Clip) (*Attributor, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	p, err := newPlan(g, &c, o)
	if err != nil {
		return nil, err
	}
	a := &Attributor{g: g, o: o, workers: o.workers(), layers: p.layers, heads: p.heads, theads: p.theads}
	if p.small() {
		a.workers = 1
	}
	grad := o.Method == Grad
	var reads [len(tensorNames)]bool // the tensors the pass reads
	if g.Layout == Joint {
		reads[2], reads[5] = true, grad
		a.want[0].check, a.want[1].check = true, true // must stay empty
	} else {
		reads[0], reads[1] = true, true // temporal: present or absent as in c
		reads[3], reads[4] = grad, grad && p.theads > 0
		a.want[2].check = true
	}
	for i, r := range reads {
		if r {
			t := clipTensor(&c, i)
			a.want[i] = tensorWant{check: true, shape: append([]int(nil), t.Shape...), n: t.Len()}
		}
	}
	return a, nil
}

// Geometry returns the geometry the Attributor was made for.
func (a *Attributor) Geometry() Geometry { return a.g }

// Options returns the options the Attributor was made with.
func (a *Attributor) Options() Options { return a.o }

// Attribute explains c, whose tensors must have the shapes of the clip given
// to NewAttributor: Attribute(a.Geometry(), c, a.Options()).
func (a *Attributor) Attribute(c Clip) (Attribution, error) {
	if err := a.check(&c); err != nil {
		return Attribution{}, err
	}
	p := plan{g: a.g, o: a.o, c: &c, layers: a.layers, heads: a.heads, theads: a.theads}
	return p.run(a.workers, nil)
}

// check compares c's tensors with what the Attributor wants.
func (a *Attributor) check(c *Clip) error {
	for i := range a.want {
		w := &a.want[i]
		if !w.check {
			continue
		}
		t := clipTensor(c, i)
		if w.shape != nil && w.fits(t) {
			continue
		}
		if w.shape == nil {
			if !t.Empty() {
				return a.shapeError(fmt.Errorf("staa: the clip has %s, which the Attributor's first clip did not", tensorNames[i]))
			}
			continue
		}
		if t.Empty() {
			return a.shapeError(fmt.Errorf("staa: the clip has no %s", tensorNames[i]))
		}
		if err := t.checkShape(tensorNames[i], w.shape); err != nil {
			return a.shapeError(err)
		}
	}
	return nil
}

func (a *Attributor) shapeError(err error) error {
	return fmt.Errorf("%w (an Attributor takes clips of the shapes of its first clip; make another for this one)", err)
}
