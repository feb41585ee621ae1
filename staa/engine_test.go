package staa

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/float16"
)

// randAttention fills count matrices of side n with softmax-like rows.
func randAttention(rng *rand.Rand, count, n int) []float32 {
	a := make([]float32, count*n*n)
	for r := 0; r < count*n; r++ {
		row := a[r*n : (r+1)*n]
		var s float32
		for j := range row {
			row[j] = float32(math.Exp(3 * rng.Float64()))
			s += row[j]
		}
		for j := range row {
			row[j] /= s
		}
	}
	return a
}

func randSigned(rng *rand.Rand, n int) []float32 {
	a := make([]float32, n)
	for i := range a {
		a[i] = float32(rng.NormFloat64())
	}
	return a
}

func rawOpts(m Method, f Fusion) Options {
	return Options{Method: m, Fusion: f, Residual: 0.5, Post: Raw()}
}

func near(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	scale := 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*math.Max(scale, 1e-30) || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s[%d] = %v, want %v (all: %v vs %v)", what, i, got[i], want[i], got, want)
		}
	}
}

// TestJointByHand: one layer, one head, S = 3 (CLS + 2 patches).
func TestJointByHand(t *testing.T) {
	g := Geometry{Layout: Joint, Frames: 1, Height: 1, Width: 2, CLS: true}
	a := []float32{
		0.2, 0.5, 0.3,
		0.1, 0.6, 0.3,
		0.4, 0.4, 0.2,
	}
	c := Clip{Joint: Tensor{Shape: []int{1, 1, 3, 3}, F32: a}}
	res, err := Attribute(g, c, rawOpts(Last, FuseMean))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "last", res.Volume.Data, []float32{0.5, 0.3}, 1e-7)
	// rollout: row 0 of rownorm(0.5·A + 0.5·I) = (0.6, 0.25, 0.15).
	res, err = Attribute(g, c, rawOpts(Rollout, FuseMean))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "rollout", res.Volume.Data, []float32{0.25, 0.15}, 1e-6)
	near(t, "temporal", res.Temporal, []float32{1}, 1e-7)
}

// TestJointHeadsByHand: two heads, max, min and mean fusion, no CLS.
func TestJointHeadsByHand(t *testing.T) {
	g := Geometry{Layout: Joint, Frames: 2, Height: 1, Width: 1}
	a := []float32{
		0.5, 0.5, // head 0
		1.0, 0.0,
		0.9, 0.1, // head 1
		0.2, 0.8,
	}
	c := Clip{Joint: Tensor{Shape: []int{1, 2, 2, 2}, F32: a}}
	// Without CLS, last = mean of the fused rows.
	for _, tc := range []struct {
		f    Fusion
		want []float32
	}{
		{FuseMean, []float32{(0.7 + 0.6) / 2, (0.3 + 0.4) / 2}},
		{FuseMax, []float32{(0.9 + 1.0) / 2, (0.5 + 0.8) / 2}},
		{FuseMin, []float32{(0.5 + 0.2) / 2, (0.1 + 0) / 2}},
	} {
		res, err := Attribute(g, c, rawOpts(Last, tc.f))
		if err != nil {
			t.Fatal(err)
		}
		near(t, "last/"+tc.f.String(), res.Volume.Data, tc.want, 1e-6)
	}
}

// TestDividedByHand: T = 2 frames, one patch, CLS, one layer, one head.
func TestDividedByHand(t *testing.T) {
	g := Geometry{Layout: Divided, Frames: 2, Height: 1, Width: 1, CLS: true}
	spatial := []float32{
		0.6, 0.4, // frame 0: CLS row
		0.3, 0.7,
		0.2, 0.8, // frame 1
		0.5, 0.5,
	}
	temporal := []float32{
		0.9, 0.1,
		0.4, 0.6,
	}
	c := Clip{
		Spatial:  Tensor{Shape: []int{1, 2, 1, 2, 2}, F32: spatial},
		Temporal: Tensor{Shape: []int{1, 1, 1, 2, 2}, F32: temporal},
	}
	res, err := Attribute(g, c, rawOpts(Last, FuseMean))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "last", res.Volume.Data, []float32{0.4, 0.8}, 1e-7)
	if res.TemporalAttention {
		t.Error("last reports temporal attention")
	}

	// grad with G = 1 everywhere: M = I + A. Spatial: u_t = [1/2, 0];
	// u_t·(I + S_t) = [1/2 + 1/2·S_t[0,0], 1/2·S_t[0,1]] → patches (0.2, 0.4).
	// Temporal: w = (0.2, 0.4)·(I + T) = (0.2 + 0.18 + 0.16, 0.4 + 0.02 + 0.24).
	ones := []float32{1, 1, 1, 1, 1, 1, 1, 1}
	c.SpatialGrad = Tensor{Shape: c.Spatial.Shape, F32: ones}
	c.TemporalGrad = Tensor{Shape: c.Temporal.Shape, F32: ones[:4]}
	res, err = Attribute(g, c, rawOpts(Grad, FuseMean))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "grad", res.Volume.Data, []float32{0.54, 0.66}, 1e-6)
	if !res.TemporalAttention {
		t.Error("grad with temporal attention does not report it")
	}
	near(t, "temporal profile", res.Temporal, []float32{0.45, 0.55}, 1e-6)
}

