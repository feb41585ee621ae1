package metrics

import (
	"fmt"

	"github.com/staa-dev/staa/staa"
)

// Mask is a ground-truth mask of where the evidence is: Data[(f·Height +
// y)·Width + x] ≠ 0 on the pixels of the target in frame f (the layout of
// staa/synth's masks, uint8 [F, H, W]). Its resolution is free — the video's
// pixels, the model's input pixels or the patch grid itself — as long as it
// is at least as fine as the patch grid of the volumes compared with it:
// pixel (y, x) belongs to patch cell (⌊y·h/H⌋, ⌊x·w/W⌋), so an attribution
// is compared with the mask as if upsampled to the mask's pixels by nearest
// neighbour.
type Mask struct {
	Frames, Height, Width int
	Data                  []uint8
}

// Validate reports whether m's sizes are positive and match its data.
func (m Mask) Validate() error {
	if m.Frames <= 0 || m.Height <= 0 || m.Width <= 0 {
		return fmt.Errorf("metrics: mask has empty shape [%d, %d, %d]", m.Frames, m.Height, m.Width)
	}
	if len(m.Data) != m.Frames*m.Height*m.Width {
		return fmt.Errorf("metrics: mask of shape [%d, %d, %d] holds %d values", m.Frames, m.Height, m.Width, len(m.Data))
	}
	return nil
}

// Visible returns, for each frame, whether the mask has a pixel in it.
func (m Mask) Visible() []bool {
	vis := make([]bool, m.Frames)
	n := m.Height * m.Width
	for f := range vis {
		for _, b := range m.Data[f*n : (f+1)*n] {
			if b != 0 {
				vis[f] = true
				break
			}
		}
	}
	return vis
}

// coverage is a mask seen on the patch grid of a volume.
type coverage struct {
	in   []int // [F·h·w]: mask pixels in cell (f, i, j)
	area []int // [h·w]: pixels in cell (i, j)
	vis  []bool
}

// cover checks that m fits v and counts its pixels per cell.
func (m Mask) cover(v staa.Volume) (coverage, error) {
	if err := m.Validate(); err != nil {
		return coverage{}, err
	}
	if err := v.Validate(); err != nil {
		return coverage{}, err
	}
	if m.Frames != v.Frames {
		return coverage{}, fmt.Errorf("metrics: mask of %d frames for a volume of %d", m.Frames, v.Frames)
	}
	if m.Height < v.Height || m.Width < v.Width {
		return coverage{}, fmt.Errorf("metrics: mask of %d×%d pixels is coarser than the volume's %d×%d grid", m.Height, m.Width, v.Height, v.Width)
	}
	h, w := v.Height, v.Width
	rows, cols := cellIndex(m.Height, h), cellIndex(m.Width, w)
	c := coverage{in: make([]int, v.Frames*h*w), area: make([]int, h*w), vis: make([]bool, v.Frames)}
	for _, i := range rows {
		for _, j := range cols {
			c.area[i*w+j]++
		}
	}
	for f := range m.Frames {
		in := c.in[f*h*w : (f+1)*h*w]
		for y, i := range rows {
			px := m.Data[(f*m.Height+y)*m.Width : (f*m.Height+y+1)*m.Width]
			for x, j := range cols {
				if px[x] != 0 {
					in[i*w+j]++
					c.vis[f] = true
				}
			}
		}
	}
	return c, nil
}
