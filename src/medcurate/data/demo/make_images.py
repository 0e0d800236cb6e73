"""Draw the demo site's featured images (1200x630 JPEG) and publisher icons (32x32 PNG) with Pillow.

A maintenance script, run once and its output committed under ``site/images/``:
``python src/medcurate/data/demo/make_images.py``. Each featured image is a two-colour gradient, a simple
motif for its topic and a caption strip; the font is the one bundled with Pillow, so the output does not
depend on the fonts installed on the machine. Quality is lowered step by step until a JPEG fits in
``MAX_JPEG_BYTES``.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

IMAGES = Path(__file__).resolve().parent / "site" / "images"

WIDTH, HEIGHT = 1200, 630
ICON_SIZE = 32
MAX_JPEG_BYTES = 60_000
START_QUALITY = 85
MIN_QUALITY = 50
CAPTION_HEIGHT = 110

RGB = tuple[int, int, int]
Motif = Callable[[ImageDraw.ImageDraw, RGB], None]


@dataclass(frozen=True, kw_only=True)
class Featured:
    """One featured image: file name, gradient colours, caption and motif."""

    name: str
    top: RGB
    bottom: RGB
    ink: RGB
    caption: str
    motif: Motif


def _padlock(draw: ImageDraw.ImageDraw, x: int, y: int, size: int, ink: RGB) -> None:
    """A padlock whose body's top-left corner is at (x, y)."""
    w = size
    draw.arc((x + w // 6, y - w // 2, x + w - w // 6, y + w // 3), 180, 360, fill=ink, width=max(4, w // 9))
    draw.rounded_rectangle((x, y, x + w, y + int(w * 0.8)), radius=w // 10, fill=ink)
    draw.ellipse(
        (x + w // 2 - w // 12, y + w // 4, x + w // 2 + w // 12, y + w // 4 + w // 6), fill=(0, 0, 0)
    )


def _ransomware(draw: ImageDraw.ImageDraw, ink: RGB) -> None:
    """A hospital cross and a red padlock over a server rack."""
    draw.rectangle((150, 140, 230, 360), fill=ink)
    draw.rectangle((80, 210, 300, 290), fill=ink)
    for row in range(6):
        top = 110 + row * 60
        draw.rounded_rectangle((700, top, 1050, top + 45), radius=8, outline=ink, width=4)
        draw.ellipse((1010, top + 15, 1025, top + 30), fill=(120, 255, 140))
    _padlock(draw, 500, 250, 150, (220, 40, 50))


def _iomt(draw: ImageDraw.ImageDraw, ink: RGB) -> None:
    """Devices as nodes on a network map."""
    rng = random.Random(7)
    nodes = [(rng.randint(80, 1120), rng.randint(60, 470)) for _ in range(22)]
    for i, (x, y) in enumerate(nodes):
        for x2, y2 in nodes[i + 1 : i + 3]:
            draw.line((x, y, x2, y2), fill=ink, width=3)
    for i, (x, y) in enumerate(nodes):
        r = 22 if i % 5 else 34
        colour = (255, 200, 60) if i % 7 == 0 else ink
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)


def _telehealth(draw: ImageDraw.ImageDraw, ink: RGB) -> None:
    """A laptop showing a clinician, with a shield."""
    draw.rounded_rectangle((300, 80, 900, 430), radius=18, outline=ink, width=10)
    draw.polygon([(240, 450), (960, 450), (1000, 500), (200, 500)], fill=ink)
    draw.ellipse((540, 140, 660, 260), fill=ink)
    draw.pieslice((470, 280, 730, 520), 180, 360, fill=ink)
    draw.polygon([(1000, 90), (1100, 125), (1090, 230), (1000, 290), (910, 230), (900, 125)], fill=ink)


def _hipaa(draw: ImageDraw.ImageDraw, ink: RGB) -> None:
    """A clipboard with a three-by-three risk matrix."""
    draw.rounded_rectangle((380, 60, 820, 500), radius=20, fill=ink)
    draw.rounded_rectangle((530, 40, 670, 90), radius=10, fill=(90, 90, 90))
    colours = [(90, 180, 90), (240, 200, 60), (230, 90, 60)]
    for row in range(3):
        for col in range(3):
            x, y = 430 + col * 115, 130 + row * 115
            draw.rectangle((x, y, x + 100, y + 100), fill=colours[min(2, (row + col) // 2 + (row + col) % 2)])


def _zero_trust(draw: ImageDraw.ImageDraw, ink: RGB) -> None:
    """Concentric rings, each with a lock, around a badge."""
    cx, cy = 600, 270
    for i, r in enumerate((230, 165, 100)):
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=ink, width=8)
        _padlock(draw, cx + r - 25, cy - 25 - i * 10, 50, ink)
    draw.rounded_rectangle((cx - 45, cy - 60, cx + 45, cy + 60), radius=10, fill=ink)


def _phishing(draw: ImageDraw.ImageDraw, ink: RGB) -> None:
    """An envelope on a fishing hook."""
    draw.rectangle((350, 200, 850, 500), outline=ink, width=10)
    draw.line((350, 200, 600, 370, 850, 200), fill=ink, width=10)
    draw.line((600, 0, 600, 130), fill=ink, width=6)
    draw.arc((540, 70, 660, 190), 0, 180, fill=ink, width=10)
    draw.polygon([(540, 130), (555, 95), (525, 110)], fill=ink)


def _fda(draw: ImageDraw.ImageDraw, ink: RGB) -> None:
    """A stack of documents with circuit traces."""
    for i in range(4):
        x, y = 380 + i * 30, 60 + i * 30
        draw.rectangle((x, y, x + 360, y + 400), fill=(245, 245, 240), outline=ink, width=4)
    x0, y0 = 470, 180
    for i in range(6):
        y = y0 + i * 50
        draw.line((x0, y, x0 + 150, y, x0 + 190, y + 25, x0 + 250, y + 25), fill=ink, width=6)
        draw.ellipse((x0 + 240, y + 15, x0 + 260, y + 35), fill=ink)


def _cloud(draw: ImageDraw.ImageDraw, ink: RGB) -> None:
    """A hospital linked by a dotted line to a cloud."""
    for box in ((700, 100, 900, 260), (820, 60, 1020, 240), (940, 110, 1110, 260)):
        draw.ellipse(box, fill=ink)
    draw.rectangle((760, 180, 1060, 260), fill=ink)
    draw.rectangle((120, 250, 420, 500), fill=ink)
    for col in range(4):
        for row in range(3):
            x, y = 150 + col * 70, 280 + row * 70
            draw.rectangle((x, y, x + 40, y + 40), fill=(40, 60, 90))
    for i in range(12):
        x = 430 + i * 25
        y = 260 - i * 6
        draw.ellipse((x, y, x + 10, y + 10), fill=ink)


FEATURED: tuple[Featured, ...] = (
    Featured(
        name="ransomware-hospital",
        top=(20, 24, 48),
        bottom=(90, 20, 40),
        ink=(235, 235, 240),
        caption="Ransomware and hospital downtime",
        motif=_ransomware,
    ),
    Featured(
        name="iomt-devices",
        top=(6, 60, 70),
        bottom=(10, 110, 100),
        ink=(220, 250, 245),
        caption="Connected medical devices",
        motif=_iomt,
    ),
    Featured(
        name="telehealth-session",
        top=(30, 70, 140),
        bottom=(90, 150, 200),
        ink=(245, 250, 255),
        caption="Securing the virtual visit",
        motif=_telehealth,
    ),
    Featured(
        name="hipaa-risk-assessment",
        top=(120, 90, 50),
        bottom=(200, 170, 120),
        ink=(250, 246, 235),
        caption="The HIPAA risk analysis",
        motif=_hipaa,
    ),
    Featured(
        name="zero-trust-network",
        top=(10, 30, 30),
        bottom=(30, 90, 70),
        ink=(200, 255, 220),
        caption="Zero trust for health systems",
        motif=_zero_trust,
    ),
    Featured(
        name="phishing-training",
        top=(60, 30, 90),
        bottom=(140, 70, 150),
        ink=(250, 240, 255),
        caption="Phishing drills for clinicians",
        motif=_phishing,
    ),
    Featured(
        name="fda-premarket",
        top=(30, 40, 60),
        bottom=(70, 90, 120),
        ink=(40, 120, 200),
        caption="Premarket cybersecurity",
        motif=_fda,
    ),
    Featured(
        name="cloud-ehr",
        top=(40, 110, 180),
        bottom=(160, 210, 240),
        ink=(255, 255, 255),
        caption="Moving the EHR to the cloud",
        motif=_cloud,
    ),
)

ICONS: dict[str, tuple[str, RGB]] = {
    "healthsec-weekly": ("H", (11, 37, 69)),
    "clinical-it-review": ("C", (200, 16, 46)),
    "care-ledger": ("L", (120, 90, 50)),
    "medtech-signal": ("M", (0, 137, 123)),
}


def _gradient(top: RGB, bottom: RGB) -> Image.Image:
    """A vertical gradient from ``top`` to ``bottom``."""
    mask = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    return Image.composite(
        Image.new("RGB", (WIDTH, HEIGHT), bottom), Image.new("RGB", (WIDTH, HEIGHT), top), mask
    )


def draw_featured(spec: Featured) -> Image.Image:
    """The full 1200x630 image for one article."""
    image = _gradient(spec.top, spec.bottom)
    draw = ImageDraw.Draw(image)
    spec.motif(draw, spec.ink)
    draw.rectangle((0, HEIGHT - CAPTION_HEIGHT, WIDTH, HEIGHT), fill=(0, 0, 0))
    draw.text(
        (40, HEIGHT - CAPTION_HEIGHT + 22),
        spec.caption,
        fill=(255, 255, 255),
        font=ImageFont.load_default(size=48),
    )
    draw.text(
        (WIDTH - 40, HEIGHT - 30),
        "medcurate demo illustration",
        fill=(170, 170, 170),
        font=ImageFont.load_default(size=18),
        anchor="rs",
    )
    return image


def encode_jpeg(image: Image.Image, limit: int = MAX_JPEG_BYTES) -> bytes:
    """JPEG bytes at the highest quality (from ``START_QUALITY`` down) that fit in ``limit``."""
    for quality in range(START_QUALITY, MIN_QUALITY - 1, -5):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)
        if buffer.tell() <= limit:
            return buffer.getvalue()
    raise SystemExit(f"cannot fit the image in {limit} bytes even at quality {MIN_QUALITY}")


def draw_icon(letter: str, colour: RGB) -> Image.Image:
    """A 32x32 publisher icon: a letter on a rounded square."""
    icon = Image.new("RGBA", (ICON_SIZE, ICON_SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(icon)
    draw.rounded_rectangle((0, 0, ICON_SIZE - 1, ICON_SIZE - 1), radius=6, fill=(*colour, 255))
    draw.text(
        (ICON_SIZE // 2, ICON_SIZE // 2),
        letter,
        fill=(255, 255, 255, 255),
        font=ImageFont.load_default(size=22),
        anchor="mm",
    )
    return icon


def main() -> None:
    """Write every featured image and icon under ``site/images/``."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    for spec in FEATURED:
        data = encode_jpeg(draw_featured(spec))
        (IMAGES / f"{spec.name}.jpg").write_bytes(data)
        print(f"wrote images/{spec.name}.jpg ({len(data)} bytes)")
    for key, (letter, colour) in ICONS.items():
        draw_icon(letter, colour).save(IMAGES / f"{key}-icon.png", optimize=True)
        print(f"wrote images/{key}-icon.png")


if __name__ == "__main__":
    main()
