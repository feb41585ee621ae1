"""Key frames: peaks of the temporal profile (docs/conventions.md, "Streams")."""

import numpy as np


def peaks(p):
    """Indices of the local maxima of p: p[i] > p[i-1] and p[i] >= p[i+1]; an end
    counts when it is larger than its one neighbour (a single frame counts)."""
    n = len(p)
    if n == 1:
        return [0]
    out = []
    for i in range(n):
        if i == 0:
            peak = p[0] > p[1]
        elif i == n - 1:
            peak = p[i] > p[i - 1]
        else:
            peak = p[i] > p[i - 1] and p[i] >= p[i + 1]
        if peak:
            out.append(i)
    return out


def key_frames(p, k, min_distance=1):
    """At most k peaks of p, taken greedily from the highest, at least
    min_distance frames apart, returned in frame order."""
    p = np.asarray(p, dtype=np.float64)
    kept = []
    for i in sorted(peaks(p), key=lambda i: (-p[i], i)):
        if len(kept) == k:
            break
        if all(abs(i - j) >= min_distance for j in kept):
            kept.append(i)
    return sorted(kept)
