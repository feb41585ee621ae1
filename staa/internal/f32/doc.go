// Package f32 holds the float32 kernels of the engine's inner loops: reads
// (Sum, SumStreams), the one-pass fusion of H head rows (SumRows, MaxRows,
// MinRows, SumPosProdRows: dst[j] from the H values src[k·stride + j],
// loaded 8 lanes at a time, dst stored once, Σdst returned), y += a·x (Axpy),
// the same for a block of short rows (SumEach, AxpyRows, and RolloutWeights
// between them, the rollout's weights 8 rows at a time), the same again for
// groups of small matrices in one call (SumRowsEach, AxpyRowsEach,
// RolloutGroups: a whole rollout step of a small model), the exact widening
// of float16 (FromHalfRows), layout helpers (Transpose, HasZero, Prefetch,
// PrefetchRows) and the post-processing's short maps (PowScaled, Sum64,
// DivScaled, DivBy, Max, NonNegFinite). On amd64 CPUs with AVX2
// (and F16C) they run as hand-written assembly, 8 lanes and up to four
// registers per step; elsewhere, or with the purego build tag, as plain Go.
//
// Both paths give bit-identical results: the assembly adds in exactly the
// order the Go code spells out (no fused multiply-add, no dependence on the
// alignment of the data), so a result does not depend on the CPU. Sums use
// the blocked order of Sum (four 8-lane accumulators, then a fixed pairwise
// reduction), not the left-to-right order of a plain loop; they differ from
// it in the last bits only.
package f32
