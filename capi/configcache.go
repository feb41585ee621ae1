package main

import (
	"strings"

	"github.com/staa-dev/staa/internal/memo"
	"github.com/staa-dev/staa/staa"
)

// configs remembers parsed staa_attribute options by their text: callers
// repeat the same few options documents, and decoding one costs as much as a
// small attribution. Only valid documents are kept; a Config is a plain
// value, so the copies handed out share nothing.
var configs = memo.Table[string, staa.Config]{Max: 64}

// parseConfig is staa.ParseConfig through configs. text may be a view of
// the caller's C string (args.optionsView): it is only compared, and copied
// when a new document is remembered.
func parseConfig(text string) (staa.Config, error) {
	if c, ok := configs.Load(text); ok {
		return c, nil
	}
	text = strings.Clone(text)
	c, err := staa.ParseConfig([]byte(text))
	if err == nil {
		configs.Store(text, c)
	}
	return c, err
}
