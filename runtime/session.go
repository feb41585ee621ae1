package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/staa-dev/staa/staa"
)

// Options configure Open.
type Options struct {
	// LibraryPath is the ONNX Runtime shared library (≥ 1.24). Empty: see
	// LoadLibrary.
	LibraryPath string
	// IntraOpThreads and InterOpThreads size ONNX Runtime's thread pools; 0
	// keeps ORT's default (one intra-op thread per physical core).
	IntraOpThreads, InterOpThreads int
	// Config holds extra ORT session configuration entries, for example
	// {"session.intra_op.allow_spinning": "0"} to stop idle pool threads
	// from spinning on a shared machine.
	Config map[string]string
}

// Model is what the metrics and baselines need of a classifier: class
// probabilities for a batch of clips. A Session implements it.
type Model interface {
	Predict(clips []Video) ([][]float32, error)
}

// Session is an ONNX video transformer with its attention outputs, ready to
// classify and explain clips. It is safe for concurrent use: every call has
// its own input and output tensors, and ONNX Runtime's Run is thread-safe.
type Session struct {
	info   ModelInfo
	pre    *preprocessor
	names  []string  // ORT output names, in order: logits, then the attention
	shapes [][]int64 // per-clip shape of each output

	opts Options

	mu     sync.RWMutex // Close takes it for writing, calls for reading
	closed bool
	sess   *ort.DynamicAdvancedSession

	predictOnce sync.Once
	predict     *ort.DynamicAdvancedSession // logits only, built on first Predict
	predictErr  error

	// attributor is the last staa.Attributor that Explain made: the clips of
	// a session all have the same shapes, and the options rarely change.
	attributor atomic.Pointer[staa.Attributor]
}

// Open loads the ONNX model at modelPath, reads its staa.* metadata_props and
// checks its inputs and outputs against them, then loads ONNX Runtime (once
// per process, see LoadLibrary) and builds a session. A model without the
// metadata or without attention outputs is refused with a message naming
// what is missing.
func Open(modelPath string, opts Options) (*Session, error) {
	if opts.IntraOpThreads < 0 || opts.InterOpThreads < 0 {
		return nil, fmt.Errorf("staa/runtime: thread counts must be >= 0, got intra %d, inter %d", opts.IntraOpThreads, opts.InterOpThreads)
	}
	m, err := readONNX(modelPath)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("staa/runtime: model file not found: %s", modelPath)
		}
		return nil, fmt.Errorf("staa/runtime: cannot read model %s: %w", modelPath, err)
	}
	info, shapes, err := parseModelInfo(modelPath, m)
	if err != nil {
		return nil, err
	}
	if _, err := LoadLibrary(opts.LibraryPath); err != nil {
		return nil, err
	}
	s := &Session{info: info, pre: newPreprocessor(info), opts: opts}
	s.names = []string{info.Outputs.Logits}
	for _, n := range []string{info.Outputs.Spatial, info.Outputs.Temporal, info.Outputs.Joint} {
		if n != "" {
			s.names = append(s.names, n)
		}
	}
	for _, n := range s.names {
		s.shapes = append(s.shapes, shapes[n])
	}
	if s.sess, err = s.newORTSession(s.names); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Session) newORTSession(outputs []string) (*ort.DynamicAdvancedSession, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("staa/runtime: session options: %w", err)
	}
	defer so.Destroy()
	if n := s.opts.IntraOpThreads; n > 0 {
		if err := so.SetIntraOpNumThreads(n); err != nil {
			return nil, fmt.Errorf("staa/runtime: intra-op threads: %w", err)
		}
	}
	if n := s.opts.InterOpThreads; n > 0 {
		if err := so.SetInterOpNumThreads(n); err != nil {
			return nil, fmt.Errorf("staa/runtime: inter-op threads: %w", err)
		}
	}
	for k, v := range s.opts.Config {
		if err := so.AddSessionConfigEntry(k, v); err != nil {
			return nil, fmt.Errorf("staa/runtime: session config %s=%s: %w", k, v, err)
		}
	}
	sess, err := ort.NewDynamicAdvancedSession(s.info.Path, []string{s.info.Input}, outputs, so)
	if err != nil {
		return nil, fmt.Errorf("staa/runtime: ONNX Runtime cannot load model %s: %w", s.info.Path, err)
	}
	return sess, nil
}

// Info describes the model.
func (s *Session) Info() ModelInfo { return s.info }

