// Package synth generates a video classification benchmark whose evidence is
// known: every clip says where and when the object that decides its class is.
//
// A clip has F frames of H×W RGB pixels (8 frames of 64×64 by default). One
// target object, a saturated red disc, moves in one of four directions; the
// direction is the class:
//
//	0 right (+x), 1 left (−x), 2 down (+y), 3 up (−y)
//
// The target is visible in one contiguous window of frames only (3 to 6 of 8
// by default); in the other frames it is not drawn at all. Around it move
// distractors: discs, squares, diamonds, triangles and rings in colours away
// from red, some of them in windows of their own, and with probability
// Options.DecoyPermille/1000 one red square (the target's colour, another
// shape). The distractors move in the same four directions at the same
// speeds, so motion alone does not tell the class: a model has to find the red
// disc first. The
// background is a static value-noise texture, sometimes striped, and every
// frame gets its own brightness flicker and pixel noise.
//
// For every sample the generator returns the clip, uint8 [F, H, W, 3]
// (row-major, channels last), the label, the ground-truth mask of the target,
// uint8 [F, H, W] with 1 exactly on the pixels where the target is drawn, and
// the visible frames, bool [F].
//
// # Determinism
//
// Sample i of a split is a pure function of (Options, seed, i): it does not
// depend on the split's size or on the order of generation, so splits can be
// generated in parallel and a split of n samples is a prefix of a split of
// n+k. The generator uses its own SplitMix64 streams and integer arithmetic
// only (no floating point, no math/rand), so the bytes are the same on every
// platform and Go version. Background, distractors, target and noise draw from
// separate streams: rendering a sample without its target changes only pixels
// of its mask (nearly all of them). The target is drawn last, whole and inside
// the frame in every visible frame.
//
// Labels are balanced: each aligned block of NumClasses consecutive samples
// holds every class once, in a seeded random order.
//
// # Files
//
// WriteSplit and Write store a split as an Arrow IPC file (the random-access
// "file" format), one row per clip, in record batches of BatchRows rows:
//
//	clip     FixedSizeList<uint8>[F·H·W·3]  arrow.fixed_shape_tensor [F, H, W, 3]
//	label    int32
//	mask     FixedSizeList<uint8>[F·H·W]    arrow.fixed_shape_tensor [F, H, W]
//	visible  FixedSizeList<bool>[F]
//
// The tensor columns carry the canonical extension's field metadata
// (ARROW:extension:name = arrow.fixed_shape_tensor, ARROW:extension:metadata =
// {"shape":[...]}), so pyarrow reads them as FixedShapeTensorType. The schema
// metadata holds the keys Meta*: the sizes, the class names (a JSON list), the
// seed, the sample count and the full Options as JSON. In Python:
//
//	t = pyarrow.ipc.open_file(path).read_all()
//	clips = t.column("clip").combine_chunks().to_numpy_ndarray()   # (n, F, H, W, 3) uint8
//
// Read reads such a file back.
package synth
