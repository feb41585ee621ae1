package staa

import "fmt"

// Layout says how a model's attention is arranged.
type Layout int

const (
	// Joint attention: per layer one [H, S, S] matrix over S = c + T·N tokens,
	// CLS first, then frames t-major, then row-major patches (ViViT, VideoMAE).
	Joint Layout = iota
	// Divided space-time attention (TimeSformer): per layer a spatial block
	// [T, H, c+N, c+N] whose index 0 is a per-frame copy of the CLS token, and a
	// temporal block [N, H, T, T] over the patches of one position.
	Divided
)

func (l Layout) String() string {
	switch l {
	case Joint:
		return "joint"
	case Divided:
		return "divided"
	}
	return fmt.Sprintf("Layout(%d)", int(l))
}

// ParseLayout returns the Layout named s ("joint" or "divided").
func ParseLayout(s string) (Layout, error) {
	switch s {
	case "joint":
		return Joint, nil
	case "divided":
		return Divided, nil
	}
	return 0, fmt.Errorf("staa: unknown layout %q (want \"divided\" or \"joint\")", s)
}

// Geometry describes how a clip maps to tokens.
type Geometry struct {
	Layout  Layout
	Frames  int  // F, frames of the input clip
	Height  int  // h, patch rows per frame
	Width   int  // w, patch columns per frame
	CLS     bool // whether a CLS token is present (c = 1)
	Tubelet int  // τ, frames per token group; 0 means 1
}

// tubelet returns τ, defaulting to 1.
func (g Geometry) tubelet() int {
	if g.Tubelet == 0 {
		return 1
	}
	return g.Tubelet
}

// Groups returns T = F/τ, the number of token groups along time.
func (g Geometry) Groups() int { return g.Frames / g.tubelet() }

// Patches returns N = h·w.
func (g Geometry) Patches() int { return g.Height * g.Width }

// C returns the number of CLS tokens, 0 or 1.
func (g Geometry) C() int {
	if g.CLS {
		return 1
	}
	return 0
}

// Tokens returns the side of one attention matrix: c+N for the spatial blocks
// of the Divided layout, S = c+T·N for the Joint layout.
func (g Geometry) Tokens() int {
	if g.Layout == Divided {
		return g.C() + g.Patches()
	}
	return g.C() + g.Groups()*g.Patches()
}

// Validate reports whether g describes a usable geometry.
func (g Geometry) Validate() error {
	switch {
	case g.Layout != Joint && g.Layout != Divided:
		return fmt.Errorf("staa: unknown layout %d", int(g.Layout))
	case g.Frames <= 0:
		return fmt.Errorf("staa: frames must be positive, got %d", g.Frames)
	case g.Height <= 0 || g.Width <= 0:
		return fmt.Errorf("staa: grid must be positive, got [%d, %d]", g.Height, g.Width)
	case g.Tubelet < 0:
		return fmt.Errorf("staa: tubelet must be positive, got %d", g.Tubelet)
	case g.Frames%g.tubelet() != 0:
		return fmt.Errorf("staa: frames (%d) is not a multiple of tubelet (%d)", g.Frames, g.tubelet())
	}
	return nil
}
