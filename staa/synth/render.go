package synth

// Shapes of the objects.
type shape int

const (
	disc shape = iota
	square
	diamond
	triangle
	ring
	numShapes
)

// inside reports whether the offset (dx, dy) from the centre of an object of
// half-size r lies in the shape.
func (s shape) inside(dx, dy, r int) bool {
	switch s {
	case disc:
		return dx*dx+dy*dy <= r*r+r
	case square:
		return dx >= 1-r && dx <= r-1 && dy >= 1-r && dy <= r-1
	case diamond:
		return abs(dx)+abs(dy) <= r+1
	case triangle: // apex up
		return dy >= -r && dy <= r && 2*abs(dx) <= dy+r
	case ring:
		d := dx*dx + dy*dy
		return d <= r*r+r && 9*d >= 4*r*r
	}
	return false
}

type rgb [3]int

// hsv returns the colour of hue h (degrees, any integer), saturation s and
// value v in [0, 255], in integer arithmetic.
func hsv(h, s, v int) rgb {
	h = ((h % 360) + 360) % 360
	c := v * s / 255
	x := c * (60 - abs(h%120-60)) / 60
	m := v - c
	var r, g, b int
	switch h / 60 {
	case 0:
		r, g, b = c, x, 0
	case 1:
		r, g, b = x, c, 0
	case 2:
		r, g, b = 0, c, x
	case 3:
		r, g, b = 0, x, c
	case 4:
		r, g, b = x, 0, c
	default:
		r, g, b = c, 0, x
	}
	return rgb{r + m, g + m, b + m}
}

// targetColour draws the colour of the target (and of the decoy): red.
func targetColour(r *rng) rgb {
	return hsv(r.between(-10, 10), r.between(210, 255), r.between(190, 255))
}

// distractorColour draws a colour at least 50° of hue away from red.
func distractorColour(r *rng) rgb {
	return hsv(r.between(50, 310), r.between(120, 255), r.between(140, 255))
}

// object is a moving shape; its centre in frame f is pos[f].
type object struct {
	shape  shape
	radius int
	colour rgb
	pos    [][2]int // centre (x, y) per frame
	first  int      // visible frames: [first, first+n)
	n      int
}

func (ob *object) visible(f int) bool { return f >= ob.first && f < ob.first+ob.n }

// render renders sample i; withTarget false leaves the target out (for tests).
func (o Options) render(seed uint64, i int, withTarget bool) Sample {
	F, H, W := o.Frames, o.Height, o.Width
	key := derive(seed, uint64(i))
	label := Label(seed, i)

	bg := o.background(newRNG(derive(key, keyBackground)))
	dist := o.distractors(newRNG(derive(key, keyDistractors)))
	target := o.target(newRNG(derive(key, keyTarget)), label)

	s := Sample{
		Index:   i,
		Label:   label,
		Clip:    make([]byte, F*H*W*3),
		Mask:    make([]byte, F*H*W),
		Visible: make([]bool, F),
	}
	for f := range F {
		s.Visible[f] = target.visible(f)
	}
	noise := newRNG(derive(key, keyNoise))
	frame := make([]int, H*W*3)
	for f := range F {
		copy(frame, bg)
		for k := range dist {
			if dist[k].visible(f) {
				dist[k].draw(frame, nil, f, H, W)
			}
		}
		if withTarget && target.visible(f) {
			target.draw(frame, s.Mask[f*H*W:(f+1)*H*W], f, H, W)
		}
		o.finish(noise, frame, s.Clip[f*H*W*3:(f+1)*H*W*3])
	}
	return s
}

