package metrics

import (
	"errors"
	"fmt"
)

// DefaultBatchSize is the number of perturbed clips per Model.Predict call
// when Options.BatchSize is 0.
const DefaultBatchSize = 16

// PredictBatched evaluates n clips shaped like like, built on demand, in
// batches of at most batchSize clips (0: DefaultBatchSize): for each batch
// it calls fill(k, dst) for the batch's clips k, in increasing k, then
// m.Predict once on the batch. The batch's clips are views of one contiguous
// buffer of batchSize·like.Len() values, reused from batch to batch; dst's
// values are unspecified when fill is called, so fill must write all of
// them. progress, if not nil, is called after each batch with the number of
// clips done and n.
//
// The rows returned are copies of the model's, one per clip, checked: one
// row per clip, every row of the same positive length, finite values.
func PredictBatched(m Model, like Clip, n, batchSize int, fill func(k int, dst Clip), progress func(done, total int)) ([][]float32, error) {
	if m == nil {
		return nil, errors.New("metrics: no model")
	}
	if n <= 0 {
		return nil, fmt.Errorf("metrics: nothing to evaluate (%d clips)", n)
	}
	if batchSize < 0 {
		return nil, fmt.Errorf("metrics: batch size must be >= 0, got %d", batchSize)
	}
	if batchSize == 0 {
		batchSize = DefaultBatchSize
	}
	b := min(batchSize, n)
	size := like.Len()
	buf := make([]float32, b*size)
	clips := make([]Clip, b)
	for i := range clips {
		clips[i] = like
		// Two-index slices: each view's capacity runs to the end of the
		// buffer, which lets an adapter see that a batch is one contiguous
		// array and hand it to the runtime without copying.
		clips[i].Data = buf[i*size : (i+1)*size]
	}
	out := make([][]float32, 0, n)
	classes := -1
	for start := 0; start < n; start += b {
		cur := clips[:min(b, n-start)]
		for i := range cur {
			fill(start+i, cur[i])
		}
		rows, err := m.Predict(cur)
		if err != nil {
			return nil, fmt.Errorf("metrics: model failed on clips %d to %d of %d: %w", start, start+len(cur)-1, n, err)
		}
		if len(rows) != len(cur) {
			return nil, fmt.Errorf("metrics: model returned %d rows for a batch of %d clips", len(rows), len(cur))
		}
		for i, r := range rows {
			if classes < 0 {
				classes = len(r)
				if classes == 0 {
					return nil, errors.New("metrics: model returned an empty row of logits")
				}
			}
			if len(r) != classes {
				return nil, fmt.Errorf("metrics: model returned rows of %d and %d logits", classes, len(r))
			}
			for c, v := range r {
				if v-v != 0 {
					return nil, fmt.Errorf("metrics: model returned %v for class %d of clip %d", v, c, start+i)
				}
			}
			out = append(out, append([]float32(nil), r...))
		}
		if progress != nil {
			progress(start+len(cur), n)
		}
	}
	return out, nil
}
