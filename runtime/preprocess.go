package runtime

import (
	"fmt"
	"math"
	goruntime "runtime"
	"sync"
	"sync/atomic"
)

// Preprocessing turns uint8 RGB clips of any frame size into the model's
// float32 input: each frame is resized to the model's frame size with an
// antialiased bilinear (triangle) filter — the filter of PIL's
// Image.resize(BILINEAR) and of torch.nn.functional.interpolate(mode=
// "bilinear", antialias=True, align_corners=False): pixel centres at
// half-integers, and when shrinking the filter widens by the scale factor so
// that every source pixel counts (plain bilinear would alias) — then scaled
// and normalised per channel, (v·Scale − Mean[c]) / Std[c], and written
// planar: (B, F, 3, H, W) for layout BFCHW, (B, 3, F, H, W) for BCFHW.
// Frames already at the model's size skip the filter and go through a
// 256-entry table per channel, computed in float64 like numpy would.

// preprocessor holds the per-model constants.
type preprocessor struct {
	frames, height, width int
	channelsFirst         bool // BCFHW
	lut                   [3][256]float32
	a, b                  [3]float32 // v·a + b for resized (non-integer) values
}

func newPreprocessor(info ModelInfo) *preprocessor {
	p := &preprocessor{frames: info.Geometry.Frames, height: info.FrameHeight, width: info.FrameWidth, channelsFirst: info.InputLayout == "BCFHW"}
	for c := 0; c < 3; c++ {
		for v := 0; v < 256; v++ {
			p.lut[c][v] = float32((float64(v)*info.Scale - info.Mean[c]) / info.Std[c])
		}
		p.a[c] = float32(info.Scale / info.Std[c])
		p.b[c] = float32(-info.Mean[c] / info.Std[c])
	}
	return p
}

// clipLen is the number of float32 values of one preprocessed clip.
func (p *preprocessor) clipLen() int { return p.frames * 3 * p.height * p.width }

// check validates clips against the model.
func (p *preprocessor) check(clips []Video) error {
	if len(clips) == 0 {
		return fmt.Errorf("staa/runtime: no clips")
	}
	for i, c := range clips {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("staa/runtime: clip %d: %v", i, err)
		}
		if c.Frames != p.frames {
			return fmt.Errorf("staa/runtime: clip %d has %d frames but the model takes %d (sample them with UniformIndices or SlidingWindows, or Video.Uniform / Video.Windows)", i, c.Frames, p.frames)
		}
	}
	return nil
}

// plane returns the offset of channel ch of frame f of clip b.
func (p *preprocessor) plane(b, f, ch int) int {
	hw := p.height * p.width
	if p.channelsFirst {
		return ((b*3+ch)*p.frames + f) * hw
	}
	return ((b*p.frames+f)*3 + ch) * hw
}

// fill writes clips, preprocessed, into dst (len(clips)·clipLen values),
// spreading the frames over up to GOMAXPROCS goroutines.
func (p *preprocessor) fill(dst []float32, clips []Video) error {
	if err := p.check(clips); err != nil {
		return err
	}
	if len(dst) != len(clips)*p.clipLen() {
		return fmt.Errorf("staa/runtime: internal: input buffer of %d values for %d clips", len(dst), len(clips))
	}
	// One resampler per distinct source size.
	rs := map[[2]int]*resampler{}
	for _, c := range clips {
		k := [2]int{c.Height, c.Width}
		if _, ok := rs[k]; !ok && (c.Height != p.height || c.Width != p.width) {
			rs[k] = newResampler(c.Height, c.Width, p.height, p.width)
		}
	}
	n := len(clips) * p.frames
	workers := min(goruntime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var tmp []float32
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				b, f := i/p.frames, i%p.frames
				c := clips[b]
				var planes [3][]float32
				for ch := range planes {
					off := p.plane(b, f, ch)
					planes[ch] = dst[off : off+p.height*p.width]
				}
				if r := rs[[2]int{c.Height, c.Width}]; r != nil {
					tmp = r.resize(planes, c.Frame(f), tmp, p)
				} else {
					p.normalize(planes, c.Frame(f))
				}
			}
		}()
	}
	wg.Wait()
	return nil
}

