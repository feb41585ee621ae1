package progress

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// fakeClock advances by step on every call.
type fakeClock struct {
	t    time.Time
	step time.Duration
}

func (c *fakeClock) now() time.Time { c.t = c.t.Add(c.step); return c.t }

func TestBarRenders(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Unix(0, 0), step: 250 * time.Millisecond}
	b := &Bar{Label: "explain", Total: 4, Unit: "windows", Width: 8, w: &buf, now: clk.now}
	b.start = clk.now()
	for range 4 {
		b.Add(1)
	}
	b.Finish()
	out := buf.String()
	lines := strings.Split(out, "\r")
	if len(lines) < 3 {
		t.Fatalf("want a redraw per step, got %q", out)
	}
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("Finish does not end the line: %q", out)
	}
	first := lines[1]
	if !strings.HasPrefix(first, "explain [==>     ] 1/4 windows") {
		t.Errorf("first draw %q", first)
	}
	if !strings.Contains(first, "ETA ") || !strings.Contains(first, "/s") {
		t.Errorf("first draw lacks rate or ETA: %q", first)
	}
	last := strings.TrimRight(lines[len(lines)-1], "\n")
	if !strings.HasPrefix(last, "explain [========] 4/4 windows") || !strings.Contains(last, " in ") {
		t.Errorf("last draw %q", last)
	}
}

func TestBarThrottles(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Unix(0, 0), step: time.Millisecond}
	b := &Bar{Total: 1000, w: &buf, now: clk.now}
	b.start = clk.now()
	for range 999 {
		b.Add(1)
	}
	// 1 ms per step, 100 ms between draws: about 10 draws, not 999.
	if n := strings.Count(buf.String(), "\r"); n < 5 || n > 15 {
		t.Errorf("%d redraws for 999 steps", n)
	}
	b.Add(1) // the last step always draws
	if !strings.Contains(buf.String()[strings.LastIndex(buf.String(), "\r"):], "1000/1000") {
		t.Errorf("final step not drawn: %q", buf.String()[strings.LastIndex(buf.String(), "\r"):])
	}
}

func TestBarShorterLineIsBlanked(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Unix(0, 0), step: time.Second}
	b := &Bar{Total: 0, Unit: "frames", w: &buf, now: clk.now}
	b.start = clk.now()
	b.Add(100000) // long rate
	b.Add(1)
	parts := strings.Split(buf.String(), "\r")
	if len([]rune(parts[2])) < len([]rune(parts[1])) {
		t.Errorf("a shorter line leaves the old one's tail: %q then %q", parts[1], parts[2])
	}
}

func TestNilBar(t *testing.T) {
	var b *Bar
	b.Add(3)
	b.Finish() // no panic
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a regular file is a terminal")
	}
	if IsTerminal(nil) {
		t.Error("nil is a terminal")
	}
	if null, err := os.Open(os.DevNull); err == nil {
		defer null.Close()
		if IsTerminal(null) {
			t.Error("/dev/null is a terminal")
		}
	}
}

func TestBarDelay(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Unix(0, 0), step: 100 * time.Millisecond}
	b := &Bar{Total: 3, Delay: time.Second, w: &buf, now: clk.now}
	b.start = clk.now()
	b.Add(1)
	b.Add(1)
	b.Add(1)
	b.Finish()
	if buf.Len() != 0 {
		t.Errorf("a run shorter than Delay drew %q", buf.String())
	}
	buf.Reset()
	b = &Bar{Total: 20, Delay: time.Second, w: &buf, now: clk.now}
	b.start = clk.now()
	for range 20 {
		b.Add(1)
	}
	b.Finish()
	if !strings.Contains(buf.String(), "20/20") || strings.Count(buf.String(), "\r") > 12 {
		t.Errorf("a long run: %q", buf.String())
	}
}
