"""The colour emoji dataset: glyphs from a font's cmap, drawn, composited, scaled and labelled by
colour; a tiny font made here stands in for Debian's when the test is about the pipeline."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models import emoji
from models.data import DataError, load_dataset
from models.emoji import COLOUR_GROUPS, DEFAULT_EMOJI_FONT, colour_group, load_emoji, to_square_rgb

have_font = pytest.mark.skipif(not DEFAULT_EMOJI_FONT.is_file(),
                               reason="needs Debian's fonts-noto-color-emoji package")

# the glyphs Debian's font (2.042) draws from single code points: 1,446 of its 1,487 cmap entries
# (spaces, joiners, variation selectors and tag characters draw nothing)
NOTO_GLYPHS = 1446


def _square(pen, x0: int, y0: int, x1: int, y1: int) -> None:
    pen.moveTo((x0, y0))
    pen.lineTo((x0, y1))
    pen.lineTo((x1, y1))
    pen.lineTo((x1, y0))
    pen.closePath()


@pytest.fixture(scope="module")
def tiny_font(tmp_path_factory) -> Path:
    """A TrueType font with a space and two square glyphs, 'A' (large) and 'B' (small)."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    boxes = {".notdef": None, "space": None, "A": (100, 0, 900, 800), "B": (300, 200, 700, 600)}
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(list(boxes))
    builder.setupCharacterMap({0x20: "space", 0x41: "A", 0x42: "B"})
    glyphs = {}
    for name, box in boxes.items():
        pen = TTGlyphPen(None)
        if box:
            _square(pen, *box)
        glyphs[name] = pen.glyph()
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics({name: (1000, 0) for name in boxes})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "Squares", "styleName": "Regular"})
    builder.setupOS2()
    builder.setupPost()
    path = tmp_path_factory.mktemp("font") / "squares.ttf"
    builder.save(str(path))
    return path


def _glyph(rgb: tuple[int, int, int], alpha: int = 255, size: int = 20) -> np.ndarray:
    out = np.zeros((size, size, 4), dtype=np.uint8)
    out[..., :3] = rgb
    out[..., 3] = alpha
    return out


# -- the pipeline, on a font made here ---------------------------------------------------------

def test_every_drawn_glyph_of_a_font_becomes_one_image_in_code_point_order(tiny_font):
    data = load_emoji(tiny_font, "all", size=16)
    assert data.images.shape == (2, 3, 16, 16) and data.images.dtype == np.uint8   # the space draws nothing
    big, small = (int((image < 128).all(axis=0).sum()) for image in data.images)
    assert big > 2 * small > 0                       # 'A' (0x41) comes before 'B' (0x42)
    assert (data.images[:, :, 0, 0] == 255).all()    # drawn in black on white
    assert data.class_names == list(COLOUR_GROUPS) and list(data.labels) == [COLOUR_GROUPS.index("grey")] * 2
    assert data.source == str(tiny_font) and data.name == "squares"


def test_splits_hold_every_eighth_glyph_out(tiny_font, monkeypatch):
    monkeypatch.setattr(emoji, "TEST_EVERY", 2)      # two glyphs: the second is the test split's
    train, test = load_emoji(tiny_font, "train", 16), load_emoji(tiny_font, "test", 16)
    everything = load_emoji(tiny_font, "all", 16)
    np.testing.assert_array_equal(train.images, everything.images[:1])
    np.testing.assert_array_equal(test.images, everything.images[1:])


def test_the_background_is_the_one_asked_for(tiny_font):
    data = load_emoji(tiny_font, "all", size=16, background=(0, 128, 255))
    assert tuple(data.images[0, :, 0, 0]) == (0, 128, 255)


def test_load_dataset_reads_a_font_file_at_the_asked_size(tiny_font):
    data = load_dataset(tiny_font, split="train", image_shape=(3, 32, 32))
    assert data.image_shape == (3, 32, 32) and len(data) == 2
    grey = load_dataset(tiny_font, split="train", image_shape=(1, 20, 20))
    assert grey.image_shape == (1, 20, 20) and len(grey) == 2


def test_composite_and_scale_of_a_half_transparent_glyph():
    glyph = Image.fromarray(_glyph((255, 0, 0), alpha=128, size=40), "RGBA")
    out = to_square_rgb(glyph, 10)
    assert out.shape == (3, 10, 10)
    # half red over white: (255, 127, 127) everywhere, give or take rounding
    assert np.abs(out.astype(int) - np.array([255, 127, 127])[:, None, None]).max() <= 1


