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
