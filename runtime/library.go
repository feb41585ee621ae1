package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// EnvLibrary names the environment variable that points at the ONNX Runtime
// shared library when Options.LibraryPath is empty.
const EnvLibrary = "STAA_ONNXRUNTIME_LIB"

// LocalLibrary is where scripts/install_onnxruntime.sh puts the library,
// relative to the root of the staa module.
const LocalLibrary = "build/onnxruntime/libonnxruntime.so.1"

// systemLibrary is the name handed to dlopen last, which searches
// LD_LIBRARY_PATH and the ldconfig cache.
const systemLibrary = "libonnxruntime.so.1"

const modulePath = "github.com/staa-dev/staa"

const installHint = "install it with scripts/install_onnxruntime.sh (libonnxruntime.so.1 from the npm package onnxruntime-node 1.30.0, or from the PyPI onnxruntime wheel), or point " +
	EnvLibrary + " or Options.LibraryPath at a libonnxruntime.so of version 1.24 or later"

// ErrLibrary is wrapped by every error about finding or loading the ONNX
// Runtime shared library.
var ErrLibrary = errors.New("ONNX Runtime library unavailable")

// LibraryInfo describes the loaded ONNX Runtime library.
type LibraryInfo struct {
	Path    string // as loaded (a file path, or the bare name for the system search path)
	Version string // ORT's version string, e.g. "1.30.0"
}

// The ONNX Runtime environment is process-wide and can be created once: a
// mutex rather than a sync.Once, because a failed attempt (no library yet, a
// wrong path) must not be remembered — a later Open, after the library was
// installed or with a correct path, may succeed. Once loaded, the library
// stays for the life of the process (sessions share it; it is never
// unloaded, so a Close never pulls it from under another session).
var lib struct {
	mu     sync.Mutex
	loaded bool
	info   LibraryInfo
	real   string // the loaded file, symlinks resolved, for comparisons
}

// LoadLibrary loads the ONNX Runtime shared library and creates the
// process-wide ORT environment, unless that was done already; Open calls it.
// path is the library to load; empty means $STAA_ONNXRUNTIME_LIB, else
// build/onnxruntime/libonnxruntime.so.1 of the staa module (searched upwards
// from the working directory, from the executable and from this package's
// source directory), else libonnxruntime.so.1 beside the executable, else the
// system's libonnxruntime.so.1. An explicit path (argument or variable) is the
// only one tried. Once a library is loaded, asking for a different one is an
// error: a process holds one ONNX Runtime.
func LoadLibrary(path string) (LibraryInfo, error) {
	lib.mu.Lock()
	defer lib.mu.Unlock()

	explicit, source := path, "Options.LibraryPath"
	if explicit == "" {
		explicit, source = os.Getenv(EnvLibrary), "$"+EnvLibrary
	}
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return LibraryInfo{}, fmt.Errorf("staa/runtime: %w: %s = %s: %v; %s", ErrLibrary, source, explicit, statReason(err), installHint)
		}
	}
	if lib.loaded {
		if explicit != "" && realPath(explicit) != lib.real {
			return LibraryInfo{}, fmt.Errorf("staa/runtime: %w: %s = %s, but this process already loaded ONNX Runtime from %s (one library per process)", ErrLibrary, source, explicit, lib.info.Path)
		}
		return lib.info, nil
	}

	var tried []string
	try := func(p string) error {
		ort.SetSharedLibraryPath(p)
		err := ort.InitializeEnvironment(ort.WithLogLevelError())
		if err == nil {
			lib.loaded = true
			lib.info = LibraryInfo{Path: p, Version: ort.GetVersion()}
			lib.real = realPath(p)
			return nil
		}
		return explainInitError(err)
	}
	if explicit != "" {
		if err := try(explicit); err != nil {
			return LibraryInfo{}, fmt.Errorf("staa/runtime: %w: %s = %s: %v; %s", ErrLibrary, source, explicit, err, installHint)
		}
		return lib.info, nil
	}
	tried = append(tried, "Options.LibraryPath (empty)", "$"+EnvLibrary+" (unset)")
	for _, c := range librarySearch() {
		bare := !strings.ContainsRune(c, os.PathSeparator) // dlopen searches the system path
		if !bare {
			if _, err := os.Stat(c); err != nil {
				tried = append(tried, c+" ("+statReason(err)+")")
				continue
			}
		}
		err := try(c)
		if err == nil {
			return lib.info, nil
		}
		what := c
		if bare {
			what = c + " on the system library path"
		}
		tried = append(tried, what+" ("+err.Error()+")")
	}
	return LibraryInfo{}, fmt.Errorf("staa/runtime: %w: no usable libonnxruntime found; tried %s. To fix: %s", ErrLibrary, strings.Join(tried, "; "), installHint)
}

// explainInitError rewords the errors of onnxruntime_go's initialisation.
func explainInitError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Error setting ORT API base: 2"):
		return errors.New("the library is older than ONNX Runtime 1.24 (it does not provide ORT API version 24, which github.com/yalue/onnxruntime_go v1.27.0 needs)")
	case strings.Contains(msg, "Error loading ONNX shared library"):
		if i := strings.Index(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return fmt.Errorf("dlopen failed: %s", strings.TrimPrefix(msg, "Error loading ONNX shared library "))
	}
	return err
}

func statReason(err error) string {
	if errors.Is(err, os.ErrNotExist) {
		return "no such file"
	}
	return err.Error()
}

func realPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

// librarySearch lists the places searched when no path is given (a variable
// for the tests).
var librarySearch = libraryCandidates

// libraryCandidates lists the places searched when no path is given.
func libraryCandidates() []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	exeDir := ""
	if exe, err := os.Executable(); err == nil {
		exeDir = filepath.Dir(realPath(exe))
		starts = append(starts, exeDir)
	}
	if _, file, _, ok := goruntime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, s := range starts {
		if root := ModuleRoot(s); root != "" {
			add(filepath.Join(root, filepath.FromSlash(LocalLibrary)))
		}
	}
	if exeDir != "" {
		add(filepath.Join(exeDir, "libonnxruntime.so.1"))
		add(filepath.Join(exeDir, "onnxruntime", "libonnxruntime.so.1"))
	}
	add(systemLibrary)
	return out
}

// ModuleRoot returns the directory at or above dir whose go.mod declares the
// staa module, or "": how tools find files of a source checkout (the ONNX
// Runtime library, the shipped model) when run from inside one.
func ModuleRoot(dir string) string {
	for {
		if isStaaModule(filepath.Join(dir, "go.mod")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func isStaaModule(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`) == modulePath
		}
	}
	return false
}
