package main

import (
	"github.com/staa-dev/staa/internal/memo"
	"github.com/staa-dev/staa/staa"
)

// configs remembers parsed staa_attribute options by their text: callers
// repeat the same few options documents, and decoding one costs as much as a
// small attribution. Only valid documents are kept; a Config is a plain
// value, so the copies handed out share nothing.
var configs = memo.Table[string, staa.Config]{Max: 64}

// parseConfig is staa.ParseConfig through configs.
func parseConfig(data []byte) (staa.Config, error) {
	if c, ok := configs.Load(string(data)); ok {
		return c, nil
	}
	c, err := staa.ParseConfig(data)
	if err == nil {
		configs.Store(string(data), c)
	}
	return c, err
}
