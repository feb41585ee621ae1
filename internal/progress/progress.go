// Package progress draws a one-line progress bar on a terminal, with the
// standard library only:
//
//	explain [==========>             ]  31/74 windows  12.4/s  ETA 3s
//
// The line is redrawn in place with a carriage return, at most every
// Interval (and always at the end), so a fast loop does not flood the
// terminal. A nil *Bar is valid and draws nothing, so callers need no checks
// when the bar is off.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Bar is a progress bar over Total steps. Its methods are safe for
// concurrent use.
type Bar struct {
	// Label is printed first; Unit after the counts ("windows").
	Label, Unit string
	// Total is the number of steps; 0 or less draws a counter without a bar.
	Total int
	// Width is the bar's width in characters (default 30).
	Width int
	// Interval is the shortest time between redraws (default 100 ms).
	Interval time.Duration
	// Delay holds the bar back until that much time has passed since New:
	// a step that ends sooner leaves no trace, so only long runs show a bar.
	Delay time.Duration

	w     io.Writer
	now   func() time.Time // the clock, replaced in tests
	mu    sync.Mutex
	done  int
	start time.Time
	last  time.Time // last redraw
	drawn int       // length of the last line drawn, to blank leftovers (0: nothing drawn)
	shown int       // done at the last draw
	ended bool
}

// New returns a bar that draws on w, started now.
func New(w io.Writer, label string, total int, unit string) *Bar {
	b := &Bar{Label: label, Total: total, Unit: unit, w: w, now: time.Now}
	b.start = b.now()
	return b
}

// Add advances the bar by n steps and redraws it if Interval has passed.
func (b *Bar) Add(n int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	t := b.now()
	if t.Sub(b.start) < b.Delay {
		return
	}
	if b.done >= b.Total && b.Total > 0 || t.Sub(b.last) >= b.interval() {
		b.last = t
		b.draw(t)
	}
}

// Finish draws the final state and ends the line, unless the bar was still
// held back by Delay (then it prints nothing). Later calls do nothing.
func (b *Bar) Finish() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ended {
		return
	}
	b.ended = true
	if b.drawn == 0 && b.now().Sub(b.start) < b.Delay {
		return
	}
	if b.drawn == 0 || b.shown != b.done {
		b.draw(b.now())
	}
	fmt.Fprintln(b.w)
}

func (b *Bar) interval() time.Duration {
	if b.Interval > 0 {
		return b.Interval
	}
	return 100 * time.Millisecond
}

// Line returns the text of the bar as it would be drawn now.
func (b *Bar) Line() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.line(b.now())
}

func (b *Bar) draw(t time.Time) {
	s := b.line(t)
	pad := ""
	if n := len([]rune(s)); n < b.drawn {
		pad = strings.Repeat(" ", b.drawn-n)
	}
	b.drawn = len([]rune(s))
	b.shown = b.done
	fmt.Fprint(b.w, "\r"+s+pad)
}

func (b *Bar) line(t time.Time) string {
	var sb strings.Builder
	if b.Label != "" {
		sb.WriteString(b.Label)
		sb.WriteByte(' ')
	}
	elapsed := t.Sub(b.start)
	done := b.done
	if b.Total > 0 {
		done = min(done, b.Total)
		width := b.Width
		if width <= 0 {
			width = 30
		}
		fill := done * width / b.Total
		sb.WriteByte('[')
		sb.WriteString(strings.Repeat("=", fill))
		if fill < width {
			sb.WriteByte('>')
			sb.WriteString(strings.Repeat(" ", width-fill-1))
		}
		sb.WriteString("] ")
		fmt.Fprintf(&sb, "%*d/%d", len(fmt.Sprint(b.Total)), done, b.Total)
	} else {
		fmt.Fprintf(&sb, "%d", done)
	}
	if b.Unit != "" {
		sb.WriteString(" " + b.Unit)
	}
	if s := elapsed.Seconds(); s > 0 && done > 0 {
		rate := float64(done) / s
		fmt.Fprintf(&sb, "  %.1f/s", rate)
		if b.Total > 0 && done < b.Total {
			eta := time.Duration(float64(b.Total-done) / rate * float64(time.Second))
			sb.WriteString("  ETA " + round(eta).String())
		} else if b.Total > 0 {
			sb.WriteString("  in " + round(elapsed).String())
		}
	}
	return sb.String()
}

// round keeps two significant parts of a duration for display.
func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	default:
		return d.Round(time.Millisecond)
	}
}

// IsTerminal reports whether f is a terminal (a character device), without
// any dependency: /dev/null is a character device too, but nobody watches
// it, so callers pass os.Stderr and accept that corner.
func IsTerminal(f *os.File) bool {
	if f == nil {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && f.Name() != os.DevNull
}
