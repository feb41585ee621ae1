package staa

// Clip holds the attention of one clip, all layers stacked, layer 0 first.
//
// For the Divided layout, Spatial is [L, T, H, c+N, c+N] and Temporal, which
// may be empty, is [L, N, H, T, T]. For the Joint layout, Joint is
// [L, H, S, S]. The *Grad tensors hold ∂y/∂A with the same shapes and are
// needed by the Grad method only.
type Clip struct {
	Spatial, Temporal, Joint             Tensor
	SpatialGrad, TemporalGrad, JointGrad Tensor
}
