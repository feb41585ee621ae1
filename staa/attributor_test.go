package staa

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/float16"
)

// attributorCases are streams of three clips of one shape each.
func attributorCases(rng *rand.Rand) []struct {
	name  string
	g     Geometry
	clips []Clip
} {
	dg := Geometry{Layout: Divided, Frames: 6, Height: 3, Width: 4, CLS: true}
	ng := Geometry{Layout: Divided, Frames: 4, Height: 2, Width: 3}
	jg := Geometry{Layout: Joint, Frames: 4, Height: 2, Width: 3, Tubelet: 2, CLS: true}
	type tc = struct {
		name  string
		g     Geometry
		clips []Clip
	}
	cases := []tc{{name: "divided"}, {name: "divided without temporal or CLS"}, {name: "joint"}}
	cases[0].g, cases[1].g, cases[2].g = dg, ng, jg
	for range 3 {
		L, H, T, n := 2, 3, dg.Groups(), dg.C()+dg.Patches()
		sa, ta := randAttention(rng, L*T*H, n), randAttention(rng, L*dg.Patches()*2, T)
		cases[0].clips = append(cases[0].clips, Clip{
			Spatial:      Tensor{Shape: []int{L, T, H, n, n}, F32: sa},
			SpatialGrad:  Tensor{Shape: []int{L, T, H, n, n}, F32: randSigned(rng, len(sa))},
			Temporal:     Tensor{Shape: []int{L, dg.Patches(), 2, T, T}, F32: ta},
			TemporalGrad: Tensor{Shape: []int{L, dg.Patches(), 2, T, T}, F32: randSigned(rng, len(ta))},
		})
		nn := ng.Patches()
		na := randAttention(rng, 3*4*2, nn)
		cases[1].clips = append(cases[1].clips, Clip{
			Spatial:     Tensor{Shape: []int{3, 4, 2, nn, nn}, F32: na},
			SpatialGrad: Tensor{Shape: []int{3, 4, 2, nn, nn}, F32: randSigned(rng, len(na))},
		})
		S := jg.Tokens()
		ja := randAttention(rng, 2*3, S)
		cases[2].clips = append(cases[2].clips, Clip{
			Joint:     Tensor{Shape: []int{2, 3, S, S}, F32: ja},
			JointGrad: Tensor{Shape: []int{2, 3, S, S}, F32: randSigned(rng, len(ja))},
		})
	}
	return cases
}

// An Attributor gives what Attribute gives, bit for bit, for every clip of
// its stream, every method and workers, from one goroutine or several.
func TestAttributorMatchesAttribute(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, tc := range attributorCases(rng) {
		for _, m := range []Method{Rollout, Last, Grad} {
			for _, post := range []Post{Raw(), Optimized()} {
				for _, w := range []int{1, 2} {
					o := rawOpts(m, FuseMean)
					o.Post, o.Workers = post, w
					what := fmt.Sprintf("%s %v workers %d gamma %v", tc.name, m, w, post.Gamma)
					a, err := NewAttributor(tc.g, o, tc.clips[0])
					if err != nil {
						t.Fatalf("%s: %v", what, err)
					}
					want := make([]Attribution, len(tc.clips))
					for b, c := range tc.clips {
						if want[b], err = Attribute(tc.g, c, o); err != nil {
							t.Fatal(err)
						}
						got, err := a.Attribute(c)
						if err != nil {
							t.Fatalf("%s clip %d: %v", what, b, err)
						}
						sameAttribution(t, fmt.Sprintf("%s clip %d", what, b), got, want[b])
					}
					var wg sync.WaitGroup
					for b := range 12 {
						wg.Go(func() {
							got, err := a.Attribute(tc.clips[b%3])
							if err != nil {
								t.Errorf("%s concurrent: %v", what, err)
								return
							}
							sameAttribution(t, what+" concurrent", got, want[b%3])
						})
					}
					wg.Wait()
				}
			}
		}
	}
}

func sameAttribution(t *testing.T, what string, got, want Attribution) {
	t.Helper()
	sameBits(t, what+" volume", got.Volume.Data, want.Volume.Data)
	sameBits(t, what+" spatial", got.Spatial.Data, want.Spatial.Data)
	sameBits(t, what+" temporal", got.Temporal, want.Temporal)
	if got.TemporalAttention != want.TemporalAttention {
		t.Errorf("%s: TemporalAttention %v, want %v", what, got.TemporalAttention, want.TemporalAttention)
	}
}

// A clip of other shapes is refused with a message that names the tensor;
// the checks of NewAttributor are AttributeBatch's; values are still checked.
func TestAttributorErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	cases := attributorCases(rng)
	div, nocls, joint := cases[0], cases[1], cases[2]
	o := DefaultOptions()
	a, err := NewAttributor(div.g, o, div.clips[0])
	if err != nil {
		t.Fatal(err)
	}
	c := div.clips[1]
	fewer := c
	fewer.Spatial = Tensor{Shape: append([]int{1}, c.Spatial.Shape[1:]...), F32: c.Spatial.F32[:len(c.Spatial.F32)/2]}
	noTemporal := c
	noTemporal.Temporal = Tensor{}
	half := c
	half.Spatial = Tensor{Shape: c.Spatial.Shape, F16: make([]float16.Num, 3)}
	nan := c
	nan.Spatial.F32 = append([]float32(nil), c.Spatial.F32...)
	nan.Spatial.F32[7] = float32(math.NaN())
	for _, e := range []struct {
		clip Clip
		want string
	}{
		{fewer, "spatial attention has shape [1 6 3 13 13], want [2 6 3 13 13]"},
		{noTemporal, "the clip has no temporal attention"},
		{half, "holds 3 values"},
		{Clip{Joint: joint.clips[0].Joint}, "the clip has no spatial attention"},
		{Clip{Spatial: c.Spatial, Temporal: c.Temporal, Joint: joint.clips[0].Joint}, "joint attention, which the Attributor's first clip did not"},
	} {
		_, err := a.Attribute(e.clip)
		if err == nil || !strings.Contains(err.Error(), e.want) || !strings.Contains(err.Error(), "Attributor") {
			t.Errorf("got %v, want an error with %q", err, e.want)
		}
	}
	_, want := Attribute(div.g, nan, o)
	if _, err := a.Attribute(nan); err == nil || want == nil || err.Error() != want.Error() {
		t.Errorf("NaN: %v, want %v", err, want)
	}
	// without temporal attention first, a clip with it is refused (it would be ignored)
	b, err := NewAttributor(nocls.g, o, nocls.clips[0])
	if err != nil {
		t.Fatal(err)
	}
	with := nocls.clips[1]
	with.Temporal = Tensor{Shape: []int{3, nocls.g.Patches(), 1, 4, 4}, F32: randAttention(rng, 3*nocls.g.Patches(), 4)}
	if _, err := b.Attribute(with); err == nil || !strings.Contains(err.Error(), "temporal attention, which the Attributor's first clip did not") {
		t.Errorf("an added temporal attention: %v", err)
	}
	// NewAttributor refuses what AttributeBatch refuses, with its message
	for _, g := range []Geometry{{Layout: Divided, Frames: 0, Height: 3, Width: 4}, joint.g} {
		_, want := AttributeBatch(g, div.clips[:1], o)
		if _, err := NewAttributor(g, o, div.clips[0]); err == nil || want == nil || err.Error() != want.Error() {
			t.Errorf("NewAttributor(%+v): %v, want %v", g, err, want)
		}
	}
}
