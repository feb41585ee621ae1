package render

import "image"

// Shrink reduces src k times in each direction, each output pixel the mean
// of a k×k block (a box filter: no aliasing of fine detail such as the
// dither of a heatmap). Edge blocks that fall partly outside src average
// what is inside. k ≤ 1 returns src itself.
func Shrink(src *image.RGBA, k int) *image.RGBA {
	if k <= 1 {
		return src
	}
	b := src.Bounds()
	w, h := (b.Dx()+k-1)/k, (b.Dy()+k-1)/k
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	sum := make([]int, 4*w)
	cnt := make([]int, w)
	for oy := range h {
		clear(sum)
		clear(cnt)
		for y := oy * k; y < min((oy+1)*k, b.Dy()); y++ {
			row := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < b.Dx(); x++ {
				ox := x / k
				sum[4*ox] += int(row[4*x])
				sum[4*ox+1] += int(row[4*x+1])
				sum[4*ox+2] += int(row[4*x+2])
				sum[4*ox+3] += int(row[4*x+3])
				cnt[ox]++
			}
		}
		drow := out.Pix[out.PixOffset(0, oy):]
		for ox := range w {
			n := cnt[ox]
			for c := range 4 {
				drow[4*ox+c] = uint8((sum[4*ox+c] + n/2) / n)
			}
		}
	}
	return out
}
