package staa

import "fmt"

// Method selects the per-layer operator of the propagation engine.
type Method int

const (
	// Rollout propagates through rownorm((1−α)·Ā_l + α·I) (Abnar & Zuidema 2020).
	Rollout Method = iota
	// Last takes the CLS row of the last layer alone: the paper's raw STAA.
	Last
	// Grad propagates through I + Ā_l with gradient-weighted head fusion
	// Ā_l = mean_h relu(G_{l,h} ⊙ A_{l,h}) (Chefer et al. 2021). It needs the
	// gradients ∂y/∂A of the attention.
	Grad
)

func (m Method) String() string {
	switch m {
	case Rollout:
		return "rollout"
	case Last:
		return "last"
	case Grad:
		return "grad"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// ParseMethod returns the Method named s.
func ParseMethod(s string) (Method, error) {
	switch s {
	case "rollout":
		return Rollout, nil
	case "last":
		return Last, nil
	case "grad":
		return Grad, nil
	}
	return 0, fmt.Errorf("staa: unknown method %q (want \"last\", \"rollout\" or \"grad\")", s)
}

// Fusion selects how the H heads of a layer are fused into one matrix.
type Fusion int

const (
	FuseMean Fusion = iota // Ā = mean_h A_h
	FuseMax                // Ā = max_h A_h, elementwise
	FuseMin                // Ā = min_h A_h, elementwise
)

func (f Fusion) String() string {
	switch f {
	case FuseMean:
		return "mean"
	case FuseMax:
		return "max"
	case FuseMin:
		return "min"
	}
	return fmt.Sprintf("Fusion(%d)", int(f))
}

// ParseFusion returns the Fusion named s.
func ParseFusion(s string) (Fusion, error) {
	switch s {
	case "mean":
		return FuseMean, nil
	case "max":
		return FuseMax, nil
	case "min":
		return FuseMin, nil
	}
	return 0, fmt.Errorf("staa: unknown head_fusion %q (want \"mean\", \"max\" or \"min\")", s)
}

// DefaultResidual is the rollout residual weight α.
const DefaultResidual = 0.5

// Options configure Attribute.
type Options struct {
	Method Method
	Fusion Fusion
	// Residual is rollout's α in (1−α)·Ā + α·I. Callers set it explicitly;
	// DefaultOptions uses DefaultResidual.
	Residual float64
	// Post is applied to the attribution volume (see Postprocess).
	Post Post
	// Workers bounds the goroutines used; 0 means runtime.GOMAXPROCS(0).
	// Results do not depend on it.
	Workers int
}

// DefaultOptions returns rollout with mean head fusion, α = 0.5 and the
// optimized post-processing preset.
func DefaultOptions() Options {
	return Options{Method: Rollout, Fusion: FuseMean, Residual: DefaultResidual, Post: Optimized()}
}

// Validate reports whether o is usable.
func (o Options) Validate() error {
	switch {
	case o.Method < Rollout || o.Method > Grad:
		return fmt.Errorf("staa: unknown method %d", int(o.Method))
	case o.Fusion < FuseMean || o.Fusion > FuseMin:
		return fmt.Errorf("staa: unknown head fusion %d", int(o.Fusion))
	case !(o.Residual >= 0 && o.Residual <= 1):
		return fmt.Errorf("staa: residual must be in [0, 1], got %v", o.Residual)
	case o.Workers < 0:
		return fmt.Errorf("staa: workers must be >= 0, got %d", o.Workers)
	}
	return o.Post.Validate()
}
