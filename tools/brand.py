"""Draw the integration's brand images: custom_components/deepgram/brand/*.png.

The mark is the project's own, not Deepgram's logo: a speech bubble holding the bars
of a sound wave, for "speech becomes text". Icons are 256 and 512 px squares; logos
put the word "Deepgram" beside the mark at 128 and 256 px high (dark_* variants
have light lettering for dark themes). Everything is drawn 4x larger and scaled down,
on a transparent background, and trimmed. Run `scripts/brand` after changing this.
"""

from __future__ import annotations

from pathlib import Path
import sys

from PIL import Image, ImageDraw, ImageFont

BRAND_DIR = Path(__file__).resolve().parents[1] / "custom_components" / "deepgram" / "brand"

SUPERSAMPLE = 4
BUBBLE_TOP = (37, 99, 235)  # blue
BUBBLE_BOTTOM = (124, 58, 237)  # violet
BARS = (255, 255, 255)
WORDMARK_LIGHT_THEME = (31, 41, 55)
WORDMARK_DARK_THEME = (243, 244, 246)
WORDMARK = "Deepgram"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
)
# Bar heights of the sound wave, as fractions of the tallest.
BAR_HEIGHTS = (0.38, 0.72, 1.0, 0.58, 0.3)


def _gradient(size: int) -> Image.Image:
    """Return a square, top-to-bottom gradient from BUBBLE_TOP to BUBBLE_BOTTOM."""
    column = Image.new("RGB", (1, size))
    for y in range(size):
        t = y / max(size - 1, 1)
        column.putpixel(
            (0, y),
            tuple(round(a + (b - a) * t) for a, b in zip(BUBBLE_TOP, BUBBLE_BOTTOM, strict=True)),
        )
    return column.resize((size, size))


def draw_mark(size: int) -> Image.Image:
    """Draw the mark on a transparent `size` x `size` canvas, touching all four edges."""
    big = size * SUPERSAMPLE
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    bubble_bottom = round(big * 0.82)
    draw.rounded_rectangle((0, 0, big - 1, bubble_bottom), radius=round(big * 0.22), fill=255)
    # The tail, down to the bottom edge at the lower left.
    draw.polygon(
        [
            (round(big * 0.2), bubble_bottom - round(big * 0.05)),
            (round(big * 0.46), bubble_bottom - round(big * 0.05)),
            (round(big * 0.16), big - 1),
        ],
        fill=255,
    )
    mark = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    mark.paste(_gradient(big), (0, 0), mask)

    bars = ImageDraw.Draw(mark)
    count = len(BAR_HEIGHTS)
    bar_width = big * 0.085
    gap = big * 0.06
    left = (big - (count * bar_width + (count - 1) * gap)) / 2
    middle = bubble_bottom / 2
    tallest = bubble_bottom * 0.56
    for index, fraction in enumerate(BAR_HEIGHTS):
        x = left + index * (bar_width + gap)
        half = tallest * fraction / 2
        bars.rounded_rectangle(
            (round(x), round(middle - half), round(x + bar_width), round(middle + half)),
            radius=round(bar_width / 2),
            fill=(*BARS, 255),
        )
    return mark.resize((size, size), Image.Resampling.LANCZOS)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Return DejaVu Sans Bold if installed, else Pillow's built-in scalable font."""
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size)


def draw_logo(height: int, colour: tuple[int, int, int]) -> Image.Image:
    """Draw the mark and the word mark, `height` px high, trimmed."""
    big = height * SUPERSAMPLE
    mark = draw_mark(big)
    font = _font(round(big * 0.5))
    left, top, right, bottom = font.getbbox(WORDMARK)
    gap = round(big * 0.16)
    canvas = Image.new("RGBA", (big + gap + round(right - left), big), (0, 0, 0, 0))
    canvas.paste(mark, (0, 0), mark)
    # The text sits on the optical middle of the bubble (above the tail).
    bubble_middle = big * 0.41
    ImageDraw.Draw(canvas).text(
        (big + gap - left, round(bubble_middle - (top + bottom) / 2)),
        WORDMARK,
        font=font,
        fill=(*colour, 255),
    )
    bbox = canvas.getbbox()
    if bbox is not None:
        canvas = canvas.crop(bbox)
    width = round(canvas.width * height / canvas.height)
    return canvas.resize((width, height), Image.Resampling.LANCZOS)


def images() -> dict[str, Image.Image]:
    """Return every brand image by file name."""
    return {
        "icon.png": draw_mark(256),
        "icon@2x.png": draw_mark(512),
        "logo.png": draw_logo(128, WORDMARK_LIGHT_THEME),
        "logo@2x.png": draw_logo(256, WORDMARK_LIGHT_THEME),
        "dark_logo.png": draw_logo(128, WORDMARK_DARK_THEME),
        "dark_logo@2x.png": draw_logo(256, WORDMARK_DARK_THEME),
    }


def main(directory: Path = BRAND_DIR) -> int:
    """Write the images; print what was written."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, image in images().items():
        path = directory / name
        image.save(path, optimize=True)
        sys.stdout.write(f"{path}: {image.width}x{image.height}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