// The full-matrix reference: build each layer's token-by-token operator as a
// dense matrix and multiply, the way a naive implementation does.

func fuseFull(a, g []float32, heads, n int, m Method, f Fusion) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, n)
		for j := range out[i] {
			var acc float64
			for h := 0; h < heads; h++ {
				x := float64(a[(h*n+i)*n+j])
				switch {
				case m == Grad:
					acc += math.Max(x*float64(g[(h*n+i)*n+j]), 0) / float64(heads)
				case f == FuseMean:
					acc += x / float64(heads)
				case f == FuseMax:
					if h == 0 || x > acc {
						acc = x
					}
				case f == FuseMin:
					if h == 0 || x < acc {
						acc = x
					}
				}
			}
			out[i][j] = acc
		}
	}
	switch m {
	case Rollout:
		for i := range out {
			var s float64
			for j := range out[i] {
				out[i][j] *= 0.5
				if i == j {
					out[i][j] += 0.5
				}
				s += out[i][j]
			}
			for j := range out[i] {
				out[i][j] /= s
			}
		}
	case Grad:
		for i := range out {
			out[i][i]++
		}
	}
	return out
}

func vecMat(v []float64, m [][]float64) []float64 {
	out := make([]float64, len(m[0]))
	for i := range m {
		for j := range m[i] {
			out[j] += v[i] * m[i][j]
		}
	}
	return out
}

func TestJointMatchesFullMatrices(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, cls := range []bool{true, false} {
		for _, tub := range []int{1, 2} {
			g := Geometry{Layout: Joint, Frames: 4, Height: 3, Width: 5, CLS: cls, Tubelet: tub}
			L, H, S := 3, 2, g.Tokens()
			a := randAttention(rng, L*H, S)
			gr := randSigned(rng, len(a))
			c := Clip{Joint: Tensor{Shape: []int{L, H, S, S}, F32: a}, JointGrad: Tensor{Shape: []int{L, H, S, S}, F32: gr}}
			for _, m := range []Method{Last, Rollout, Grad} {
				for _, f := range []Fusion{FuseMean, FuseMax, FuseMin} {
					v := make([]float64, S)
					if cls {
						v[0] = 1
					} else {
						for i := range v {
							v[i] = 1 / float64(S)
						}
					}
					first := 0
					if m == Last {
						first = L - 1
					}
					for l := L - 1; l >= first; l-- {
						off := l * H * S * S
						v = vecMat(v, fuseFull(a[off:off+H*S*S], gr[off:off+H*S*S], H, S, m, f))
					}
					N := g.Patches()
					want := make([]float32, 0, g.Frames*N)
					for fr := 0; fr < g.Frames; fr++ {
						grp := fr / tub
						for k := 0; k < N; k++ {
							want = append(want, float32(v[g.C()+grp*N+k]))
						}
					}
					for _, workers := range []int{1, 3} {
						o := rawOpts(m, f)
						o.Workers = workers
						res, err := Attribute(g, c, o)
						if err != nil {
							t.Fatal(err)
						}
						near(t, m.String()+"/"+f.String(), res.Volume.Data, want, 1e-5)
					}
				}
			}
		}
	}
}

