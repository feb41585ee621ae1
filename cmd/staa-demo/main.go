// Command staa-demo runs the STAA engine on generated attention with a known
// answer and writes a picture of the explanation.
//
//	go run ./cmd/staa-demo -out out
//
// The attention is TimeSformer-shaped (divided space-time) and favours a
// target square that moves across frames 2–5 (internal/fakeattn). The picture
// has one column per frame and four rows: the ground truth, the raw rollout
// maps, the maps after the optimized post-processing, and the temporal
// profile P[f]. The command prints the profile and the signal-to-noise ratio
// (mean attribution inside the target over mean outside) of both presets.
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"time"

	"github.com/staa-dev/staa/internal/fakeattn"
	"github.com/staa-dev/staa/internal/render"
	"github.com/staa-dev/staa/staa"
)

func main() {
	out := flag.String("out", "out", "directory for demo.png")
	seed := flag.Uint64("seed", 1, "seed of the generated attention")
	tile := flag.Int("tile", 96, "tile size in pixels")
	flag.Parse()
	if err := run(*out, *seed, *tile); err != nil {
		fmt.Fprintln(os.Stderr, "staa-demo:", err)
		os.Exit(1)
	}
}

func run(dir string, seed uint64, tile int) error {
	spec := fakeattn.Default()
	spec.Seed = seed
	g, clip, mask := spec.Geometry(), spec.Clip(), spec.Mask()

	opts := staa.DefaultOptions()
	opts.Post = staa.Raw()
	start := time.Now()
	raw, err := staa.Attribute(g, clip, opts)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	opts.Post = staa.Optimized()
	opt, err := staa.Attribute(g, clip, opts)
	if err != nil {
		return err
	}

	fmt.Printf("generated divided attention: %d frames, grid %dx%d, %d layers, %d heads; target in frames %d-%d\n",
		spec.Frames, spec.Height, spec.Width, spec.Layers, spec.Heads, spec.First, spec.Last)
	fmt.Printf("rollout took %v\n\n", elapsed.Round(time.Microsecond))
	fmt.Printf("%-10s %8s %s\n", "preset", "SNR", "temporal profile P[f]")
	for _, r := range []struct {
		name string
		a    staa.Attribution
	}{{"raw", raw}, {"optimized", opt}} {
		fmt.Printf("%-10s %8.2f %.3f\n", r.name, snr(r.a.Spatial, mask), r.a.Temporal)
	}
	fmt.Printf("key frames (optimized): %v\n", staa.KeyFrames(opt.Temporal, 2, 1))

	rows := [][]image.Image{
		tiles(mask, tile), tiles(scaled(raw.Spatial), tile), tiles(opt.Spatial, tile),
	}
	var all []image.Image
	for _, r := range rows {
		all = append(all, r...)
	}
	var top float32
	for _, p := range opt.Temporal {
		top = max(top, p)
	}
	for _, p := range opt.Temporal {
		// One bar per tile, on the scale of the largest, so the row reads as a chart.
		all = append(all, render.Bars([]float32{p, top}, 2*tile, tile, color.RGBA{227, 89, 51, 255}, color.White).SubImage(image.Rect(0, 0, tile, tile)))
	}
	img := render.Grid(all, spec.Frames, 4, color.White)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, "demo.png")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("wrote %s (rows: ground truth, raw rollout, optimized, temporal profile)\n", path)
	return nil
}

// tiles upsamples each frame of v (values in [0, 1]) to size×size heatmaps.
func tiles(v staa.Volume, size int) []image.Image {
	up, err := staa.Upsample(v, size, size)
	if err != nil {
		panic(err) // sizes are ours and valid
	}
	out := make([]image.Image, v.Frames)
	for f := range out {
		out[f] = render.Heatmap(up.Frame(f), size, size)
	}
	return out
}

// scaled divides v by its maximum, for display.
func scaled(v staa.Volume) staa.Volume {
	v = v.Clone()
	var top float32
	for _, x := range v.Data {
		top = max(top, x)
	}
	for i := range v.Data {
		v.Data[i] /= top
	}
	return v
}

// snr is mean attribution inside the mask over mean outside.
func snr(v, mask staa.Volume) float64 {
	var in, out float64
	var nin, nout int
	for i, m := range mask.Data {
		if m > 0 {
			in += float64(v.Data[i])
			nin++
		} else {
			out += float64(v.Data[i])
			nout++
		}
	}
	if nin == 0 || out == 0 {
		return 0
	}
	return (in / float64(nin)) / (out / float64(nout))
}