// draw paints ob's frame-f position into frame ([H, W, 3]) and sets mask
// ([H, W]) to 1 on its pixels when mask is not nil.
func (ob *object) draw(frame []int, mask []byte, f, H, W int) {
	cx, cy, r := ob.pos[f][0], ob.pos[f][1], ob.radius
	for y := max(0, cy-r); y <= min(H-1, cy+r); y++ {
		for x := max(0, cx-r); x <= min(W-1, cx+r); x++ {
			if !ob.shape.inside(x-cx, y-cy, r) {
				continue
			}
			p := y*W + x
			frame[3*p], frame[3*p+1], frame[3*p+2] = ob.colour[0], ob.colour[1], ob.colour[2]
			if mask != nil {
				mask[p] = 1
			}
		}
	}
}

// finish adds the frame's flicker and pixel noise to frame and writes it,
// clamped to [0, 255], into out.
func (o Options) finish(r *rng, frame []int, out []byte) {
	flicker := r.between(-o.Flicker, o.Flicker)
	a := o.Noise
	span := uint64(2*a + 1)
	for k, v := range frame {
		v += flicker
		if a > 0 {
			// Three uniform draws on [−a, a] from one 64-bit value (21 bits
			// each; the modulo bias is below 2⁻¹⁴).
			z := r.next()
			v += int((z&0x1fffff)%span) + int((z>>21&0x1fffff)%span) + int((z>>42&0x1fffff)%span) - 3*a
		}
		out[k] = byte(min(255, max(0, v)))
	}
}

// background returns a static [H, W, 3] texture: a tinted grey, two octaves
// of value noise (mostly luminance) and, in half of the clips, stripes.
func (o Options) background(r *rng) []int {
	H, W := o.Height, o.Width
	grey := r.between(60, 180)
	var base rgb
	for c := range base {
		base[c] = grey + r.between(-20, 20)
	}
	out := make([]int, H*W*3)
	for y := range H {
		for x := range W {
			p := 3 * (y*W + x)
			out[p], out[p+1], out[p+2] = base[0], base[1], base[2]
		}
	}
	side := min(H, W)
	tx := o.Texture
	valueNoise(r, out, H, W, max(4, side/4), 36*tx/100, 10*tx/100)
	valueNoise(r, out, H, W, max(2, side/8), 16*tx/100, 6*tx/100)
	if r.chance(500) {
		period := r.between(max(2, side/16), max(3, side*3/16))
		ax, ay := r.between(-1, 1), r.between(-1, 1)
		if ax == 0 && ay == 0 {
			ax = 1
		}
		amp := r.between(6, 14) * tx / 100
		off := (H + W) * period // keeps the numerator positive
		for y := range H {
			for x := range W {
				d := amp
				if ((ax*x+ay*y+off)/period)%2 == 1 {
					d = -amp
				}
				p := 3 * (y*W + x)
				out[p] += d
				out[p+1] += d
				out[p+2] += d
			}
		}
	}
	return out
}

// valueNoise adds bilinearly interpolated random values on a grid of the
// given cell size: a luminance part in [−lum, lum] and a per-channel part in
// [−chroma, chroma].
func valueNoise(r *rng, out []int, H, W, cell, lum, chroma int) {
	gh, gw := H/cell+2, W/cell+2
	grid := make([]rgb, gh*gw)
	for k := range grid {
		l := r.between(-lum, lum)
		for c := range 3 {
			grid[k][c] = l + r.between(-chroma, chroma)
		}
	}
	den := cell * cell
	for y := range H {
		gy, fy := y/cell, y%cell
		for x := range W {
			gx, fx := x/cell, x%cell
			v00, v01 := grid[gy*gw+gx], grid[gy*gw+gx+1]
			v10, v11 := grid[(gy+1)*gw+gx], grid[(gy+1)*gw+gx+1]
			p := 3 * (y*W + x)
			for c := range 3 {
				s := v00[c]*(cell-fx)*(cell-fy) + v01[c]*fx*(cell-fy) + v10[c]*(cell-fx)*fy + v11[c]*fx*fy
				out[p+c] += s / den
			}
		}
	}
}

// window draws a contiguous window of between lo and hi frames out of F.
func window(r *rng, F, lo, hi int) (first, n int) {
	n = r.between(lo, hi)
	return r.between(0, F-n), n
}