// dividedFull builds layer l's spatial and temporal operators as (c+T·N)²
// matrices.
func dividedFull(g Geometry, c Clip, l, H, Ht int, m Method, f Fusion) (sp, tp [][]float64) {
	T, N, C := g.Groups(), g.Patches(), g.C()
	n := C + N
	S := C + T*N
	sp = make([][]float64, S)
	tp = make([][]float64, S)
	for i := range sp {
		sp[i] = make([]float64, S)
		tp[i] = make([]float64, S)
	}
	for t := 0; t < T; t++ {
		off := (l*T + t) * H * n * n
		var gr []float32
		if c.SpatialGrad.F32 != nil {
			gr = c.SpatialGrad.F32[off : off+H*n*n]
		}
		blk := fuseFull(c.Spatial.F32[off:off+H*n*n], gr, H, n, m, f)
		tok := func(i int) int { // frame-local index → global token
			if i < C {
				return 0
			}
			return C + t*N + (i - C)
		}
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				w := blk[i][j]
				if i < C {
					w /= float64(T) // output CLS is the mean of the copies
				}
				sp[tok(i)][tok(j)] += w
			}
		}
	}
	if C == 1 {
		tp[0][0] = 1
	}
	for k := 0; k < N; k++ {
		if Ht == 0 {
			for t := 0; t < T; t++ {
				tp[C+t*N+k][C+t*N+k] = 1
			}
			continue
		}
		off := (l*N + k) * Ht * T * T
		var gr []float32
		if c.TemporalGrad.F32 != nil {
			gr = c.TemporalGrad.F32[off : off+Ht*T*T]
		}
		blk := fuseFull(c.Temporal.F32[off:off+Ht*T*T], gr, Ht, T, m, f)
		for t := 0; t < T; t++ {
			for u := 0; u < T; u++ {
				tp[C+t*N+k][C+u*N+k] = blk[t][u]
			}
		}
	}
	return sp, tp
}

func TestDividedMatchesFullMatrices(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, cls := range []bool{true, false} {
		for _, withTemporal := range []bool{true, false} {
			g := Geometry{Layout: Divided, Frames: 3, Height: 2, Width: 3, CLS: cls}
			L, H, Ht := 2, 3, 2
			T, N, n := g.Groups(), g.Patches(), g.C()+g.Patches()
			sa := randAttention(rng, L*T*H, n)
			c := Clip{
				Spatial:     Tensor{Shape: []int{L, T, H, n, n}, F32: sa},
				SpatialGrad: Tensor{Shape: []int{L, T, H, n, n}, F32: randSigned(rng, len(sa))},
			}
			ht := 0
			if withTemporal {
				ta := randAttention(rng, L*N*Ht, T)
				c.Temporal = Tensor{Shape: []int{L, N, Ht, T, T}, F32: ta}
				c.TemporalGrad = Tensor{Shape: []int{L, N, Ht, T, T}, F32: randSigned(rng, len(ta))}
				ht = Ht
			}
			for _, m := range []Method{Rollout, Grad} {
				for _, f := range []Fusion{FuseMean, FuseMax, FuseMin} {
					S := g.C() + T*N
					v := make([]float64, S)
					if cls {
						v[0] = 1
					} else {
						for i := range v {
							v[i] = 1 / float64(S-g.C())
						}
					}
					for l := L - 1; l >= 0; l-- {
						sp, tp := dividedFull(g, c, l, H, ht, m, f)
						v = vecMat(vecMat(v, sp), tp)
					}
					want := make([]float32, T*N)
					for i := range want {
						want[i] = float32(v[g.C()+i])
					}
					for _, workers := range []int{1, 2} {
						o := rawOpts(m, f)
						o.Workers = workers
						res, err := Attribute(g, c, o)
						if err != nil {
							t.Fatal(err)
						}
						near(t, m.String()+"/"+f.String(), res.Volume.Data, want, 1e-5)
						if res.TemporalAttention != withTemporal {
							t.Errorf("TemporalAttention = %v, want %v", res.TemporalAttention, withTemporal)
						}
					}
				}
			}
		}
	}
}

