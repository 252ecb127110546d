"""Demo pictures drawn with Pillow for ``seed_demo``: covers, portraits and banners, no downloads.

Each picture is a soft two-colour gradient with a few shapes and, for covers and banners, the
title; the same name always gives the same picture.
"""

import hashlib
import io

from django.core.files.images import ImageFile
from PIL import Image as PillowImage
from PIL import ImageDraw, ImageFont
from wagtail.images import get_image_model
from wagtail.models import Collection

PALETTES = [
    ((59, 91, 219), (12, 166, 120)),
    ((232, 89, 12), (250, 176, 5)),
    ((134, 46, 156), (59, 91, 219)),
    ((9, 146, 104), (21, 170, 191)),
    ((201, 42, 42), (232, 89, 12)),
]


def _palette(name: str):
    digest = hashlib.sha256(name.encode()).digest()
    return PALETTES[digest[0] % len(PALETTES)], digest


def draw_picture(*, name: str, size: tuple[int, int], text: str = "", initials: str = "") -> bytes:
    """A JPEG of ``size``: gradient, circles placed from the name's hash, then the text."""
    (start, end), digest = _palette(name)
    width, height = size
    picture = PillowImage.new("RGB", size, start)
    draw = ImageDraw.Draw(picture)
    for x in range(width):
        mix = x / max(width - 1, 1)
        colour = tuple(round(a + (b - a) * mix) for a, b in zip(start, end, strict=True))
        draw.line([(x, 0), (x, height)], fill=colour)
    overlay = PillowImage.new("RGBA", size, (0, 0, 0, 0))
    shapes = ImageDraw.Draw(overlay)
    for i in range(5):
        radius = (digest[i + 1] % 40 + 20) * min(width, height) // 100
        cx = digest[i + 6] * width // 255
        cy = digest[i + 11] * height // 255
        shapes.ellipse(
            [cx - radius, cy - radius, cx + radius, cy + radius], fill=(255, 255, 255, 38)
        )
    picture = PillowImage.alpha_composite(picture.convert("RGBA"), overlay).convert("RGB")
    draw = ImageDraw.Draw(picture)
    if initials:
        font = ImageFont.load_default(size=height // 2.6)
        draw.text((width / 2, height / 2), initials, font=font, fill="white", anchor="mm")
    if text:
        font = ImageFont.load_default(size=max(height // 9, 18))
        margin = width // 16
        draw.text((margin, height - margin), text, font=font, fill="white", anchor="ls")
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()


def demo_image(
    *, title: str, size: tuple[int, int], collection: Collection | None = None, **drawing
):
    """The Wagtail image called ``title``, drawn and saved the first time only."""
    image_model = get_image_model()
    existing = image_model.objects.filter(title=title).first()
    if existing is not None:
        return existing
    data = draw_picture(name=title, size=size, **drawing)
    filename = hashlib.sha256(title.encode()).hexdigest()[:12] + ".jpg"
    image = image_model(
        title=title,
        file=ImageFile(io.BytesIO(data), name=filename),
        # The root collection, which migrations make (a flushed test database has none).
        collection=collection
        or Collection.get_first_root_node()
        or Collection.add_root(name="Root"),
    )
    image.save()
    return image