// Geometry is the model's staa geometry (one clip).
func (s *Session) Geometry() staa.Geometry { return s.info.Geometry }

// Close releases the ONNX Runtime sessions, waiting for running calls.
// Calls after Close fail; Close is idempotent.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if s.sess != nil {
		errs = append(errs, s.sess.Destroy())
	}
	if s.predict != nil {
		errs = append(errs, s.predict.Destroy())
	}
	return errors.Join(errs...)
}

var errClosed = errors.New("staa/runtime: session is closed")

// Timing splits the time of a call.
type Timing struct {
	Preprocess, Forward, Attribution time.Duration
}

// Output is what one forward pass returns for a batch, in Go memory that ONNX
// Runtime wrote directly (the tensors are preallocated, so the attention is
// never copied on the Go side).
type Output struct {
	Batch    int
	Classes  []string
	Geometry staa.Geometry
	// Logits is [Batch, len(Classes)].
	Logits []float32
	// The attention of the whole batch, batch first:
	// Spatial [B, L, T, H, c+N, c+N] and Temporal [B, L, N, H, T, T] (empty
	// when the model has none) for the Divided layout, Joint [B, L, H, S, S]
	// for the Joint layout.
	Spatial, Temporal, Joint staa.Tensor
	Timing                   Timing
}

// ClipLogits returns clip b's logits (a view).
func (o *Output) ClipLogits(b int) []float32 {
	c := len(o.Classes)
	return o.Logits[b*c : (b+1)*c : (b+1)*c]
}

// Clip returns clip b's attention as the engine takes it: views of the
// batch's buffers, no copy.
func (o *Output) Clip(b int) staa.Clip {
	return staa.Clip{Spatial: slab(o.Spatial, b), Temporal: slab(o.Temporal, b), Joint: slab(o.Joint, b)}
}

// slab returns entry b of a batch-first tensor, sharing its data.
func slab(t staa.Tensor, b int) staa.Tensor {
	if t.Empty() {
		return staa.Tensor{}
	}
	n := len(t.F32) / t.Shape[0]
	return staa.Tensor{Shape: t.Shape[1:], F32: t.F32[b*n : (b+1)*n : (b+1)*n]}
}

// Attribute runs the staa engine on every clip of the batch, reading the
// attention in place.
func (o *Output) Attribute(opts staa.Options) ([]staa.Attribution, error) {
	if opts.Method == staa.Grad {
		return nil, errors.New("staa/runtime: method grad needs the gradients of the attention, which an ONNX session does not compute: use rollout or last here, or staa.explain(method=\"grad\") on the PyTorch model")
	}
	var one [1]staa.Clip // the common batch of one without an allocation
	clips := one[:]
	if o.Batch != 1 {
		clips = make([]staa.Clip, o.Batch)
	}
	for b := range clips {
		clips[b] = o.Clip(b)
	}
	return staa.AttributeBatch(o.Geometry, clips, opts)
}

// Label is one class with its score.
type Label struct {
	Index       int
	Name        string
	Logit       float32
	Probability float32 // softmax over the logits
}

// Explanation is the prediction and attribution of one clip.
type Explanation struct {
	// Logits are the clip's logits (a view of the batch's), Probabilities
	// their softmax.
	Logits, Probabilities []float32
	// Ranking lists every class, most probable first (ties by index).
	Ranking     []Label
	Attribution staa.Attribution
}

// TopK returns the k most probable classes (all when k ≥ their number).
func (e Explanation) TopK(k int) []Label { return e.Ranking[:min(max(k, 0), len(e.Ranking))] }

// Prediction returns the most probable class.
func (e Explanation) Prediction() Label { return e.Ranking[0] }

// Result is what Explain returns for a batch.
type Result struct {
	Clips []Explanation
	// Output holds the raw outputs the explanations were computed from.
	Output *Output
	Timing Timing
}

// Preprocess returns the model input for clips: resized, normalised, in the
// model's layout, len(clips)·F·3·H·W values.
func (s *Session) Preprocess(clips []Video) ([]float32, error) {
	if err := s.pre.check(clips); err != nil {
		return nil, err
	}
	x := make([]float32, len(clips)*s.pre.clipLen())
	return x, s.pre.fill(x, clips)
}