@pytest.mark.parametrize("rgb, group", [
    ((255, 0, 0), "red"), ((255, 140, 0), "orange"), ((255, 220, 0), "yellow"), ((0, 200, 0), "green"),
    ((0, 80, 255), "blue"), ((160, 0, 255), "purple"), ((255, 0, 40), "red"),      # hue 350 wraps to red
    ((128, 128, 128), "grey"), ((20, 0, 0), "grey"), ((255, 255, 255), "grey"),
])
def test_colour_group_of_one_colour_glyphs(rgb, group):
    assert COLOUR_GROUPS[colour_group(_glyph(rgb))] == group


def test_colour_group_counts_only_opaque_pixels_and_needs_a_fifth_coloured():
    glyph = _glyph((0, 0, 255))
    glyph[:10, :, :3] = (0, 200, 0)              # half green, half blue: a tie goes to the first group
    glyph[:, :5, 3] = 0                          # a transparent strip does not count
    glyph[:, :5, :3] = (255, 0, 0)
    assert COLOUR_GROUPS[colour_group(glyph)] == "green"
    mostly_black = _glyph((0, 0, 0))
    mostly_black[:3, :, :3] = (255, 0, 0)        # 15% red: still a grey (black) glyph
    assert COLOUR_GROUPS[colour_group(mostly_black)] == "grey"
    mostly_black[:5, :, :3] = (255, 0, 0)        # 25% red: red
    assert COLOUR_GROUPS[colour_group(mostly_black)] == "red"
    assert COLOUR_GROUPS[colour_group(_glyph((255, 0, 0), alpha=0))] == "grey"   # nothing drawn


def test_a_missing_font_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(emoji, "DEFAULT_EMOJI_FONT", tmp_path / "NotoColorEmoji.ttf")
    for source in ("emoji", None):
        with pytest.raises(DataError, match="apt-get install fonts-noto-color-emoji"):
            emoji.load_emoji(source)
    with pytest.raises(DataError, match="does not exist.*apt-get install fonts-noto-color-emoji"):
        load_dataset(tmp_path / "other.ttf")


def test_a_file_that_is_not_a_font_is_a_data_error(tmp_path):
    bad = tmp_path / "bad.ttf"
    bad.write_bytes(b"this is not a font" * 10)
    with pytest.raises(DataError, match="cannot (read|open) the font"):
        load_emoji(bad)


@pytest.mark.parametrize("kwargs, match", [({"split": "valid"}, "split"), ({"size": 4}, "pixels"),
                                           ({"background": (0, 0)}, "background")])
def test_bad_options_are_data_errors(tiny_font, kwargs, match):
    with pytest.raises(DataError, match=match):
        load_emoji(tiny_font, **kwargs)


# -- Debian's font -------------------------------------------------------------------------------

@have_font
def test_the_noto_font_gives_its_declared_count_of_64_pixel_colour_images():
    train, test = load_dataset("emoji", split="train"), load_dataset("emoji", split="test")
    assert len(train) + len(test) == NOTO_GLYPHS and len(test) == NOTO_GLYPHS // emoji.TEST_EVERY
    assert train.images.shape[1:] == test.images.shape[1:] == (3, 64, 64)
    # colour: most images have pixels whose channels differ widely
    spread = train.images.max(axis=1).astype(int) - train.images.min(axis=1)
    assert (spread.max(axis=(1, 2)) > 100).mean() > 0.8
    assert (train.images[:, :, 0, 0] == 255).all()          # on white
    assert len(np.unique(train.labels)) == len(COLOUR_GROUPS)
    assert train.name == "noto-color-emoji" and train.subset(slice(0, 3)).name == "noto-color-emoji"


def test_train_bundled_reads_each_recipe_its_own_data(tiny_font, idx_data, tmp_path, monkeypatch, capsys,
                                                       one_torch_thread):
    from explorer.cli import main
    from models import recipes
    from models.checkpoint import read_metadata
    from models.train import TrainOptions

    bundled = {"vae-2d": recipes.BUNDLED["vae-2d"],
               "glyph-vae": TrainOptions(kind="vae", data=str(tiny_font), epochs=1, batch_size=2, latent_dim=2,
                                         name="glyph-vae", arch={"base_channels": 4})}
    monkeypatch.setattr(recipes, "BUNDLED", bundled)
    out = tmp_path / "out"
    assert main(["train-bundled", "--data", str(idx_data), "--only", "vae-2d", "glyph-vae", "--epochs", "1",
                 "--out", str(out), "--device", "cpu"]) == 0
    assert "glyph-vae: vae, 1 epochs on 2 images of 3x64x64" in capsys.readouterr().err
    glyphs = read_metadata(out / "glyph-vae.safetensors")
    assert glyphs["image_shape"] == [3, 64, 64] and glyphs["dataset"]["source"] == str(tiny_font)
    assert glyphs["training"]["recipe"]["data"] == str(tiny_font)
    assert read_metadata(out / "vae-2d.safetensors")["image_shape"] == [1, 28, 28]