func TestWorkersGiveIdenticalResults(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	g := Geometry{Layout: Joint, Frames: 4, Height: 6, Width: 7, CLS: true, Tubelet: 2}
	L, H, S := 2, 3, g.Tokens()
	var clips []Clip
	for b := 0; b < 3; b++ {
		clips = append(clips, Clip{Joint: Tensor{Shape: []int{L, H, S, S}, F32: randAttention(rng, L*H, S)}})
	}
	o := DefaultOptions()
	o.Workers = 1
	seq, err := AttributeBatch(g, clips, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []int{2, 5, 16} {
		o.Workers = w
		par, err := AttributeBatch(g, clips, o)
		if err != nil {
			t.Fatal(err)
		}
		for b := range clips {
			for i := range seq[b].Volume.Data {
				if seq[b].Volume.Data[i] != par[b].Volume.Data[i] {
					t.Fatalf("workers %d, clip %d: volume[%d] %v != %v", w, b, i, par[b].Volume.Data[i], seq[b].Volume.Data[i])
				}
			}
		}
		// One clip at a time splits inside the clip: still identical.
		one, err := Attribute(g, clips[1], o)
		if err != nil {
			t.Fatal(err)
		}
		for i := range one.Volume.Data {
			if one.Volume.Data[i] != seq[1].Volume.Data[i] {
				t.Fatalf("workers %d, single clip: volume[%d] differs", w, i)
			}
		}
	}
}

func TestFloat16MatchesFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	g := Geometry{Layout: Divided, Frames: 4, Height: 2, Width: 3, CLS: true}
	L, H, T, N, n := 2, 2, 4, 6, 7
	sa := randAttention(rng, L*T*H, n)
	ta := randAttention(rng, L*N*H, T)
	half := func(x []float32) ([]float16.Num, []float32) {
		h := make([]float16.Num, len(x))
		back := make([]float32, len(x))
		for i := range x {
			h[i] = float16.New(x[i])
			back[i] = h[i].Float32()
		}
		return h, back
	}
	s16, s32 := half(sa)
	t16, t32 := half(ta)
	c16 := Clip{Spatial: Tensor{Shape: []int{L, T, H, n, n}, F16: s16}, Temporal: Tensor{Shape: []int{L, N, H, T, T}, F16: t16}}
	c32 := Clip{Spatial: Tensor{Shape: []int{L, T, H, n, n}, F32: s32}, Temporal: Tensor{Shape: []int{L, N, H, T, T}, F32: t32}}
	for _, m := range []Method{Last, Rollout} {
		r16, err := Attribute(g, c16, rawOpts(m, FuseMean))
		if err != nil {
			t.Fatal(err)
		}
		r32, err := Attribute(g, c32, rawOpts(m, FuseMean))
		if err != nil {
			t.Fatal(err)
		}
		near(t, "f16/"+m.String(), r16.Volume.Data, r32.Volume.Data, 0)
	}
}

