// Package baselines holds the perturbation explainers the paper compares
// STAA with, over the same model interface as the metrics (metrics.Model)
// and evaluated in batches, so that their cost compares fairly with STAA's
// single forward pass:
//
//   - TemporalSHAP: exact Shapley values of S frame segments (2^S model
//     calls), a temporal explanation;
//   - SpatialLIME: LIME over the patches of the model's grid (random binary
//     masks, kernel weights, weighted ridge regression), one spatial map per
//     clip.
//
// Both return a staa.Volume (≥ 0, the positive part of the explanation) so
// that the metrics apply to them as to STAA's, along with the signed values
// themselves. Both take a target class (or metrics.PredictedClass, resolved
// from the unperturbed clip, which both evaluate anyway), a baseline for the
// removed parts (metrics.Baseline) and a progress callback.
package baselines
