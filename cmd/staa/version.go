package main

import (
	"fmt"
	goruntime "runtime"
	"runtime/debug"

	"github.com/staa-dev/staa/internal/video"
	"github.com/staa-dev/staa/runtime"
)

// Version is staa's version; it follows STAA_LIBRARY_VERSION of the C
// library (capi/capi.h), which a test checks.
const Version = "0.1.0"

// runVersion prints staa's version and what it found of its dependencies:
// the build, the ONNX Runtime library and ffmpeg. Missing dependencies are
// reported, not errors.
func runVersion(args []string, e *env) error {
	fs := newFlagSet("version", "", e)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "staa %s\n", Version)
	build := goruntime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				build += ", commit " + s.Value[:12]
			}
		}
	}
	fmt.Fprintf(e.stdout, "  build:        %s %s/%s\n", build, goruntime.GOOS, goruntime.GOARCH)
	if lib, err := runtime.LoadLibrary(""); err != nil {
		fmt.Fprintf(e.stdout, "  onnxruntime:  not found (make onnxruntime, or set %s)\n", runtime.EnvLibrary)
	} else {
		fmt.Fprintf(e.stdout, "  onnxruntime:  %s (%s)\n", lib.Version, lib.Path)
	}
	if tools, err := video.Find(e.lookPath); err != nil {
		fmt.Fprintf(e.stdout, "  ffmpeg:       not found (Debian package %s)\n", video.DebianPackage)
	} else if v, err := tools.Version(); err == nil {
		fmt.Fprintf(e.stdout, "  ffmpeg:       %s (%s)\n", v, tools.FFmpeg)
	}
	if p, _ := findShippedModel(); p != "" {
		fmt.Fprintf(e.stdout, "  model:        %s\n", p)
	} else {
		fmt.Fprintf(e.stdout, "  model:        %s not found (make model)\n", ShippedModel)
	}
	return nil
}
