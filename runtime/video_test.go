package runtime

import (
	"reflect"
	"testing"
	"unsafe"
)

func TestUniformIndices(t *testing.T) {
	cases := []struct {
		total, frames int
		want          []int
	}{
		{8, 8, []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{16, 4, []int{2, 6, 10, 14}},
		{10, 4, []int{1, 3, 6, 8}},
		{300, 8, []int{18, 56, 93, 131, 168, 206, 243, 281}},
		{3, 6, []int{0, 0, 1, 1, 2, 2}},
		{1, 3, []int{0, 0, 0}},
		{0, 3, nil},
		{5, 0, nil},
	}
	for _, c := range cases {
		if got := UniformIndices(c.total, c.frames); !reflect.DeepEqual(got, c.want) {
			t.Errorf("UniformIndices(%d, %d) = %v, want %v", c.total, c.frames, got, c.want)
		}
	}
}

func TestSlidingWindows(t *testing.T) {
	cases := []struct {
		total, frames, stride int
		want                  [][]int
	}{
		{8, 4, 4, [][]int{{0, 1, 2, 3}, {4, 5, 6, 7}}},
		{8, 4, 2, [][]int{{0, 1, 2, 3}, {2, 3, 4, 5}, {4, 5, 6, 7}}},
		// The last window is moved back to end at the last frame.
		{9, 4, 4, [][]int{{0, 1, 2, 3}, {4, 5, 6, 7}, {5, 6, 7, 8}}},
		{10, 4, 3, [][]int{{0, 1, 2, 3}, {3, 4, 5, 6}, {6, 7, 8, 9}}},
		{4, 4, 1, [][]int{{0, 1, 2, 3}}},
		// Shorter than a window: one window repeating the last frame.
		{2, 4, 1, [][]int{{0, 1, 1, 1}}},
		// stride 0 means no overlap.
		{8, 4, 0, [][]int{{0, 1, 2, 3}, {4, 5, 6, 7}}},
		{0, 4, 1, nil},
	}
	for _, c := range cases {
		if got := SlidingWindows(c.total, c.frames, c.stride); !reflect.DeepEqual(got, c.want) {
			t.Errorf("SlidingWindows(%d, %d, %d) = %v, want %v", c.total, c.frames, c.stride, got, c.want)
		}
	}
	// Every frame of a long video is covered.
	ws := SlidingWindows(300, 8, 5)
	seen := make([]bool, 300)
	for _, w := range ws {
		for _, f := range w {
			seen[f] = true
		}
	}
	for f, ok := range seen {
		if !ok {
			t.Fatalf("frame %d not covered", f)
		}
	}
	if len(ws) != 60 {
		t.Errorf("%d windows, want 60", len(ws))
	}
}

func TestVideoSelect(t *testing.T) {
	v := NewVideo(6, 2, 3)
	for i := range v.Data {
		v.Data[i] = uint8(i / v.FrameBytes()) // each byte holds its frame index
	}
	w, err := v.Select([]int{2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	if w.Frames != 3 || w.Frame(0)[0] != 2 || w.Frame(2)[5] != 4 {
		t.Errorf("consecutive selection: %+v", w.Data)
	}
	if unsafe.SliceData(w.Data) != &v.Data[2*v.FrameBytes()] {
		t.Error("a run of consecutive frames should be a view")
	}
	u, err := v.Select([]int{5, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	if u.Frame(0)[0] != 5 || u.Frame(1)[0] != 0 || u.Frame(2)[17] != 0 || unsafe.SliceData(u.Data) == unsafe.SliceData(v.Data) {
		t.Errorf("gathered selection wrong or shared: %v", u.Data)
	}
	if _, err := v.Select([]int{6}); err == nil {
		t.Error("out-of-range index accepted")
	}
	if _, err := v.Select(nil); err == nil {
		t.Error("empty selection accepted")
	}
	if _, err := (Video{Frames: 2, Height: 2, Width: 2, Data: make([]uint8, 5)}).Select([]int{0}); err == nil {
		t.Error("inconsistent video accepted")
	}
	uni, err := v.Uniform(3)
	if err != nil {
		t.Fatal(err)
	}
	if uni.Frame(0)[0] != 1 || uni.Frame(1)[0] != 3 || uni.Frame(2)[0] != 5 {
		t.Errorf("Uniform(3) frames %d %d %d", uni.Frame(0)[0], uni.Frame(1)[0], uni.Frame(2)[0])
	}
	wins, err := v.Windows(4, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(wins) != 2 || wins[1].Frame(0)[0] != 2 || wins[1].Frame(3)[0] != 5 {
		t.Errorf("Windows(4, 2): %d windows", len(wins))
	}
	if _, err := v.Windows(0, 1); err == nil {
		t.Error("Windows(0) accepted")
	}
}
