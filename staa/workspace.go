package staa

import "sync/atomic"

// workspace holds the buffers of one propagation: the per-worker scratch
// and the vectors of propagateDivided and propagateJoint. They are reused
// across calls (getWorkspace): a small clip's attribution made some twenty
// allocations a call, and fresh memory is cold memory besides.
type workspace struct {
	scratches []*scratch
	vecs      [6][]float32
	flags     [2][]bool
}

// spare holds workspaces for reuse. Unlike a sync.Pool it is not emptied
// by garbage collections, which a model's forward pass triggers often (its
// outputs are fresh memory): the attribution right after one would start on
// a new workspace, growing and touching its buffers again.
var spare [4]atomic.Pointer[workspace]

// getWorkspace returns a spare workspace, or a new one.
func getWorkspace() *workspace {
	for i := range spare {
		if ws := spare[i].Swap(nil); ws != nil {
			return ws
		}
	}
	return new(workspace)
}

// putWorkspace keeps ws for reuse if a spare slot is free.
func putWorkspace(ws *workspace) {
	for i := range spare {
		if spare[i].CompareAndSwap(nil, ws) {
			return
		}
	}
}

// scratchFor returns one scratch per worker.
func (ws *workspace) scratchFor(workers int) []*scratch {
	for len(ws.scratches) < max(workers, 1) {
		ws.scratches = append(ws.scratches, newScratch())
	}
	return ws.scratches[:max(workers, 1)]
}

// vec returns the i-th vector of the workspace with n zeros.
func (ws *workspace) vec(i, n int) []float32 { return reuse(&ws.vecs[i], n) }

// buf returns the i-th vector of the workspace with n values left from
// earlier calls: for buffers the caller writes before reading (clearing the
// TimeSformer-base pass's 31 KB each call showed in the profile of Last).
func (ws *workspace) buf(i, n int) []float32 { return grown(&ws.vecs[i], n) }

// flag returns the i-th flag slice of the workspace with n false values.
func (ws *workspace) flag(i, n int) []bool { return reuse(&ws.flags[i], n) }

// reuse returns (*buf)[:n] zeroed, growing *buf first if it is too short.
func reuse[T any](buf *[]T, n int) []T {
	s := grown(buf, n)
	clear(s)
	return s
}

// grown returns (*buf)[:n], growing *buf first if it is too short.
func grown[T any](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n)
	}
	return (*buf)[:n]
}
