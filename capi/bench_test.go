package main

import "testing"

// BenchmarkTinyCall is one staa_attribute call on a tiny clip (L 1, T 2, H 1,
// 2×3 grid with CLS): the fixed cost of a call (import, options, engine,
// export), which dominates small inputs.
func BenchmarkTinyCall(b *testing.B) {
	p, _ := attention(1)
	defer cFree(p)
	opts := `{"frames":2,"grid":[2,3],"method":"rollout","postprocess":"raw"}`
	b.ReportAllocs()
	for b.Loop() {
		in := newTestBatch(1, "spatial", "f", spatialMeta, clipSize, p, true)
		out := newCOutput()
		if st, msg, _ := cCall("attribute", in, &opts, &out, 256); st != statusOK {
			b.Fatal(msg)
		}
		out.free()
		in.free()
	}
}

// BenchmarkLastBaseCall is one staa_attribute "last" call on TimeSformer-base
// spatial attention (L 12, T 8, H 12, 197 tokens): the engine reads only the
// CLS rows of the last layer, so this is the fixed cost of a large input.
func BenchmarkLastBaseCall(b *testing.B) {
	const n = 12 * 8 * 12 * 197 * 197
	p, v := cFloats(n)
	defer cFree(p)
	for i := range v {
		v[i] = 1.0 / 197
	}
	meta := `{"shape":[12,8,12,197,197]}`
	opts := `{"frames":8,"grid":[14,14],"method":"last","postprocess":"raw"}`
	for b.Loop() {
		in := newTestBatch(1, "spatial", "f", meta, n, p, true)
		out := newCOutput()
		if st, msg, _ := cCall("attribute", in, &opts, &out, 256); st != statusOK {
			b.Fatal(msg)
		}
		out.free()
		in.free()
	}
}
