"""`pip wheel bindings/python` builds the Go library and bundles it in a
platform wheel that works without Go and outside the repository (~30-90 s)."""

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1]

USE = textwrap.dedent("""
    import sys
    import numpy as np
    import staa
    print(staa.library_path())
    from staa import _call
    assert (_call._fastcall is not None) == (sys.version_info >= (3, 11))
    S = 1 + 2 * 4
    x = np.full((1, 2, 3, S, S), 1.0 / S, np.float32)
    a = staa.attribute(joint=x, frames=2, grid=(2, 2))
    print(a.spatial.shape)
""")


@pytest.mark.slow
def test_wheel_bundles_the_library(tmp_path):
    out = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
                    str(PACKAGE)], check=True, timeout=600)
    (wheel,) = out.glob("staa-*.whl")
    assert wheel.name.endswith(".whl") and "none-any" not in wheel.name
    # With the CPython extension (limited API, Python >= 3.11) the wheel is abi3.
    tag = "cp311-abi3" if sys.version_info >= (3, 11) else "py3-none"
    assert wheel.name.startswith(f"staa-0.1.0-{tag}-linux_") or sys.platform != "linux", wheel.name
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        assert "staa/_lib/libstaa.so" in names
        if sys.version_info >= (3, 11):
            assert any(n.startswith("staa/_fastcall.") and n.endswith(".so") for n in names), names
        assert "staa/__init__.py" in names
        assert any(n.endswith(".dist-info/WHEEL") and b"Root-Is-Purelib: false" in z.read(n)
                   for n in names)

    # Installed elsewhere, without STAA_LIBRARY, it uses its own copy.
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(site), str(wheel)], check=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k not in ("STAA_LIBRARY", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    proc = subprocess.run([sys.executable, "-c", USE], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    path, shape = proc.stdout.strip().splitlines()
    assert Path(path) == site / "staa" / "_lib" / "libstaa.so"
    assert shape == "(1, 2, 2, 2)"
