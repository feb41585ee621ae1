package metrics

import (
	"errors"
	"fmt"
	"sync"

	"github.com/staa-dev/staa/staa"
)

// Options configure an Evaluator.
type Options struct {
	// BatchSize is the number of perturbed clips per Model.Predict call;
	// 0 means DefaultBatchSize.
	BatchSize int
	// Tubelet is τ, the frames of one patch tube (the model's tubelet
	// size: 1 for TimeSformer, 2 for VideoMAE and ViViT); 0 means 1.
	Tubelet int
	// BlurSigma is the σ of the Blur baseline in pixels; 0 means
	// DefaultBlurSigma.
	BlurSigma float64
}

// Evaluator scores attributions of one clip with the perturbation metrics.
// NewEvaluator runs the model once on the clip; the reference logits and the
// baseline clips (built on first use) are shared by every metric and every
// attribution scored. An Evaluator is safe for concurrent use if its Model
// is.
type Evaluator struct {
	model  Model
	x      Clip
	o      Options
	logits []float32

	mu    sync.Mutex
	bases map[Baseline]Clip
	tubes map[[2]int]*Tubes
	calls int
}

// NewEvaluator validates x and o and runs m on x.
func NewEvaluator(m Model, x Clip, o Options) (*Evaluator, error) {
	if m == nil {
		return nil, errors.New("metrics: no model")
	}
	if err := x.Validate(); err != nil {
		return nil, err
	}
	switch {
	case o.BatchSize < 0:
		return nil, fmt.Errorf("metrics: batch size must be >= 0, got %d", o.BatchSize)
	case o.Tubelet < 0 || (o.Tubelet > 0 && x.Frames%o.Tubelet != 0):
		return nil, fmt.Errorf("metrics: tubelet %d does not divide the clip's %d frames", o.Tubelet, x.Frames)
	case !(o.BlurSigma >= 0 && o.BlurSigma <= maxBlurSigma):
		return nil, fmt.Errorf("metrics: blur σ must be in [0, %g] pixels, got %v", float64(maxBlurSigma), o.BlurSigma)
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Tubelet == 0 {
		o.Tubelet = 1
	}
	if o.BlurSigma == 0 {
		o.BlurSigma = DefaultBlurSigma
	}
	e := &Evaluator{model: m, x: x, o: o, bases: map[Baseline]Clip{}, tubes: map[[2]int]*Tubes{}}
	rows, err := PredictBatched(m, x, 1, 1, func(_ int, dst Clip) { copy(dst.Data, x.Data) }, nil)
	if err != nil {
		return nil, err
	}
	e.logits = rows[0]
	e.calls = 1
	return e, nil
}

// Clip returns the clip being explained (shared, not copied).
func (e *Evaluator) Clip() Clip { return e.x }

// Options returns the options with their defaults filled in.
func (e *Evaluator) Options() Options { return e.o }

// Logits returns the model's logits for the unperturbed clip (a copy).
func (e *Evaluator) Logits() []float32 { return append([]float32(nil), e.logits...) }

// Predicted returns the class the model predicts for the clip.
func (e *Evaluator) Predicted() int { return argmax(e.logits) }

// Calls returns how many clips the model has been run on so far, the
// unperturbed clip included.
func (e *Evaluator) Calls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls
}

// Baseline returns the baseline clip of kind b for the clip (DefaultBaseline
// means Zeros), built on first use and cached.
func (e *Evaluator) Baseline(b Baseline) (Clip, error) {
	b, err := b.Resolve(Zeros)
	if err != nil {
		return Clip{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.bases[b]; ok {
		return c, nil
	}
	c, err := BaselineClip(e.x, b, e.o.BlurSigma)
	if err != nil {
		return Clip{}, err
	}
	e.bases[b] = c
	return c, nil
}

// order returns the tubes of v's grid and their order by decreasing v.
func (e *Evaluator) order(v staa.Volume) (*Tubes, []int, error) {
	e.mu.Lock()
	t, ok := e.tubes[[2]int{v.Height, v.Width}]
	e.mu.Unlock()
	if !ok {
		var err error
		if t, err = NewTubes(e.x, v.Height, v.Width, e.o.Tubelet); err != nil {
			return nil, nil, err
		}
		e.mu.Lock()
		e.tubes[[2]int{v.Height, v.Width}] = t
		e.mu.Unlock()
	}
	order, err := t.Order(v)
	if err != nil {
		return nil, nil, err
	}
	return t, order, nil
}

// keepTop evaluates, for each count kept[k], the clip whose first kept[k]
// tubes of order come from the clip and whose other tubes come from base,
// in batches, and returns the model's rows.
func (e *Evaluator) keepTop(t *Tubes, order []int, base Clip, kept []int) ([][]float32, error) {
	return e.composeTop(t, order, e.x, base, kept)
}

// composeTop evaluates, for each count n[k], the clip whose first n[k] tubes
// of order come from top and whose other tubes come from rest.
func (e *Evaluator) composeTop(t *Tubes, order []int, top, rest Clip, n []int) ([][]float32, error) {
	rank := make([]int, len(order))
	for r, u := range order {
		rank[u] = r
	}
	keep := make([]bool, len(order))
	rows, err := PredictBatched(e.model, e.x, len(n), e.o.BatchSize, func(k int, dst Clip) {
		for u, r := range rank {
			keep[u] = r < n[k]
		}
		t.Compose(dst, top, rest, keep)
	}, nil)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.calls += len(n)
	e.mu.Unlock()
	return rows, nil
}

// count returns round(p·n) (halves up), clamped to [0, n].
func count(p float64, n int) int {
	k := int(p*float64(n) + 0.5)
	return min(max(k, 0), n)
}
