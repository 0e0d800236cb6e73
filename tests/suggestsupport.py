"""Posts for the suggestion tests, written on the fly in the dev corpus's bookmark shape."""

from __future__ import annotations

from pathlib import Path

PARKING = (
    "Hospital opens a smartphone app that guides visitors to free parking spaces",
    "The app shows visitors which parking garage near the hospital has free spaces and guides them there.",
)


def write_post(
    directory: Path, name: str, *, title: str, text: str, date: str, labels: tuple[str, ...] = ()
) -> Path:
    """A bookmark-variant post (the dev corpus's shape) with these labels."""
    directory.mkdir(parents=True, exist_ok=True)
    categories = "".join(f"\n- {label}" for label in labels)
    front = (
        f"archetype: bookmark\ncategories:{categories or ' []'}\ndate: {date}\n"
        f"description: {text}\nlink: https://news.example.org/{name}\nlinkBrand: example.org\n"
        f"slug: example-{name}\ntitle: {title}\n"
    )
    path = directory / f"{name}.md"
    path.write_text(f"---\n{front}---\n{text}\n", encoding="utf-8")
    return path
