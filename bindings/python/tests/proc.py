"""Running Python code in a fresh interpreter that imports this staa and these tests."""

import os
import subprocess
import sys
from pathlib import Path

import staa


def env():
    paths = [str(Path(staa.__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join(paths + [p for p in [out.get("PYTHONPATH")] if p])
    return out


def run_python(script, *args, timeout=120):
    """subprocess.CompletedProcess of `python -c script args…` (text output)."""
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                          timeout=timeout, env=env())