func TestAttributeErrors(t *testing.T) {
	g := Geometry{Layout: Joint, Frames: 2, Height: 2, Width: 2, CLS: true}
	S := g.Tokens() // 9
	good := randAttention(rand.New(rand.NewPCG(9, 9)), 2, S)
	nan := append([]float32(nil), good...)
	nan[S*S+3] = float32(math.NaN()) // head 1, row 0: read by every method
	inf := append([]float32(nil), good...)
	inf[5] = float32(math.Inf(1))
	for _, tc := range []struct {
		name string
		g    Geometry
		c    Clip
		o    Options
		want string
	}{
		{"wrong S", g, Clip{Joint: Tensor{Shape: []int{1, 2, 8, 8}, F32: good[:128]}}, DefaultOptions(), "want [1 2 9 9]"},
		{"rank", g, Clip{Joint: Tensor{Shape: []int{2, 9, 9}, F32: good}}, DefaultOptions(), "3 dimensions"},
		{"length", g, Clip{Joint: Tensor{Shape: []int{1, 2, 9, 9}, F32: good[:100]}}, DefaultOptions(), "holds 100 values"},
		{"missing", g, Clip{}, DefaultOptions(), "needs the joint attention"},
		{"wrong layout", g, Clip{Spatial: Tensor{Shape: []int{1, 2, 1, 5, 5}, F32: make([]float32, 50)}}, DefaultOptions(), "did you mean layout divided"},
		{"nan", g, Clip{Joint: Tensor{Shape: []int{1, 2, 9, 9}, F32: nan}}, DefaultOptions(), "NaN or Inf"},
		{"inf", g, Clip{Joint: Tensor{Shape: []int{1, 2, 9, 9}, F32: inf}}, DefaultOptions(), "NaN or Inf"},
		{"grad without gradients", g, Clip{Joint: Tensor{Shape: []int{1, 2, 9, 9}, F32: good}}, Options{Method: Grad, Post: Raw()}, "needs the gradients"},
		{"bad geometry", Geometry{Layout: Joint, Frames: 3, Height: 2, Width: 2, Tubelet: 2}, Clip{}, DefaultOptions(), "not a multiple of tubelet"},
		{"bad residual", g, Clip{Joint: Tensor{Shape: []int{1, 2, 9, 9}, F32: good}}, Options{Residual: 2}, "residual"},
	} {
		_, err := Attribute(tc.g, tc.c, tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	// Finite rows whose products overflow float32 over two layers (grad,
	// values 1e10 and gradients 1e10: each layer multiplies by ~1e20).
	big := make([]float32, 2*2*S*S)
	for i := range big {
		big[i] = 1e10
	}
	for _, layout := range []Layout{Joint, Divided} {
		gg, c := g, Clip{Joint: Tensor{Shape: []int{2, 2, S, S}, F32: big}, JointGrad: Tensor{Shape: []int{2, 2, S, S}, F32: big}}
		if layout == Divided {
			n := 1 + 4 // CLS + 2×2 patches a frame
			v := big[:2*2*2*n*n]
			gg = Geometry{Layout: Divided, Frames: 2, Height: 2, Width: 2, CLS: true}
			c = Clip{Spatial: Tensor{Shape: []int{2, 2, 2, n, n}, F32: v}, SpatialGrad: Tensor{Shape: []int{2, 2, 2, n, n}, F32: v}}
		}
		if _, err := Attribute(gg, c, Options{Method: Grad, Post: Raw()}); err == nil || !strings.Contains(err.Error(), "overflowed") {
			t.Errorf("%v overflow: error %v, want one saying the propagation overflowed", layout, err)
		}
	}
	if _, err := AttributeBatch(g, nil, DefaultOptions()); err == nil || !strings.Contains(err.Error(), "empty batch") {
		t.Errorf("empty batch: %v", err)
	}
	// A bad clip in a batch is named.
	clips := []Clip{{Joint: Tensor{Shape: []int{1, 2, 9, 9}, F32: good}}, {Joint: Tensor{Shape: []int{1, 2, 9, 9}, F32: nan}}}
	if _, err := AttributeBatch(g, clips, Options{Post: Raw()}); err == nil || !strings.Contains(err.Error(), "clip 1") {
		t.Errorf("batch: %v", err)
	}
}

func TestHalfDecoding(t *testing.T) {
	for _, tc := range []struct {
		bits uint16
		want float64
	}{
		{0x0000, 0}, {0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504},
		{0x0001, math.Ldexp(1, -24)}, {0x001a, 26 * math.Ldexp(1, -24)}, {0x03ff, 1023 * math.Ldexp(1, -24)},
		{0x0400, math.Ldexp(1, -14)}, {0x3555, 0.333251953125},
	} {
		if got := halfTable[tc.bits]; float64(got) != tc.want {
			t.Errorf("half %#04x = %v, want %v", tc.bits, got, tc.want)
		}
	}
	if !math.IsInf(float64(halfTable[0x7c00]), 1) || !math.IsNaN(float64(halfTable[0x7e00])) {
		t.Error("Inf/NaN decoded wrong")
	}
}

// TestDividedWorkersAndPaths: a divided clip large enough to be split across
// workers (the steps' groups go to tasks a few at a time, how many depending
// on the workers) gives the same bits with any number of workers, and the
// same as the row path, for every method, with and without CLS.
func TestDividedWorkersAndPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, cls := range []bool{true, false} {
		g := Geometry{Layout: Divided, Frames: 8, Height: 7, Width: 7, CLS: cls}
		L, H, T, N := 3, 4, g.Groups(), g.Patches()
		n := g.C() + N
		sa := randAttention(rng, L*T*H, n)
		ta := randAttention(rng, L*N*H, T)
		c := Clip{
			Spatial:      Tensor{Shape: []int{L, T, H, n, n}, F32: sa},
			SpatialGrad:  Tensor{Shape: []int{L, T, H, n, n}, F32: randSigned(rng, len(sa))},
			Temporal:     Tensor{Shape: []int{L, N, H, T, T}, F32: ta},
			TemporalGrad: Tensor{Shape: []int{L, N, H, T, T}, F32: randSigned(rng, len(ta))},
		}
		for _, m := range []Method{Rollout, Last, Grad} {
			o := rawOpts(m, FuseMean)
			o.Workers = 1
			p, err := newPlan(g, &c, o)
			if err != nil {
				t.Fatal(err)
			}
			if p.small() && m != Last { // Last reads few rows: one worker does it
				t.Fatalf("the clip is small: the workers would not split it")
			}
			want, err := Attribute(g, c, o)
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got Attribution) {
				t.Helper()
				for i := range want.Volume.Data {
					if math.Float32bits(got.Volume.Data[i]) != math.Float32bits(want.Volume.Data[i]) {
						t.Fatalf("cls %v %v, %s: volume[%d] %v, want %v", cls, m, what, i, got.Volume.Data[i], want.Volume.Data[i])
					}
				}
			}
			for _, w := range []int{2, 3, 8} {
				o.Workers = w
				got, err := Attribute(g, c, o)
				if err != nil {
					t.Fatal(err)
				}
				check(fmt.Sprintf("%d workers", w), got)
			}
			o.Workers = 1
			blockPath = false
			got, err := Attribute(g, c, o)
			blockPath = true
			if err != nil {
				t.Fatal(err)
			}
			check("row path", got)
		}
	}
}

