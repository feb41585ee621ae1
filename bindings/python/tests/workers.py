"""Code that runs in worker processes (importable by name, as 'spawn' needs)."""

import dataclasses

import numpy as np

import staa
from data import CASES, make


def temporal_profile(seed):
    """The temporal profile of CASES[0] with the given seed, computed by staa."""
    case = dataclasses.replace(CASES[0], seed=seed)
    a = staa.attribute(**make(case), frames=case.frames, grid=case.grid)
    return np.asarray(a.temporal)


class ClipDataset:
    """A map-style dataset whose items are explained inside the DataLoader workers."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return temporal_profile(i)
