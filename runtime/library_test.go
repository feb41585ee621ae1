package runtime

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ONNX Runtime can be loaded once per process, so the cases that need a
// process where it is not loaded yet run this test binary again as a child
// (TestLibraryChild, selected by STAA_RUNTIME_CHILD).

const childEnv = "STAA_RUNTIME_CHILD"

// runChild runs TestLibraryChild with mode and env and returns its output.
func runChild(t *testing.T, mode string, env ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLibraryChild$", "-test.v")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, EnvLibrary+"=") { // the child sees only what env says
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, childEnv+"="+mode)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child %s: %v\n%s", mode, err, out)
	}
	return string(out)
}

// TestLibraryChild is the child's side: it reports what Open or LoadLibrary
// said, as "RESULT: ..." lines.
func TestLibraryChild(t *testing.T) {
	mode := os.Getenv(childEnv)
	if mode == "" {
		t.Skip("runs as a child of the library tests")
	}
	f := loadFixture(t)
	switch mode {
	case "open": // Options.LibraryPath from LIB (or the default search)
		s, err := Open(f.model, Options{LibraryPath: os.Getenv("LIB"), IntraOpThreads: 1})
		if err != nil {
			fmt.Printf("RESULT: error: %v\nRESULT: ErrLibrary %v\n", err, errors.Is(err, ErrLibrary))
			return
		}
		defer s.Close()
		out, err := s.Run(f.clips)
		fmt.Printf("RESULT: ok %v %d\n", err, out.Batch)
	case "search-none": // no library anywhere
		librarySearch = func() []string {
			return []string{filepath.Join(t.TempDir(), "libonnxruntime.so.1"), "libstaa-test-no-such-onnxruntime.so.1"}
		}
		_, err := LoadLibrary("")
		fmt.Printf("RESULT: error: %v\n", err)
	case "load":
		info, err := LoadLibrary("")
		fmt.Printf("RESULT: path %s version %s err %v\n", info.Path, info.Version, err)
	}
}

func TestLibraryMissing(t *testing.T) {
	f := loadFixture(t)
	missing := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	// In process: a path that does not exist is refused before any loading,
	// whether or not ORT is loaded already.
	_, err := Open(f.model, Options{LibraryPath: missing})
	wantErr(t, err, "Options.LibraryPath = "+missing, "no such file", "scripts/install_onnxruntime.sh", "onnxruntime-node 1.30.0", EnvLibrary)
	if !errors.Is(err, ErrLibrary) {
		t.Errorf("error does not wrap ErrLibrary: %v", err)
	}
	t.Setenv(EnvLibrary, missing)
	_, err = LoadLibrary("")
	wantErr(t, err, "$"+EnvLibrary+" = "+missing, "no such file", "install_onnxruntime.sh")

	// In a fresh process: nothing found anywhere lists what was tried.
	out := runChild(t, "search-none")
	for _, p := range []string{"no usable libonnxruntime found", "Options.LibraryPath (empty)", "$" + EnvLibrary + " (unset)",
		"libonnxruntime.so.1 (no such file)", "libstaa-test-no-such-onnxruntime.so.1 on the system library path (dlopen failed",
		"scripts/install_onnxruntime.sh"} {
		if !strings.Contains(out, p) {
			t.Errorf("child output does not mention %q:\n%s", p, out)
		}
	}
}

// A file that is not a shared library: dlopen's reason is in the message.
func TestLibraryCorrupt(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	if err := os.WriteFile(bad, []byte("this is not an ELF file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runChild(t, "open", "LIB="+bad)
	for _, p := range []string{"RESULT: error:", "Options.LibraryPath = " + bad, "dlopen failed", "install_onnxruntime.sh", "ErrLibrary true"} {
		if !strings.Contains(out, p) {
			t.Errorf("child output does not mention %q:\n%s", p, out)
		}
	}
}

// $STAA_ONNXRUNTIME_LIB is used, and the default search finds the
// project-local library; once loaded, another library is refused.
func TestLibraryResolution(t *testing.T) {
	info := requireLibrary(t)
	if info.Version == "" {
		t.Errorf("no version: %+v", info)
	}
	t.Logf("ONNX Runtime %s from %s", info.Version, info.Path)
	real := realPath(info.Path)
	out := runChild(t, "load", EnvLibrary+"="+real)
	if !strings.Contains(out, "RESULT: path "+real+" version "+info.Version+" err <nil>") {
		t.Errorf("child with %s=%s:\n%s", EnvLibrary, real, out)
	}
	// The same library through a symlink is the same library.
	link := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadLibrary(link); err != nil {
		t.Errorf("same library via a symlink refused: %v", err)
	}
	other := filepath.Join(t.TempDir(), "libother.so")
	os.WriteFile(other, []byte("x"), 0o644)
	_, err := LoadLibrary(other)
	wantErr(t, err, "already loaded ONNX Runtime from", "one library per process")
}
