package staa

import "testing"

func BenchmarkTmpTinyEngine(b *testing.B) {
	g, c, _ := dividedClip(2, 8, 2, 4, 3)
	o := Options{Method: Rollout, Residual: 0.5, Post: Raw(), Workers: 1}
	for b.Loop() {
		Attribute(g, c, o)
	}
}
