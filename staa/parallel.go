package staa

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// workers returns how many goroutines to use for o.
func (o Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// parallelFor calls fn(w, i) for i in [0, n) on up to workers goroutines; w
// is the goroutine's index in [0, workers), so that fn can use per-goroutine
// scratch. Which goroutine handles which i never changes a result: callers
// only write to outputs owned by i.
//
// A panic in fn is re-raised on the calling goroutine, where the C boundary
// can recover it; a panic left on a worker goroutine would kill the process.
func parallelFor(n, workers int, fn func(w, i int)) {
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		for i := 0; i < n; i++ {
			fn(0, i)
		}
		return
	}
	var (
		wg      sync.WaitGroup
		next    atomic.Int64
		panicMu sync.Mutex
		caught  any
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					panicMu.Lock()
					if caught == nil {
						caught = r
					}
					panicMu.Unlock()
				}
			}()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(w, i)
			}
		}(w)
	}
	wg.Wait()
	if caught != nil {
		panic(fmt.Sprintf("staa: worker panic: %v", caught))
	}
}