// target places the target: a red disc moving in the class direction at
// MinSpeed…MaxSpeed pixels per frame, with a sideways drift of at most one pixel per
// frame, entirely inside the frame while it is visible.
func (o Options) target(r *rng, label Class) object {
	F, H, W := o.Frames, o.Height, o.Width
	ob := object{shape: disc, radius: r.between(o.MinRadius, o.MaxRadius), colour: targetColour(r)}
	ob.first, ob.n = window(r, F, o.MinVisible, o.MaxVisible)
	speed := r.between(o.MinSpeed, o.MaxSpeed)
	drift := 0
	if speed >= 2 {
		drift = r.between(-1, 1)
	}
	dx, dy := label.direction()
	vx, vy := dx*speed+dy*drift, dy*speed+dx*drift
	steps := ob.n - 1
	// The largest speed that keeps the disc inside (Validate guarantees ≥ MinSpeed).
	if room := min(H, W) - 1 - 2*ob.radius; steps > 0 && speed*steps > room {
		speed = room / steps
		vx, vy = dx*speed+dy*drift, dy*speed+dx*drift
	}
	x0 := startCoord(r, W, ob.radius, vx*steps)
	y0 := startCoord(r, H, ob.radius, vy*steps)
	ob.pos = make([][2]int, F)
	for f := range F {
		k := f - ob.first
		ob.pos[f] = [2]int{x0 + vx*k, y0 + vy*k}
	}
	return ob
}

// startCoord draws a start coordinate in [r, n−1−r] such that moving by
// travel keeps the object within the same range.
func startCoord(rg *rng, n, r, travel int) int {
	lo, hi := r, n-1-r
	if travel > 0 {
		hi -= travel
	} else {
		lo -= travel
	}
	if hi < lo { // cannot happen after the checks of target; stay in range
		hi = lo
	}
	return rg.between(lo, hi)
}

// distractors draws the distractors (and the decoy): shapes in other colours
// moving like the target, bouncing off the borders, visible throughout or in
// a window of their own.
func (o Options) distractors(r *rng) []object {
	F, H, W := o.Frames, o.Height, o.Width
	n := r.between(o.MinDistractors, o.MaxDistractors)
	decoy := r.chance(o.DecoyPermille)
	if decoy {
		n++
	}
	obs := make([]object, n)
	for k := range obs {
		ob := object{radius: r.between(o.MinRadius, o.MaxRadius)}
		if decoy && k == 0 {
			ob.shape, ob.colour = square, targetColour(r)
		} else {
			ob.shape, ob.colour = shape(r.intn(int(numShapes))), distractorColour(r)
		}
		if r.chance(500) {
			ob.first, ob.n = window(r, F, o.MinVisible, F)
		} else {
			ob.first, ob.n = 0, F
		}
		speed := r.between(o.MinSpeed, o.MaxSpeed)
		drift := 0
		if speed >= 2 {
			drift = r.between(-1, 1)
		}
		dx, dy := Class(r.intn(NumClasses)).direction()
		vx, vy := dx*speed+dy*drift, dy*speed+dx*drift
		x, y := r.between(ob.radius, W-1-ob.radius), r.between(ob.radius, H-1-ob.radius)
		ob.pos = make([][2]int, F)
		for f := range F {
			ob.pos[f] = [2]int{x, y}
			x, vx = bounce(x+vx, vx, ob.radius, W-1-ob.radius)
			y, vy = bounce(y+vy, vy, ob.radius, H-1-ob.radius)
		}
		obs[k] = ob
	}
	return obs
}

// bounce reflects p into [lo, hi], reversing v when it hits a border.
func bounce(p, v, lo, hi int) (int, int) {
	if p < lo {
		return min(hi, 2*lo-p), -v
	}
	if p > hi {
		return max(lo, 2*hi-p), -v
	}
	return p, v
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
