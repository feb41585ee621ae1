package main

import (
	"fmt"
	"time"

	"github.com/staa-dev/staa/runtime"
)

// Report is explain.json.
type Report struct {
	Version string       `json:"staa_version"`
	Model   ModelReport  `json:"model"`
	Video   VideoReport  `json:"video"`
	Options OptionReport `json:"options"`
	// Prediction and TopK are over the whole video: the classes ranked by
	// their probability averaged over the windows.
	Prediction LabelReport   `json:"prediction"`
	TopK       []LabelReport `json:"top_k"`
	// TemporalProfile is P[f] for every frame of the video (sums to 1).
	TemporalProfile []float64 `json:"temporal_profile"`
	// TemporalProfileSmoothed is its Savitzky–Golay fit (long videos only).
	TemporalProfileSmoothed []float64        `json:"temporal_profile_smoothed,omitempty"`
	Smoothing               *SmoothingReport `json:"smoothing,omitempty"`
	KeyFrames               []int            `json:"key_frames"`
	Windows                 []WindowReport   `json:"windows"`
	// GroundTruth is set for generated clips.
	GroundTruth *TruthReport  `json:"ground_truth,omitempty"`
	Timings     TimingReport  `json:"timings"`
	Outputs     OutputsReport `json:"outputs"`
}

type ModelReport struct {
	Path              string   `json:"path"`
	Type              string   `json:"type,omitempty"`
	Layout            string   `json:"layout"`
	Frames            int      `json:"frames"`
	FrameSize         [2]int   `json:"frame_size"` // [height, width]
	Grid              [2]int   `json:"grid"`       // [h, w] patches
	Layers            int      `json:"layers"`
	Heads             int      `json:"heads"`
	Classes           []string `json:"classes"`
	TemporalAttention bool     `json:"temporal_attention"`
}

type VideoReport struct {
	// Source is "file" or "synth" (a generated clip).
	Source string `json:"source"`
	Path   string `json:"path,omitempty"`
	// Width, Height and Frames are the frames explained (after any
	// downscaling at decode).
	Width  int     `json:"width"`
	Height int     `json:"height"`
	Frames int     `json:"frames"`
	FPS    float64 `json:"fps"`
	// The stream as stored, for files.
	Codec        string `json:"codec,omitempty"`
	SourceWidth  int    `json:"source_width,omitempty"`
	SourceHeight int    `json:"source_height,omitempty"`
}

type OptionReport struct {
	Method      string `json:"method"`
	Postprocess string `json:"postprocess"`
	// Sampling is "sliding" (windows every Stride frames) or "uniform" (one
	// window over a video shorter than the model's frames).
	Sampling  string  `json:"sampling"`
	Stride    int     `json:"stride"`
	Batch     int     `json:"batch"`
	TopK      int     `json:"top_k"`
	KeyFrames int     `json:"key_frames"`
	EMAAlpha  float64 `json:"ema_alpha"`
}

type LabelReport struct {
	Index       int     `json:"index"`
	Label       string  `json:"label"`
	Probability float64 `json:"probability"`
	Logit       float64 `json:"logit,omitempty"`
}

type WindowReport struct {
	Index int `json:"index"`
	// Start and End are the first and last video frames of the window;
	// Frames lists the video frame at each of its positions.
	Start      int           `json:"start"`
	End        int           `json:"end"`
	Frames     []int         `json:"frames"`
	Prediction LabelReport   `json:"prediction"`
	TopK       []LabelReport `json:"top_k"`
	// TemporalProfile is the window's own P over its positions.
	TemporalProfile []float32 `json:"temporal_profile"`
	LatencyMS       float64   `json:"latency_ms"`
}

type SmoothingReport struct {
	Method string `json:"method"`
	Window int    `json:"window"`
	Order  int    `json:"order"`
}

// TruthReport compares the explanation with what the generator knows.
type TruthReport struct {
	Seed  uint64 `json:"seed"`
	Index int    `json:"index"`
	Label int    `json:"label"`
	Class string `json:"class"`
	// VisibleFrames are the frames where the target is drawn.
	VisibleFrames []int `json:"visible_frames"`
	Correct       bool  `json:"correct"`
	// TemporalMass is the share of P on the visible frames.
	TemporalMass float64 `json:"temporal_mass_on_visible"`
	// Energy is the share of the maps' mass inside the target's mask, and
	// Pointing the fraction of visible frames whose map peaks inside it
	// (maps upsampled to pixels).
	Energy   float64 `json:"energy_in_mask"`
	Pointing float64 `json:"pointing_game"`
	// MaskArea is the mean fraction of a visible frame the target covers:
	// the energy a uniform map would have.
	MaskArea float64 `json:"mask_area"`
}

type TimingReport struct {
	DecodeMS      float64 `json:"decode_ms"`
	PreprocessMS  float64 `json:"preprocess_ms"`
	ForwardMS     float64 `json:"forward_ms"`
	AttributionMS float64 `json:"attribution_ms"`
	CombineMS     float64 `json:"combine_ms"`
	// EncodeMS is the wall time of the whole output stage: drawing the
	// frames and writing the MP4, the GIF and the PNGs. The frames are drawn
	// on every core while ffmpeg encodes, so the parts below (summed over
	// the goroutines: RenderMS drawing, EncodeGIFMS quantising and writing
	// the GIF; EncodeMP4MS the time spent handing frames to ffmpeg and
	// waiting for it) add up to more than EncodeMS.
	EncodeMS    float64 `json:"encode_ms"`
	RenderMS    float64 `json:"render_ms"`
	EncodeMP4MS float64 `json:"encode_mp4_ms"`
	EncodeGIFMS float64 `json:"encode_gif_ms"`
	EncodePNGMS float64 `json:"encode_png_ms"`
	TotalMS     float64 `json:"total_ms"`
	// Window latency: one Explain call per window (preprocess, forward,
	// attribution), divided by the batch size.
	WindowMedianMS float64 `json:"window_median_ms"`
	WindowP99MS    float64 `json:"window_p99_ms"`
	WindowMaxMS    float64 `json:"window_max_ms"`
	// FramesPerSecond is video frames over the total time; ExplainFPS over
	// the time of the Explain calls alone.
	FramesPerSecond float64 `json:"frames_per_second"`
	ExplainFPS      float64 `json:"explain_frames_per_second"`
}

type OutputsReport struct {
	MP4       string `json:"mp4,omitempty"`
	MP4Codec  string `json:"mp4_codec,omitempty"`
	GIF       string `json:"gif,omitempty"`
	KeyFrames string `json:"key_frames_png"`
	Profile   string `json:"profile_png"`
	JSON      string `json:"json"`
	// Width, Height and Frames are those of the MP4's frames (and of the
	// GIF's, whose size is GIFWidth×GIFHeight: shrunk when wide).
	Width     int `json:"width"`
	Height    int `json:"height"`
	Frames    int `json:"frames"`
	GIFWidth  int `json:"gif_width,omitempty"`
	GIFHeight int `json:"gif_height,omitempty"`
}

func labelReport(l runtime.Label) LabelReport {
	return LabelReport{Index: l.Index, Label: l.Name, Probability: float64(l.Probability), Logit: float64(l.Logit)}
}

func labelReports(ls []runtime.Label) []LabelReport {
	out := make([]LabelReport, len(ls))
	for i, l := range ls {
		out[i] = labelReport(l)
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }

func fmtFrame(f int) string { return fmt.Sprintf("frame %d", f) }

func fmtWeight(p float64) string { return fmt.Sprintf("P %.3g", p) }
