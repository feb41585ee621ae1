package memo

import (
	"sync"
	"testing"
)

func TestTable(t *testing.T) {
	tab := Table[string, int]{Max: 2}
	if _, ok := tab.Load("a"); ok {
		t.Fatal("an empty table found a key")
	}
	tab.Store("a", 1)
	tab.Store("a", 9) // the first value stays
	tab.Store("b", 2)
	tab.Store("c", 3) // full: dropped
	for k, want := range map[string]int{"a": 1, "b": 2} {
		if v, ok := tab.Load(k); !ok || v != want {
			t.Errorf("Load(%q) = %d, %v; want %d", k, v, ok, want)
		}
	}
	if _, ok := tab.Load("c"); ok {
		t.Error("a full table stored a new key")
	}
}

// Stores from many goroutines never go past Max.
func TestTableConcurrent(t *testing.T) {
	tab := Table[int, int]{Max: 10}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				tab.Store(g*100+i, i)
			}
		}()
	}
	wg.Wait()
	n := 0
	tab.m.Range(func(any, any) bool { n++; return true })
	if n > 10 {
		t.Errorf("%d entries, Max 10", n)
	}
}
