package staa

import "errors"

// Attribute explains one clip: it propagates the row vector through every
// layer of c (see the package documentation), reshapes the patch part to the
// volume V[F, h, w] and post-processes it with o.Post.
func Attribute(g Geometry, c Clip, o Options) (Attribution, error) {
	return Attribution{}, errors.New("staa: not implemented")
}

// AttributeBatch explains every clip of a batch, spreading the work over
// o.Workers goroutines. The results equal those of Attribute clip by clip.
func AttributeBatch(g Geometry, clips []Clip, o Options) ([]Attribution, error) {
	return nil, errors.New("staa: not implemented")
}