// Run preprocesses clips (each of the model's F frames, any frame size) and
// runs the model on them as one batch.
func (s *Session) Run(clips []Video) (*Output, error) {
	t0 := time.Now()
	x, err := s.Preprocess(clips)
	if err != nil {
		return nil, err
	}
	pre := time.Since(t0)
	out, err := s.RunPixels(x, len(clips))
	if err != nil {
		return nil, err
	}
	out.Timing.Preprocess = pre
	return out, nil
}

// RunPixels runs the model on input already preprocessed: batch clips of
// F·3·H·W float32 values each, in the model's layout (see Preprocess). The
// input is read in place.
func (s *Session) RunPixels(pixels []float32, batch int) (*Output, error) {
	if batch <= 0 {
		return nil, fmt.Errorf("staa/runtime: batch must be positive, got %d", batch)
	}
	if want := batch * s.pre.clipLen(); len(pixels) != want {
		return nil, fmt.Errorf("staa/runtime: input of %d values for a batch of %d; the model takes %d per clip (frames %d × 3 × %d × %d)",
			len(pixels), batch, s.pre.clipLen(), s.pre.frames, s.pre.height, s.pre.width)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	t0 := time.Now()
	inShape := ort.NewShape(int64(batch), int64(s.pre.frames), 3, int64(s.pre.height), int64(s.pre.width))
	if s.pre.channelsFirst {
		inShape[1], inShape[2] = 3, int64(s.pre.frames)
	}
	in, err := ort.NewTensor(inShape, pixels)
	if err != nil {
		return nil, fmt.Errorf("staa/runtime: input tensor: %w", err)
	}
	defer in.Destroy()
	outs := make([]*ort.Tensor[float32], len(s.names))
	vals := make([]ort.Value, len(s.names))
	defer func() {
		for _, t := range outs {
			if t != nil {
				t.Destroy() // releases the OrtValue; the Go slice stays valid
			}
		}
	}()
	for i, sh := range s.shapes {
		full := append(ort.Shape{int64(batch)}, sh...)
		if outs[i], err = ort.NewEmptyTensor[float32](full); err != nil {
			return nil, fmt.Errorf("staa/runtime: output %s of shape %v: %w", s.names[i], full, err)
		}
		vals[i] = outs[i]
	}
	if err := s.sess.Run([]ort.Value{in}, vals); err != nil {
		return nil, fmt.Errorf("staa/runtime: ONNX Runtime failed on a batch of %d: %w", batch, err)
	}
	o := &Output{Batch: batch, Classes: s.info.Classes, Geometry: s.info.Geometry}
	o.Logits = outs[0].GetData()
	for i := 1; i < len(outs); i++ {
		t := staa.Tensor{Shape: intShape(outs[i].GetShape()), F32: outs[i].GetData()}
		switch s.names[i] {
		case s.info.Outputs.Spatial:
			o.Spatial = t
		case s.info.Outputs.Temporal:
			o.Temporal = t
		case s.info.Outputs.Joint:
			o.Joint = t
		}
	}
	o.Timing.Forward = time.Since(t0)
	return o, nil
}

func intShape(s ort.Shape) []int {
	out := make([]int, len(s))
	for i, d := range s {
		out[i] = int(d)
	}
	return out
}

// Explain classifies clips and explains each: one forward pass for the batch,
// then the staa engine on ONNX Runtime's attention buffers with options o.
func (s *Session) Explain(clips []Video, o staa.Options) (*Result, error) {
	out, err := s.Run(clips)
	if err != nil {
		return nil, err
	}
	return s.explain(out, o)
}

// ExplainPixels is Explain for input already preprocessed (see RunPixels).
func (s *Session) ExplainPixels(pixels []float32, batch int, o staa.Options) (*Result, error) {
	out, err := s.RunPixels(pixels, batch)
	if err != nil {
		return nil, err
	}
	return s.explain(out, o)
}

func (s *Session) explain(out *Output, o staa.Options) (*Result, error) {
	t0 := time.Now()
	var one [1]staa.Attribution // a batch of one without an allocation
	attr := one[:]
	var err error
	if out.Batch == 1 && o.Method != staa.Grad {
		one[0], err = s.attributeOne(out, o)
	} else {
		attr, err = out.Attribute(o)
	}
	if err != nil {
		return nil, err
	}
	out.Timing.Attribution = time.Since(t0)
	res := &Result{Clips: make([]Explanation, out.Batch), Output: out, Timing: out.Timing}
	for b := range res.Clips {
		logits := out.ClipLogits(b)
		probs := Softmax(logits)
		res.Clips[b] = Explanation{Logits: logits, Probabilities: probs, Ranking: rank(logits, probs, out.Classes), Attribution: attr[b]}
	}
	return res, nil
}

// attributeOne is out.Attribute for a batch of one (a stream of windows, the
// usual call) through the session's staa.Attributor: the shapes and options
// are checked once per session and options rather than on every call.
func (s *Session) attributeOne(out *Output, o staa.Options) (staa.Attribution, error) {
	c := out.Clip(0)
	a := s.attributor.Load()
	if a == nil || a.Options() != o {
		var err error
		if a, err = staa.NewAttributor(out.Geometry, o, c); err != nil {
			return staa.Attribution{}, err
		}
		s.attributor.Store(a)
	}
	return a.Attribute(c)
}

// Predict returns the class probabilities of each clip. It runs a second ONNX
// Runtime session over the same file that computes the logits alone (built
// on the first call), so that the attention outputs — hundreds of MB per clip
// for a base-size model — are neither computed nor allocated: the model
// calls of the metrics and baselines stay as cheap as the plain classifier.
// The price is a second copy of the weights in memory once Predict is used.
func (s *Session) Predict(clips []Video) ([][]float32, error) {
	x, err := s.Preprocess(clips)
	if err != nil {
		return nil, err
	}
	logits, err := s.PredictPixels(x, len(clips))
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(clips))
	c := len(s.info.Classes)
	for b := range out {
		out[b] = Softmax(logits[b*c : (b+1)*c])
	}
	return out, nil
}

