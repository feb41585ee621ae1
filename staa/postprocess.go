package staa

import "errors"

// Postprocess applies p to v (see Post for the steps) and returns the spatial
// maps and the temporal profile P[f] = mass of frame f / total mass after
// thresholding (uniform when the total is 0). v is not modified.
func Postprocess(v Volume, p Post) (spatial Volume, temporal []float32, err error) {
	return Volume{}, nil, errors.New("staa: not implemented")
}
