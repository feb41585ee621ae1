"""The Go runtime does not survive fork(): use the 'spawn' start method.

A process that has loaded libstaa.so (any staa call) must not call staa in a
child made by fork() — the default start method of multiprocessing on Linux
(before Python 3.14) and of torch DataLoader workers. staa detects it and raises
StaaRuntimeError instead of hanging. Worker processes started with 'spawn'
load their own copy of the library and work.
"""

import multiprocessing
import textwrap

import numpy as np
import pytest

from proc import run_python
from workers import ClipDataset, temporal_profile


def test_spawn_pool_workers():
    expected = [temporal_profile(seed) for seed in range(4)]  # loads the library here too
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        got = pool.map(temporal_profile, range(4))
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)


@pytest.mark.torch
def test_dataloader_spawn_workers(torch):
    expected = np.stack([temporal_profile(i) for i in range(4)])
    loader = torch.utils.data.DataLoader(ClipDataset(), batch_size=2, num_workers=2,
                                         multiprocessing_context="spawn")
    got = torch.cat(list(loader)).numpy()
    np.testing.assert_array_equal(got, expected)


FORK_AFTER_LOAD = textwrap.dedent("""
    import os, sys
    import staa
    from workers import temporal_profile
    temporal_profile(0)                 # the Go runtime is now loaded
    pid = os.fork()
    if pid == 0:
        try:
            temporal_profile(1)
            os._exit(3)                 # it should not have worked
        except staa.StaaRuntimeError as e:
            os._exit(0 if "spawn" in str(e) else 4)
        except BaseException:
            os._exit(5)
    _, status = os.waitpid(pid, 0)
    print("child exit", os.waitstatus_to_exitcode(status))
    temporal_profile(2)                 # the parent is unaffected
    print("parent ok")
""")


def test_fork_after_load_raises_a_clear_error():
    proc = run_python(FORK_AFTER_LOAD, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["child exit 0", "parent ok"], proc.stdout


FORK_BEFORE_LOAD = textwrap.dedent("""
    import os
    import staa
    from staa import _library
    from workers import temporal_profile
    assert _library.loaded() is None    # import staa loads nothing
    pid = os.fork()
    if pid == 0:
        temporal_profile(1)             # the child loads its own runtime
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print("child exit", os.waitstatus_to_exitcode(status))
""")


def test_fork_before_load_is_fine():
    proc = run_python(FORK_BEFORE_LOAD, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "child exit 0"
