package video

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Info describes the first video stream of a file, as ffprobe sees it.
type Info struct {
	// Width and Height are the displayed frame size in pixels: the coded
	// size, swapped for a stream rotated by ±90° (ffmpeg rotates frames
	// when decoding).
	Width, Height int
	// FPS is the average frame rate (0 when ffprobe does not know it).
	FPS float64
	// Frames is the frame count the container declares, 0 when it does not
	// (Matroska, WebM, raw streams): decoding counts them.
	Frames int
	// Duration is in seconds, 0 when unknown.
	Duration float64
	// Codec is the stream's codec name (h264, mpeg4, …); Format the
	// container's names.
	Codec, Format string
	// Rotation is the display rotation in degrees, as stored.
	Rotation int
}

type probeJSON struct {
	Streams []struct {
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		AvgFrameRate string `json:"avg_frame_rate"`
		RFrameRate   string `json:"r_frame_rate"`
		NbFrames     string `json:"nb_frames"`
		Duration     string `json:"duration"`
		Tags         struct {
			Rotate string `json:"rotate"`
		} `json:"tags"`
		SideData []struct {
			Rotation *float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
	Format struct {
		Name     string `json:"format_name"`
		Duration string `json:"duration"`
	} `json:"format"`
}

// Probe returns the first video stream's description. Missing files,
// directories, files ffprobe cannot read and files without a video stream
// are errors naming the file.
func (t Tools) Probe(path string) (Info, error) {
	if err := checkReadable(path); err != nil {
		return Info{}, err
	}
	cmd := exec.Command(t.FFprobe, "-v", "error", "-select_streams", "v:0",
		"-show_entries", "stream=codec_type,codec_name,width,height,avg_frame_rate,r_frame_rate,nb_frames,duration:stream_tags=rotate:stream_side_data=rotation:format=format_name,duration",
		"-of", "json", "--", path)
	var stderr stderrTail
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := stderr.String()
		if msg == "" {
			msg = err.Error()
		}
		return Info{}, fmt.Errorf("cannot read video %s: ffprobe: %s", path, msg)
	}
	var p probeJSON
	if err := json.Unmarshal(out, &p); err != nil {
		return Info{}, fmt.Errorf("cannot read video %s: ffprobe printed unexpected output: %v", path, err)
	}
	if len(p.Streams) == 0 || p.Streams[0].Width <= 0 || p.Streams[0].Height <= 0 {
		return Info{}, fmt.Errorf("cannot read video %s: it has no video stream (container %q)", path, p.Format.Name)
	}
	s := p.Streams[0]
	info := Info{Width: s.Width, Height: s.Height, Codec: s.CodecName, Format: p.Format.Name}
	info.FPS = rate(s.AvgFrameRate)
	if info.FPS == 0 {
		info.FPS = rate(s.RFrameRate)
	}
	info.Frames, _ = strconv.Atoi(s.NbFrames)
	if info.Duration, _ = strconv.ParseFloat(s.Duration, 64); info.Duration == 0 {
		info.Duration, _ = strconv.ParseFloat(p.Format.Duration, 64)
	}
	if r, err := strconv.Atoi(s.Tags.Rotate); err == nil {
		info.Rotation = r
	}
	for _, sd := range s.SideData {
		if sd.Rotation != nil {
			info.Rotation = int(math.Round(*sd.Rotation))
		}
	}
	if r := ((info.Rotation % 360) + 360) % 360; r == 90 || r == 270 {
		info.Width, info.Height = info.Height, info.Width
	}
	return info, nil
}

// rate parses an ffprobe rational ("30000/1001") or number; 0 when unknown.
func rate(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n <= 0 || math.IsInf(n, 0) {
		return 0
	}
	if !ok {
		return n
	}
	d, err := strconv.ParseFloat(den, 64)
	if err != nil || d <= 0 {
		return 0
	}
	return n / d
}

// checkReadable turns the common failures into plain messages before ffprobe
// is run.
func checkReadable(path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("video file not found: %s", path)
	case err != nil:
		return fmt.Errorf("cannot read video %s: %v", path, err)
	case st.IsDir():
		return fmt.Errorf("cannot read video %s: is a directory", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot read video %s: %v", path, err)
	}
	f.Close()
	if st.Size() == 0 {
		return fmt.Errorf("cannot read video %s: the file is empty", path)
	}
	return nil
}