// normalize writes a frame at the model's size through the tables.
func (p *preprocessor) normalize(planes [3][]float32, src []uint8) {
	r, g, b := planes[0], planes[1], planes[2]
	for i := range r {
		r[i] = p.lut[0][src[3*i]]
		g[i] = p.lut[1][src[3*i+1]]
		b[i] = p.lut[2][src[3*i+2]]
	}
}

// taps are the filter weights of a 1-D resampling from in to out samples:
// output i reads inputs start[i] … start[i]+count[i]−1 with weights
// w[i·k …].
type taps struct {
	start, count []int
	w            []float32
	k            int
}

// triangle is the bilinear filter kernel.
func triangle(x float64) float64 {
	x = math.Abs(x)
	if x < 1 {
		return 1 - x
	}
	return 0
}

// newTaps computes the weights as PIL's precompute_coeffs and torch's
// _compute_indices_weights_aa do, for the bilinear filter (support 1).
func newTaps(in, out int) taps {
	scale := float64(in) / float64(out)
	filterScale := max(scale, 1)
	support := filterScale // bilinear support 1, widened when shrinking
	k := int(math.Ceil(support))*2 + 1
	t := taps{start: make([]int, out), count: make([]int, out), w: make([]float32, out*k), k: k}
	ws := make([]float64, k)
	for i := 0; i < out; i++ {
		center := (float64(i) + 0.5) * scale
		xmin := max(int(center-support+0.5), 0) // int() truncates toward zero, as C's cast
		xmax := min(int(center+support+0.5), in)
		n := min(xmax-xmin, k)
		sum := 0.0
		for j := 0; j < n; j++ {
			ws[j] = triangle((float64(j+xmin) - center + 0.5) / filterScale)
			sum += ws[j]
		}
		t.start[i], t.count[i] = xmin, n
		for j := 0; j < n; j++ {
			if sum != 0 {
				t.w[i*k+j] = float32(ws[j] / sum)
			}
		}
	}
	return t
}

// resampler resizes frames of one source size to the model's size.
type resampler struct {
	inH, inW, outH, outW int
	h, v                 taps
}

func newResampler(inH, inW, outH, outW int) *resampler {
	return &resampler{inH: inH, inW: inW, outH: outH, outW: outW, h: newTaps(inW, outW), v: newTaps(inH, outH)}
}

// resize filters the frame src horizontally into tmp (inH × outW × 3), then
// vertically, normalising into planes. It returns tmp for reuse.
func (r *resampler) resize(planes [3][]float32, src []uint8, tmp []float32, p *preprocessor) []float32 {
	rowLen := r.outW * 3
	need := r.inH*rowLen + rowLen // + one accumulator row
	if cap(tmp) < need {
		tmp = make([]float32, need)
	}
	tmp = tmp[:need]
	hor, acc := tmp[:r.inH*rowLen], tmp[r.inH*rowLen:]
	for y := 0; y < r.inH; y++ {
		row := src[y*r.inW*3 : (y+1)*r.inW*3]
		out := hor[y*rowLen : (y+1)*rowLen]
		for x := 0; x < r.outW; x++ {
			var sr, sg, sb float32
			s, w := r.h.start[x], r.h.w[x*r.h.k:x*r.h.k+r.h.count[x]]
			for j, wt := range w {
				px := row[(s+j)*3 : (s+j)*3+3]
				sr += float32(px[0]) * wt
				sg += float32(px[1]) * wt
				sb += float32(px[2]) * wt
			}
			out[3*x], out[3*x+1], out[3*x+2] = sr, sg, sb
		}
	}
	for y := 0; y < r.outH; y++ {
		clear(acc)
		s, w := r.v.start[y], r.v.w[y*r.v.k:y*r.v.k+r.v.count[y]]
		for j, wt := range w {
			in := hor[(s+j)*rowLen : (s+j+1)*rowLen]
			for i, v := range in {
				acc[i] += v * wt
			}
		}
		o := y * r.outW
		for x := 0; x < r.outW; x++ {
			for c := 0; c < 3; c++ {
				planes[c][o+x] = acc[3*x+c]*p.a[c] + p.b[c]
			}
		}
	}
	return tmp
}
