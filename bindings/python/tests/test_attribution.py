"""Attribution's helpers: upsampling, overlays, pictures, key frames.

These build Attribution objects directly and need no library."""

import numpy as np
import pytest

import reference
import staa


def attribution(kind="numpy", b=2, f=5, h=3, w=4, seed=0):
    rng = np.random.default_rng(seed)
    spatial = rng.random((b, f, h, w)).astype(np.float32)
    temporal = rng.random((b, f)).astype(np.float32)
    temporal /= temporal.sum(axis=1, keepdims=True)
    if kind == "torch":
        import torch

        spatial, temporal = torch.from_numpy(spatial), torch.from_numpy(temporal)
    return staa.Attribution(spatial, temporal)


@pytest.mark.parametrize("size", [(3, 4), (7, 5), (224, 224), (2, 9)])
def test_upsample_matches_the_reference(size):
    a = attribution()
    np.testing.assert_allclose(a.upsample(size), reference.upsample(a.spatial, size), rtol=1e-5, atol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize("size", [(7, 5), (224, 224), (2, 9)])
def test_upsample_matches_torch_interpolate(torch, size):
    a = attribution("torch")
    up = a.upsample(size)
    assert isinstance(up, torch.Tensor) and up.shape == (2, 5) + size
    expected = torch.nn.functional.interpolate(a.spatial, size=size, mode="bilinear",
                                               align_corners=False)
    np.testing.assert_allclose(up.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_upsample_volume_needs_a_volume():
    with pytest.raises(ValueError, match="volume=True"):
        attribution().upsample((4, 4), volume=True)


def test_overlay_shapes_and_dtype():
    a = attribution()
    frames = np.random.default_rng(1).integers(0, 256, (2, 5, 16, 20, 3), dtype=np.uint8)
    out = a.overlay(frames)
    assert out.shape == frames.shape and out.dtype == np.uint8
    one = a.overlay(frames[1], clip=1, alpha=0.3, colormap="hot")
    assert one.shape == (5, 16, 20, 3)
    np.testing.assert_array_equal(a.overlay(frames, alpha=0.0), frames)


def test_overlay_channels_first_float_frames():
    a = attribution(b=1)
    frames = np.random.default_rng(2).normal(size=(5, 3, 16, 20)).astype(np.float32)
    out = a.overlay(frames, alpha=1.0, colormap="gray")
    assert out.shape == (5, 16, 20, 3)
    # alpha 1: the heat map alone, grey, brightest where the clip's maximum is
    assert out.max() == 255 and (out[..., 0] == out[..., 1]).all()


def test_overlay_one_clip_of_many_needs_clip():
    with pytest.raises(ValueError, match="clip="):
        attribution().overlay(np.zeros((5, 8, 8, 3), np.uint8))


def test_overlay_wrong_frame_count():
    with pytest.raises(ValueError, match="frames"):
        attribution(b=1).overlay(np.zeros((4, 8, 8, 3), np.uint8))


def test_jet_colormap_ends():
    from staa._image import colorize

    np.testing.assert_allclose(colorize(np.array([0.0, 1.0])), [[0, 0, 0.5], [0.5, 0, 0]])


def test_save_grid_png(tmp_path):
    from PIL import Image

    a = attribution(f=10)
    path = a.save_grid(tmp_path / "grid.png", clip=1)
    img = Image.open(path)
    assert img.format == "PNG" and img.mode == "RGB"
    frames = np.zeros((10, 32, 40, 3), np.uint8)
    img = Image.open(a.save_grid(tmp_path / "over.png", frames=frames, clip=0, columns=5))
    assert img.size[0] > 5 * 40 and img.size[1] > 2 * 32


def test_save_gif(tmp_path):
    pytest.importorskip("PIL")
    from PIL import Image

    a = attribution(f=6)
    img = Image.open(a.save_gif(tmp_path / "clip.gif", clip=1))
    assert img.format == "GIF" and img.n_frames == 6


@pytest.mark.parametrize("p, k, dist, expected", [
    ([0.1, 0.3, 0.2, 0.4], 2, 1, [1, 3]),
    ([0.5, 0.1, 0.1, 0.3], 5, 1, [0, 3]),
    ([0.1, 0.2, 0.3, 0.4], 3, 1, [3]),
    ([0.2, 0.2, 0.2], 3, 1, []),
    ([1.0], 1, 1, [0]),
    ([0.1, 0.4, 0.1, 0.35, 0.1, 0.3], 3, 3, [1, 5]),
    ([0.1, 0.3, 0.3, 0.1], 2, 1, [1]),  # a plateau counts once, at its first frame
])
def test_key_frames_examples(p, k, dist, expected):
    a = staa.Attribution(np.zeros((1, len(p), 1, 1), np.float32), np.array([p], np.float32))
    assert a.key_frames(k, min_distance=dist) == [expected]
    assert reference.key_frames(np.array(p), k, dist) == expected


def test_key_frames_random_against_reference():
    rng = np.random.default_rng(3)
    p = rng.random((20, 16))
    a = staa.Attribution(np.zeros((20, 16, 1, 1)), p)
    for k, dist in [(1, 1), (3, 1), (4, 3), (16, 2)]:
        assert a.key_frames(k, dist) == [reference.key_frames(row, k, dist) for row in p]


def test_repr():
    assert "clips=2, frames=5, grid=(3, 4)" in repr(attribution())


@pytest.mark.torch
def test_overlay_torch_uint8_frames_are_used_as_they_are(torch):
    a = attribution(b=1)
    frames = torch.randint(0, 256, (5, 3, 8, 8), dtype=torch.uint8)
    out = a.overlay(frames, alpha=0.0)
    np.testing.assert_array_equal(out, frames.permute(0, 2, 3, 1).numpy())