// PredictPixels returns the logits [batch, classes] for preprocessed input,
// with the logits-only session of Predict.
func (s *Session) PredictPixels(pixels []float32, batch int) ([]float32, error) {
	if batch <= 0 {
		return nil, fmt.Errorf("staa/runtime: batch must be positive, got %d", batch)
	}
	if want := batch * s.pre.clipLen(); len(pixels) != want {
		return nil, fmt.Errorf("staa/runtime: input of %d values for a batch of %d; the model takes %d per clip", len(pixels), batch, s.pre.clipLen())
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	s.predictOnce.Do(func() { s.predict, s.predictErr = s.newORTSession([]string{s.info.Outputs.Logits}) })
	if s.predictErr != nil {
		return nil, s.predictErr
	}
	inShape := ort.NewShape(int64(batch), int64(s.pre.frames), 3, int64(s.pre.height), int64(s.pre.width))
	if s.pre.channelsFirst {
		inShape[1], inShape[2] = 3, int64(s.pre.frames)
	}
	in, err := ort.NewTensor(inShape, pixels)
	if err != nil {
		return nil, fmt.Errorf("staa/runtime: input tensor: %w", err)
	}
	defer in.Destroy()
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(batch), int64(len(s.info.Classes))))
	if err != nil {
		return nil, fmt.Errorf("staa/runtime: logits tensor: %w", err)
	}
	defer out.Destroy()
	if err := s.predict.Run([]ort.Value{in}, []ort.Value{out}); err != nil {
		return nil, fmt.Errorf("staa/runtime: ONNX Runtime failed on a batch of %d: %w", batch, err)
	}
	return out.GetData(), nil
}

// Softmax returns the softmax of logits, computed in float64.
func Softmax(logits []float32) []float32 {
	if len(logits) == 0 {
		return nil
	}
	m := math.Inf(-1)
	for _, z := range logits {
		m = math.Max(m, float64(z))
	}
	sum := 0.0
	e := make([]float64, len(logits))
	for i, z := range logits {
		e[i] = math.Exp(float64(z) - m)
		sum += e[i]
	}
	p := make([]float32, len(logits))
	for i := range p {
		p[i] = float32(e[i] / sum)
	}
	return p
}

func rank(logits, probs []float32, classes []string) []Label {
	r := make([]Label, len(logits))
	for i := range r {
		r[i] = Label{Index: i, Logit: logits[i], Probability: probs[i]}
		if i < len(classes) {
			r[i].Name = classes[i]
		}
	}
	sort.SliceStable(r, func(a, b int) bool { return r[a].Logit > r[b].Logit })
	return r
}

// TopK returns the k most probable classes of clip b of an Output.
func (o *Output) TopK(b, k int) []Label {
	logits := o.ClipLogits(b)
	return rank(logits, Softmax(logits), o.Classes)[:min(max(k, 0), len(logits))]
}