// AttributeBatchTo writes into a buffer that held anything before (the C
// ABI reuses one) what AttributeBatch returns, bit for bit, as views of it.
func TestAttributeBatchToReusesDst(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	dg := Geometry{Layout: Divided, Frames: 6, Height: 3, Width: 4, CLS: true}
	jg := Geometry{Layout: Joint, Frames: 4, Height: 2, Width: 3, Tubelet: 2}
	var divided, joint []Clip
	for range 3 {
		L, H, T, n := 2, 3, dg.Groups(), dg.C()+dg.Patches()
		divided = append(divided, Clip{
			Spatial:  Tensor{Shape: []int{L, T, H, n, n}, F32: randAttention(rng, L*T*H, n)},
			Temporal: Tensor{Shape: []int{L, dg.Patches(), 2, T, T}, F32: randAttention(rng, L*dg.Patches()*2, T)},
		})
		S := jg.Tokens()
		joint = append(joint, Clip{Joint: Tensor{Shape: []int{2, 3, S, S}, F32: randAttention(rng, 2*3, S)}})
	}
	posts := []Post{Raw(), Optimized(), {Blur: 0.8, Threshold: Threshold{Mode: ThresholdOtsu}, Normalize: NormalizeFrame}}
	for _, c := range []struct {
		g     Geometry
		clips []Clip
	}{{dg, divided}, {jg, joint}, {dg, divided[:1]}} {
		per := ResultLen(c.g, 1)
		for _, m := range []Method{Rollout, Last} {
			for pi, post := range posts {
				for _, w := range []int{1, 2} {
					o := rawOpts(m, FuseMean)
					o.Post, o.Workers = post, w
					want, err := AttributeBatch(c.g, c.clips, o)
					if err != nil {
						t.Fatal(err)
					}
					dst := make([]float32, ResultLen(c.g, len(c.clips)))
					for i := range dst {
						dst[i] = float32(math.NaN())
					}
					got, err := AttributeBatchTo(dst, c.g, c.clips, o)
					if err != nil {
						t.Fatal(err)
					}
					for b := range want {
						what := fmt.Sprintf("%v %v post %d workers %d clip %d", c.g.Layout, m, pi, w, b)
						if &got[b].Volume.Data[0] != &dst[b*per] {
							t.Fatalf("%s: the volume is not a view of dst", what)
						}
						sameBits(t, what+" volume", got[b].Volume.Data, want[b].Volume.Data)
						sameBits(t, what+" spatial", got[b].Spatial.Data, want[b].Spatial.Data)
						sameBits(t, what+" temporal", got[b].Temporal, want[b].Temporal)
						if got[b].TemporalAttention != want[b].TemporalAttention {
							t.Fatalf("%s: TemporalAttention %v, want %v", what, got[b].TemporalAttention, want[b].TemporalAttention)
						}
					}
				}
			}
		}
		if _, err := AttributeBatchTo(make([]float32, ResultLen(c.g, len(c.clips))-1), c.g, c.clips, DefaultOptions()); err == nil {
			t.Fatalf("%v: a dst one value short was accepted", c.g.Layout)
		}
		if _, err := AttributeBatchTo(nil, c.g, c.clips, DefaultOptions()); err == nil || !strings.Contains(err.Error(), "0 values") {
			t.Fatalf("%v: no dst: error %v, want one about 0 values", c.g.Layout, err)
		}
	}
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}
