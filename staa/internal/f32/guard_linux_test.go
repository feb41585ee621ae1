package f32

import (
	"syscall"
	"testing"
	"unsafe"
)

// TestGuardPage runs the kernels on slices that end at a page followed by
// an inaccessible one: a load or store past the end (say a full vector for
// the last n mod 8 elements) would crash the test.
func TestGuardPage(t *testing.T) {
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skip("mmap:", err)
	}
	defer syscall.Munmap(mem)
	if err := syscall.Mprotect(mem[page:], syscall.PROT_NONE); err != nil {
		t.Skip("mprotect:", err)
	}
	all := unsafe.Slice((*float32)(unsafe.Pointer(&mem[0])), page/4)
	paths(t, func(t *testing.T) {
		for _, n := range []int{1, 3, 7, 9, 15, 33, 197} {
			x := all[len(all)-n:] // ends at the guard page
			for i := range x {
				x[i] = 1
			}
			if s := Sum(x); s != float32(n) {
				t.Fatalf("Sum of %d ones = %v", n, s)
			}
			dst := all[len(all)-n:]
			src := all[len(all)-4*n : len(all)-n]
			for i := range src {
				src[i] = 1
			}
			if s := SumRows(dst, src, 3, n); s != float32(3*n) {
				t.Fatalf("SumRows of 3×%d ones = %v", n, s)
			}
			Axpy(2, all[:n], x)
			block := all[len(all)-3*n:] // 3 rows ending at the guard page
			for i := range block {
				block[i] = 1
			}
			sums := make([]float32, 3)
			SumEach(sums, block, n)
			if sums[0] != float32(n) || sums[1] != float32(n) || sums[2] != float32(n) {
				t.Fatalf("SumEach of 3 rows of %d ones: %v", n, sums)
			}
			if n <= 64 { // weights of n rows: v, sums, coef and diag all end at the guard page
				w := all[len(all)-n:]
				if !RolloutWeights(w, w, w, w, 1, 0.5, 0.5, 0.5) {
					t.Fatalf("RolloutWeights of %d rows: not finite", n)
				}
				for i := range block {
					block[i] = 1
				}
			}
			AxpyRows(block[2*n:], []float32{1, 1}, block, block[:n])
			if s := Sum(block[2*n:]); s != float32(4*n) {
				t.Fatalf("AxpyRows of 2 rows of %d ones into ones, plus ones: sum %v", n, s)
			}
			for _, rows := range []int{1, 2} {
				h := unsafe.Slice((*uint16)(unsafe.Pointer(&mem[page-2*rows*n])), rows*n)
				for i := range h {
					h[i] = 0x3c00 // 1
				}
				wide := make([]float32, rows*n)
				FromHalfRows(wide, h, n, rows, n)
				if s := Sum(wide); s != float32(rows*n) {
					t.Fatalf("FromHalfRows of %d ones: sum %v", rows*n, s)
				}
			}
		}
	})
}
