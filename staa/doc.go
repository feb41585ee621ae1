// Package staa computes Spatio-Temporal Attention Attribution (STAA, Wang & Liu
// 2024) for video transformers from the attention probabilities of a single
// forward pass.
//
// A clip of F frames is split into T = F/τ token groups of N = h·w patches, plus
// c ∈ {0,1} CLS tokens. Every method is a row vector v over the S input tokens,
// propagated from the output token back to the input, last layer first:
//
//	v ← v·M_L, v ← v·M_{L−1}, …, v ← v·M_1
//
// starting from v = e_CLS (or the uniform vector 1/S when there is no CLS token).
// Only vector-matrix products are formed, never the S×S matrix products that a
// naive rollout builds: the work is O(L·S²) and each attention matrix is read
// once. The per-layer operator M_l depends on the method:
//
//	last:    v = e_CLS·Ā_L (one row of the last layer)
//	rollout: M_l = rownorm((1−α)·Ā_l + α·I)          (Abnar & Zuidema 2020)
//	grad:    M_l = I + Ā_l, Ā_l = mean_h relu(G ⊙ A)  (Chefer et al. 2021)
//
// where Ā_l fuses the H heads (mean, max or min). The patch part of the final v,
// reshaped to [T,h,w] and repeated τ times along time, is the attribution volume
// V[f,i,j] ≥ 0, from which come the spatial maps S[f] and the temporal profile
// P[f] = Σ_ij V[f,i,j] / Σ V.
//
// Two attention layouts are understood (see Geometry): Joint, one [H,S,S]
// matrix per layer (ViViT, VideoMAE), and Divided, TimeSformer's per-frame
// spatial [T,H,c+N,c+N] and per-patch temporal [N,H,T,T] attention.
//
// Post-processing (Postprocess) implements the paper's dynamic thresholding
// and attention focusing; stream helpers smooth and summarise long videos.
package staa
