package main

import (
	"bufio"
	"fmt"
	"image"
	"image/gif"
	"image/png"
	"math"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"time"

	"github.com/staa-dev/staa/internal/plotting"
	"github.com/staa-dev/staa/internal/progress"
	"github.com/staa-dev/staa/internal/render"
	"github.com/staa-dev/staa/internal/video"
)

// Output file names inside --out.
const (
	fileMP4       = "explain.mp4"
	fileGIF       = "explain.gif"
	fileKeyFrames = "keyframes.png"
	fileProfile   = "profile.png"
	fileJSON      = "explain.json"
)

// outputTimes splits the output stage.
type outputTimes struct {
	render, mp4, gif, png time.Duration
}

// rendered is one output frame, ready for the encoders.
type rendered struct {
	rgb           []byte
	pal           *image.Paletted
	render, quant time.Duration
}

// writeVideos draws every frame and streams it to the MP4 encoder (ffmpeg
// works in its own process meanwhile) and into the GIF. Frames are drawn
// (and quantised for the GIF) by one goroutine per core, at most two per
// core ahead of the encoder, and handed over in order. The GIF's frames are
// shrunk by a box filter to at most gifWidth pixels wide (0: full size).
func writeVideos(dir string, tools *video.Tools, src *source, c combined, comp *composer, fps float64, wantGIF bool, gifWidth int, bar *progress.Bar, rep *OutputsReport) (outputTimes, error) {
	var t outputTimes
	profile := make([]float32, len(c.profile))
	curve := c.profile
	if c.smoothed != nil {
		curve = c.smoothed
	}
	for i, p := range curve {
		profile[i] = float32(p)
	}
	var enc *video.Encoder
	if tools != nil {
		t0 := time.Now()
		var err error
		enc, err = tools.NewEncoder(filepath.Join(dir, fileMP4), comp.outW, comp.outH, fps, video.EncodeOptions{})
		if err != nil {
			return t, err
		}
		defer enc.Abort() // after Close, a no-op
		t.mp4 += time.Since(t0)
	}
	shrink := 1
	if gifWidth > 0 {
		shrink = (comp.outW + gifWidth - 1) / gifWidth
	}

	n := src.video.Frames
	workers := min(goruntime.GOMAXPROCS(0), n)
	slots := make([]chan rendered, n)
	for i := range slots {
		slots[i] = make(chan rendered, 1)
	}
	jobs := make(chan int)
	tokens := make(chan struct{}, 2*workers)
	done := make(chan struct{})
	var wg sync.WaitGroup
	defer func() {
		close(done)
		wg.Wait()
	}()
	go func() {
		defer close(jobs)
		for f := range n {
			select {
			case tokens <- struct{}{}:
			case <-done:
				return
			}
			select {
			case jobs <- f:
			case <-done:
				return
			}
		}
	}()
	for range workers {
		wg.Add(1)
		comp := comp.clone()
		go func() {
			defer wg.Done()
			for f := range jobs {
				var r rendered
				t0 := time.Now()
				img := comp.frame(src.video.Frame(f), c.maps.Frame(f), profile, c.keyFrames, f)
				if enc != nil {
					r.rgb = render.ToRGB(nil, img)
				}
				r.render = time.Since(t0)
				if wantGIF {
					t0 = time.Now()
					r.pal = render.Quantize(render.Shrink(img, shrink), true)
					r.quant = time.Since(t0)
				}
				slots[f] <- r
			}
		}()
	}

	var anim *gif.GIF
	if wantGIF {
		anim = &gif.GIF{LoopCount: 0}
	}
	delay := max(2, int(math.Round(100/fps)))
	for f := range n {
		r := <-slots[f]
		slots[f] = nil
		t.render += r.render
		t.gif += r.quant
		if enc != nil {
			t0 := time.Now()
			if err := enc.WriteFrame(r.rgb); err != nil {
				return t, err
			}
			t.mp4 += time.Since(t0)
		}
		if anim != nil {
			anim.Image = append(anim.Image, r.pal)
			anim.Delay = append(anim.Delay, delay)
		}
		<-tokens
		bar.Add(1)
	}
	bar.Finish()
	// The GIF is compressed while ffmpeg finishes the MP4.
	gifDone := make(chan error, 1)
	if anim != nil {
		go func() {
			t0 := time.Now()
			err := writeFile(filepath.Join(dir, fileGIF), func(w *bufio.Writer) error { return gif.EncodeAll(w, anim) })
			t.gif += time.Since(t0) // before the send: read after the receive
			gifDone <- err
		}()
	}
	var mp4Err error
	if enc != nil {
		t0 := time.Now()
		mp4Err = enc.Close()
		t.mp4 += time.Since(t0)
		rep.MP4, rep.MP4Codec = fileMP4, enc.Codec
	}
	if anim != nil {
		if err := <-gifDone; err != nil {
			return t, err
		}
		rep.GIF = fileGIF
		b := anim.Image[0].Bounds()
		rep.GIFWidth, rep.GIFHeight = b.Dx(), b.Dy()
	}
	if mp4Err != nil {
		return t, mp4Err
	}
	rep.Width, rep.Height, rep.Frames = comp.outW, comp.outH, n
	return t, nil
}

// writeKeyFrames writes the key frames as a grid of captioned tiles (frame
// above, heatmap over it below), at most six a row, with the prediction
// underneath.
func writeKeyFrames(path string, src *source, c combined, comp *composer, caption string) error {
	tiles := make([]image.Image, len(c.keyFrames))
	for i, f := range c.keyFrames {
		tiles[i] = comp.keyFrameTile(src.video.Frame(f), c.maps.Frame(f), f, c.profile[f])
	}
	grid := render.Grid(tiles, min(len(tiles), 6), 8, white)
	img := render.Caption(grid, white, black, caption)
	return writeFile(path, func(w *bufio.Writer) error { return png.Encode(w, img) })
}

// writeProfile plots the temporal profile.
func writeProfile(path, title string, src *source, c combined) error {
	p := plotting.Profile{Title: title, Values: c.profile, Smoothed: c.smoothed, KeyFrames: c.keyFrames, FPS: src.fps}
	if gt := src.truth; gt != nil {
		if first, n := gt.Sample.Window(); n > 0 {
			p.Truth = [][2]int{{first, first + n - 1}}
		}
	}
	return writeFile(path, func(w *bufio.Writer) error { return p.WritePNG(w, 960, 400) })
}

// writeFile writes path through a buffer, removing it on failure.
func writeFile(path string, fill func(*bufio.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = fill(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// listOutputs names the files written, for the summary.
func listOutputs(dir string, r OutputsReport) string {
	var names []string
	for _, n := range []string{r.MP4, r.GIF, r.KeyFrames, r.Profile, r.JSON} {
		if n != "" {
			names = append(names, n)
		}
	}
	return filepath.Join(dir, "{"+strings.Join(names, ", ")+"}")
}
