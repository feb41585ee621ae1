// Package metrics measures how good an attribution is: by asking the model
// (faithfulness, monotonicity, deletion and insertion curves), by looking at
// the attribution alone (sparseness, complexity), and by comparing it with a
// ground-truth mask of where and when the evidence is (pointing game, energy
// inside the mask, temporal average precision, signal-to-noise ratio). These
// are the metrics of DESIGN.md section 2.
//
// # The model
//
// Metrics that need model calls go through Model: a batch of Clip in, one row
// of class logits per clip out. A Clip is one model input in the model's own
// pixel space — after resizing and normalisation — stored planar as
// [F, C, H, W] float32. Perturbing a clip in that space is a copy of runs of
// pixels from the clip or from a baseline clip, with no resizing or
// normalisation per perturbed clip, and a batch of perturbed clips is one
// contiguous buffer that an ONNX session can read without copying (see the
// ortmodel sub-package, which adapts a *runtime.Session). Test doubles
// implement Model directly (see the metricstest sub-package).
//
// Perturbed clips are always evaluated in batches of Options.BatchSize clips
// (PredictBatched), never one forward pass at a time. The model's first row
// for a clip is the reference: NewEvaluator runs the model once on the clip
// and every perturbation metric reuses that prediction and the baseline
// clips, so that several attributions of one clip are scored for the cost of
// their perturbed clips only.
//
// # Patch tubes
//
// An attribution volume V[f, i, j] (staa.Volume) lives on the model's patch
// grid h×w. The perturbation metrics work on patch tubes: the cell (i, j) of
// τ consecutive frames (τ = Options.Tubelet, the model's tubelet size; 1 for
// TimeSformer), upsampled to pixels by nearest neighbour — pixel (y, x) of an
// H×W frame belongs to cell (⌊y·h/H⌋, ⌊x·w/W⌋), which for H = h·p is the p×p
// block of the patch exactly. A tube's attribution is the sum of V over its
// cells; tubes are ranked by decreasing attribution, ties in index order
// (t-major, then row-major). Rank-based metrics (faithfulness, monotonicity,
// deletion, insertion, pointing game, temporal average precision) accept any
// finite V, signed or not; the metrics of the attribution's mass (sparseness,
// complexity, energy, SNR) need V ≥ 0, as staa.Volume documents, and reject a
// negative value.
//
// # Baselines
//
// Removed tubes are replaced by a baseline clip (Baseline): zeros (in the
// model's normalised pixel space, so for the usual mean/std normalisation the
// dataset's mean colour), the mean frame of the clip (every frame replaced by
// the per-pixel mean over frames), or the clip blurred frame by frame with a
// Gaussian of σ = Options.BlurSigma pixels.
//
// # Undefined values
//
// A metric that is undefined for its input (a volume that sums to zero for
// energy or sparseness, no visible frame for the pointing game, a constant
// curve for Kendall's τ-b) returns NaN rather than an error, so that a table
// of many clips can skip it; SNR is +Inf when the volume is zero outside the
// mask and positive inside. Malformed input (sizes that do not match, NaN or
// ±Inf values) is an error.
package metrics
