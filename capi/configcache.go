package main

import (
	"sync"
	"sync/atomic"

	"github.com/staa-dev/staa/staa"
)

// configCache remembers parsed staa_attribute options by their text: callers
// repeat the same few options documents, and decoding one costs as much as a
// small attribution. Only valid documents are kept, at most
// maxCachedConfigs of them (then new ones are parsed every time); a Config
// is a plain value, so the copies handed out share nothing.
var configCache struct {
	m sync.Map // string → staa.Config
	n atomic.Int32
}

const maxCachedConfigs = 64

// parseConfig is staa.ParseConfig through configCache.
func parseConfig(data []byte) (staa.Config, error) {
	if c, ok := configCache.m.Load(string(data)); ok {
		return c.(staa.Config), nil
	}
	c, err := staa.ParseConfig(data)
	if err != nil {
		return c, err
	}
	if configCache.n.Load() < maxCachedConfigs {
		if _, loaded := configCache.m.LoadOrStore(string(data), c); !loaded {
			configCache.n.Add(1)
		}
	}
	return c, nil
}
