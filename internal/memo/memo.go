// Package memo is a bounded table of results worth remembering: the C ABI's
// parsers keep what they parsed for the few documents callers repeat.
package memo

import (
	"sync"
	"sync/atomic"
)

// Table maps keys to values, safe for concurrent use. It remembers at most
// Max entries; past that, Store drops new keys (callers recompute them), so
// a caller sending ever new keys cannot grow it without bound. The zero
// value remembers nothing: set Max.
type Table[K comparable, V any] struct {
	Max int32
	m   sync.Map
	n   atomic.Int32
}

// Load returns the value stored for k, if any.
func (t *Table[K, V]) Load(k K) (V, bool) {
	v, ok := t.m.Load(k)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}

// Store remembers v for k, unless the table is full or k is there already.
func (t *Table[K, V]) Store(k K, v V) {
	// Take a place first, so that concurrent Stores cannot pass Max.
	if t.n.Add(1) > t.Max {
		t.n.Add(-1)
		return
	}
	if _, loaded := t.m.LoadOrStore(k, v); loaded {
		t.n.Add(-1)
	}
}
