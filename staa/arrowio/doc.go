// Package arrowio converts between Arrow record batches and the types of
// package staa: the attention of a batch of clips in, the attributions out.
// It is the pure-Go half of the C ABI (package capi imports and exports the
// batches through the Arrow C Data Interface and calls this package); it has
// no cgo.
//
// # Layout
//
// A batch holds one row per clip. Every tensor column is an Arrow
// `arrow.fixed_shape_tensor`: a FixedSizeList<float32 | float16>[prod(shape)]
// whose field metadata carries
//
//	ARROW:extension:name     = arrow.fixed_shape_tensor
//	ARROW:extension:metadata = {"shape":[...]}
//
// with the per-row shape (no batch axis). "permutation", when present, must be
// the identity; "dim_names" is accepted and ignored. arrow-go has no such
// extension type and none is registered here: exporting an extension array
// whose storage is a FixedSizeList is broken in arrow-go v18.8, and both the
// C Data importer (cdata) and the IPC reader leave the metadata of an
// unregistered extension on the field, where this package reads it. Writing
// does the same in reverse: a plain FixedSizeList field with the metadata set,
// which pyarrow and Arrow C++ see as their FixedShapeTensorType.
//
// Input columns (see docs/conventions.md): "spatial" [L, T, H, c+N, c+N] and
// optional "temporal" [L, N, H, T, T] for the divided layout, "joint"
// [L, H, S, S] for the joint layout, and the "*_grad" twins with the shapes of
// their attention. Unknown columns, nulls, other element types and shapes
// that do not fit the geometry are errors. Reading is zero-copy: the
// staa.Tensor of each row is a slice over the Arrow buffer, so the record must
// outlive the clips. The readers work on plain column descriptions
// (InputColumn): RecordColumns makes them of a record, package capi of a C
// batch, in place, without an arrow-go record.
//
// Output columns: "spatial" [F, h, w], "temporal" [F] and, on request,
// "volume" [F, h, w], all float32; schema metadata "staa.temporal_attention"
// ("true"/"false") plus whatever the caller adds (staa.method, staa.version).
package arrowio
