package main

import (
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"

	"github.com/staa-dev/staa/runtime"
)

// ShippedModel is the trained model that ships with staa, relative to the
// module root.
const ShippedModel = "models/timesformer-synth.onnx"

// modelOrShipped returns path, or the shipped model's when path is empty,
// with an error that says how to get one when it is not there.
func modelOrShipped(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	p, searched := findShippedModel()
	if p == "" {
		return "", fmt.Errorf("no --model given, and the shipped model %s is not there (looked for %s): build it with `make model` (scripts/model/train_timesformer.py, then export_onnx.py), or pass --model path/to/model.onnx",
			ShippedModel, strings.Join(searched, ", "))
	}
	return p, nil
}

// findShippedModel returns the shipped model's path and the places
// searched: models/timesformer-synth.onnx under the staa module root found
// above the working directory, above the executable (go build) and above
// this source file (go run from elsewhere), then beside the executable
// (models/ next to it, or one level up, for an installed copy).
func findShippedModel() (string, []string) {
	var searched []string
	seen := map[string]bool{}
	try := func(p string) bool {
		if p == "" || seen[p] {
			return false
		}
		seen[p] = true
		searched = append(searched, p)
		st, err := os.Stat(p)
		return err == nil && !st.IsDir()
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	exeDir := ""
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		exeDir = filepath.Dir(exe)
		starts = append(starts, exeDir)
	}
	if _, file, _, ok := goruntime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	var candidates []string
	for _, s := range starts {
		if root := runtime.ModuleRoot(s); root != "" {
			candidates = append(candidates, filepath.Join(root, filepath.FromSlash(ShippedModel)))
		}
	}
	if exeDir != "" {
		candidates = append(candidates,
			filepath.Join(exeDir, filepath.FromSlash(ShippedModel)),
			filepath.Join(exeDir, "..", filepath.FromSlash(ShippedModel)))
	}
	for _, c := range candidates {
		if try(filepath.Clean(c)) {
			return filepath.Clean(c), searched
		}
	}
	if len(searched) == 0 {
		searched = append(searched, ShippedModel+" (no staa module root found above the working directory or the executable)")
	}
	return "", searched
}
