package metrics

import (
	"fmt"
	"slices"

	"github.com/staa-dev/staa/staa"
)

// Tubes maps the pixels of clips of one shape to the patch tubes of a
// T×h×w grid: tube (t, i, j) is cell (i, j) of frames t·τ … t·τ+τ−1,
// upsampled by nearest neighbour — pixel (y, x) belongs to cell
// (⌊y·h/H⌋, ⌊x·w/W⌋) — and tubes are numbered (t·h + i)·w + j. A Tubes is
// read-only after NewTubes and safe for concurrent use.
type Tubes struct {
	frames, channels, height, width int      // the clip
	gh, gw, tubelet                 int      // the grid and τ
	rowCell                         []int    // pixel row → grid row
	colRun                          [][2]int // grid column → pixel columns [x0, x1)
}

// NewTubes returns the tubes of clips shaped like x over a gridH×gridW patch
// grid with tubelet frames per tube (0 means 1). The grid must not be finer
// than the pixels, and tubelet must divide the number of frames.
func NewTubes(x Clip, gridH, gridW, tubelet int) (*Tubes, error) {
	if x.Frames <= 0 || x.Channels <= 0 || x.Height <= 0 || x.Width <= 0 {
		return nil, fmt.Errorf("metrics: clip has empty shape [%d, %d, %d, %d]", x.Frames, x.Channels, x.Height, x.Width)
	}
	if tubelet == 0 {
		tubelet = 1
	}
	switch {
	case gridH <= 0 || gridW <= 0:
		return nil, fmt.Errorf("metrics: patch grid must be positive, got %d×%d", gridH, gridW)
	case gridH > x.Height || gridW > x.Width:
		return nil, fmt.Errorf("metrics: patch grid %d×%d is finer than the clip's %d×%d pixels", gridH, gridW, x.Height, x.Width)
	case tubelet < 0 || x.Frames%tubelet != 0:
		return nil, fmt.Errorf("metrics: tubelet %d does not divide the clip's %d frames", tubelet, x.Frames)
	}
	t := &Tubes{frames: x.Frames, channels: x.Channels, height: x.Height, width: x.Width,
		gh: gridH, gw: gridW, tubelet: tubelet, rowCell: cellIndex(x.Height, gridH), colRun: make([][2]int, gridW)}
	for xx, j := range cellIndex(x.Width, gridW) {
		if t.colRun[j][1] == 0 {
			t.colRun[j][0] = xx
		}
		t.colRun[j][1] = xx + 1
	}
	return t, nil
}

// cellIndex returns ⌊p·cells/n⌋ for p in [0, n): the cell of each pixel.
func cellIndex(n, cells int) []int {
	idx := make([]int, n)
	for p := range idx {
		idx[p] = p * cells / n
	}
	return idx
}

// Len returns the number of tubes, (F/τ)·h·w.
func (t *Tubes) Len() int { return t.frames / t.tubelet * t.gh * t.gw }

// Scores returns each tube's attribution: the sum of V over the τ frames of
// its cell. V must have the clip's frames and the grid's size and finite
// values.
func (t *Tubes) Scores(v staa.Volume) ([]float64, error) {
	if err := v.Validate(); err != nil {
		return nil, err
	}
	if v.Frames != t.frames || v.Height != t.gh || v.Width != t.gw {
		return nil, fmt.Errorf("metrics: volume of shape [%d, %d, %d] for a clip of %d frames on a %d×%d grid",
			v.Frames, v.Height, v.Width, t.frames, t.gh, t.gw)
	}
	if err := checkFinite(v); err != nil {
		return nil, err
	}
	n := t.gh * t.gw
	s := make([]float64, t.Len())
	for f := range v.Frames {
		g := f / t.tubelet
		for k, x := range v.Frame(f) {
			s[g*n+k] += float64(x)
		}
	}
	return s, nil
}

// Order returns the tubes by decreasing attribution (ties in index order).
func (t *Tubes) Order(v staa.Volume) ([]int, error) {
	s, err := t.Scores(v)
	if err != nil {
		return nil, err
	}
	order := make([]int, len(s))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case s[a] > s[b]:
			return -1
		case s[a] < s[b]:
			return 1
		}
		return 0
	})
	return order, nil
}

// Compose writes into dst the clip that takes tube u from x where keep[u]
// and from base elsewhere. dst, x and base must have the shape Tubes was
// built for, and keep Len() entries.
func (t *Tubes) Compose(dst, x, base Clip, keep []bool) {
	if len(keep) != t.Len() {
		panic(fmt.Sprintf("metrics: Tubes.Compose: %d keep flags for %d tubes", len(keep), t.Len()))
	}
	want := t.frames * t.channels * t.height * t.width
	if len(dst.Data) != want || len(x.Data) != want || len(base.Data) != want {
		panic(fmt.Sprintf("metrics: Tubes.Compose: clips of %d, %d and %d values, want %d", len(dst.Data), len(x.Data), len(base.Data), want))
	}
	H, W, n := t.height, t.width, t.gh*t.gw
	for f := range t.frames {
		k := keep[f/t.tubelet*n : (f/t.tubelet+1)*n]
		for c := range t.channels {
			off := (f*t.channels + c) * H * W
			for y := range H {
				row := off + y*W
				kr := k[t.rowCell[y]*t.gw : (t.rowCell[y]+1)*t.gw]
				for j, r := range t.colRun {
					src := base.Data
					if kr[j] {
						src = x.Data
					}
					copy(dst.Data[row+r[0]:row+r[1]], src[row+r[0]:row+r[1]])
				}
			}
		}
	}
}

// checkFinite reports the first NaN or ±Inf of v.
func checkFinite(v staa.Volume) error {
	for k, x := range v.Data {
		if x-x != 0 {
			n := v.Height * v.Width
			return fmt.Errorf("metrics: volume holds %v at frame %d, [%d, %d]", x, k/n, k%n/v.Width, k%v.Width)
		}
	}
	return nil
}

// checkMass checks that v is a valid volume of finite, non-negative values,
// as the mass metrics need.
func checkMass(v staa.Volume) error {
	if err := v.Validate(); err != nil {
		return err
	}
	if err := checkFinite(v); err != nil {
		return err
	}
	for k, x := range v.Data {
		if x < 0 {
			n := v.Height * v.Width
			return fmt.Errorf("metrics: volume holds a negative value (%v) at frame %d, [%d, %d]; this metric measures the attribution's mass and needs V ≥ 0 (take the positive part or |V| first)",
				x, k/n, k%n/v.Width, k%v.Width)
		}
	}
	return nil
}
