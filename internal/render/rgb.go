package render

import "image"

// FromRGB returns an image of the w×h frame rgb (3 bytes a pixel, rows top
// to bottom: ffmpeg's rgb24, runtime.Video's frames).
func FromRGB(rgb []byte, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i, o := 0, 0; i+2 < len(rgb) && o < len(img.Pix); i, o = i+3, o+4 {
		img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = rgb[i], rgb[i+1], rgb[i+2], 255
	}
	return img
}

// ToRGB writes img's pixels into dst as rgb24 (alpha dropped) and returns
// it, grown when too short.
func ToRGB(dst []byte, img *image.RGBA) []byte {
	b := img.Bounds()
	n := b.Dx() * b.Dy() * 3
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	o := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := img.Pix[img.PixOffset(b.Min.X, y):]
		for x := 0; x < b.Dx(); x++ {
			dst[o], dst[o+1], dst[o+2] = row[4*x], row[4*x+1], row[4*x+2]
			o += 3
		}
	}
	return dst
}
