package render

import "image"

// ScaleNearest enlarges src k times in each direction by repeating pixels
// (k ≤ 1 returns a copy): small video frames stay sharp for viewing.
func ScaleNearest(src *image.RGBA, k int) *image.RGBA {
	k = max(k, 1)
	b := src.Bounds()
	w := b.Dx()
	out := image.NewRGBA(image.Rect(0, 0, w*k, b.Dy()*k))
	rowBytes := 4 * w * k
	for y := 0; y < b.Dy(); y++ {
		srow := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
		first := out.Pix[out.PixOffset(0, y*k) : out.PixOffset(0, y*k)+rowBytes]
		for x := 0; x < w; x++ {
			px := srow[4*x : 4*x+4]
			d := first[4*x*k : 4*(x+1)*k]
			for c := 0; c < len(d); c += 4 {
				d[c], d[c+1], d[c+2], d[c+3] = px[0], px[1], px[2], px[3]
			}
		}
		for r := 1; r < k; r++ {
			copy(out.Pix[out.PixOffset(0, y*k+r):], first)
		}
	}
	return out
}
