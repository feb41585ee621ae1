"""Finding and loading the library: lazily, in order, with clear errors."""

import shutil
import subprocess
import textwrap

import pytest

from proc import run_python

LAZY = textwrap.dedent("""
    import sys
    import staa
    from staa import _library
    assert _library.loaded() is None, "import staa loaded the library"
    assert "torch" not in sys.modules and "transformers" not in sys.modules
    print(staa.version())
    print(staa.library_path())
""")


def test_import_loads_nothing_and_first_call_loads():
    proc = run_python(LAZY)
    assert proc.returncode == 0, proc.stderr
    version, path = proc.stdout.strip().splitlines()[-2:]
    assert version and path.endswith("libstaa.so")


def test_staa_library_variable_wins(tmp_path):
    import staa

    real = staa.library_path()
    copy = tmp_path / "libstaa.so"
    shutil.copy(real, copy)
    env_script = "import os, staa; print(staa.library_path())"
    proc = run_python(f"import os; os.environ['STAA_LIBRARY'] = {str(copy)!r}\n" + env_script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(copy)


def test_missing_library_is_a_clear_error(tmp_path):
    script = textwrap.dedent(f"""
        import os
        os.environ["STAA_LIBRARY"] = {str(tmp_path / "nope.so")!r}
        import staa
        try:
            staa.version()
        except staa.LibraryNotFoundError as e:
            assert isinstance(e, ImportError)
            print(e)
    """)
    proc = run_python(script)
    assert proc.returncode == 0, proc.stderr
    assert "STAA_LIBRARY" in proc.stdout and "nope.so" in proc.stdout


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_abi_mismatch_is_refused(tmp_path):
    src = tmp_path / "fake.c"
    src.write_text("int staa_abi_version(void){return 99;}\n"
                   "const char *staa_version(void){return \"fake\";}\n"
                   "int staa_attribute(void){return 0;}\nint staa_postprocess(void){return 0;}\n")
    lib = tmp_path / "libfake.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    script = textwrap.dedent(f"""
        import os
        os.environ["STAA_LIBRARY"] = {str(lib)!r}
        import staa
        try:
            staa.version()
        except staa.LibraryNotFoundError as e:
            print(e)
    """)
    proc = run_python(script)
    assert proc.returncode == 0, proc.stderr
    assert "ABI version 99" in proc.stdout
