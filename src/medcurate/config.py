"""The site configuration: communities, taxonomies, offerings and publishing paths, from one TOML file.

The bundled default (``data/default-config.toml``) is built from what the seeds show; ``medcurate
init`` copies it into the data directory, where the editors change it. Loading is pure: a path in,
a validated ``SiteConfig`` out.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from medcurate.errors import ConfigError
from medcurate.models import Community, Offering, Taxonomy, Topic

CONFIG_FILE_NAME = "medcurate.toml"
PLACEHOLDER_BASE_URL = "https://example.org/"


class SiteSection(BaseModel):
    """The published site (``[site]``): its address starts every feed, sitemap, canonical and JSON-LD link."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = PLACEHOLDER_BASE_URL


class PublishingConfig(BaseModel):
    """Where and how content is published."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    content_dir: str = "content"
    site_dir: str = "site"
    # Kept in step with ``[site] base_url`` (``SiteConfig``): older files set it here.
    base_url: str = PLACEHOLDER_BASE_URL
    site_title: str = "Curated Health-IT News"
    language: str = "en"
    page_size: int = Field(default=20, ge=1, le=500)
    default_community: str = "news"


class SiteConfig(BaseModel):
    """Everything a site's editors configure."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: SiteSection = Field(default_factory=SiteSection)
    publishing: PublishingConfig = Field(default_factory=PublishingConfig)
    communities: list[Community] = Field(default_factory=list)
    taxonomies: list[Taxonomy] = Field(default_factory=list)
    offerings: list[Offering] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _one_base_url(cls, data: Any) -> Any:
        """``[site] base_url`` is the place; ``[publishing] base_url`` (older files) is read as the same."""
        if not isinstance(data, dict):
            return data
        site = dict(data.get("site") or {})
        publishing = dict(data.get("publishing") or {})
        if "base_url" in site and "base_url" in publishing and site["base_url"] != publishing["base_url"]:
            raise ValueError("site.base_url and publishing.base_url differ: keep only [site] base_url")
        url = site.get("base_url", publishing.get("base_url"))
        if url is None:
            return data
        return {**data, "site": {**site, "base_url": url}, "publishing": {**publishing, "base_url": url}}

    @property
    def base_url(self) -> str:
        """The published site's address, ending with a slash."""
        return self.site.base_url.rstrip("/") + "/"

    def with_base_url(self, url: str) -> SiteConfig:
        """The same configuration with another base URL (``MEDCURATE_BASE_URL``, ``--base-url``)."""
        return self.model_copy(
            update={
                "site": self.site.model_copy(update={"base_url": url}),
                "publishing": self.publishing.model_copy(update={"base_url": url}),
            }
        )

    def community(self, key_or_name: str) -> Community:
        """The community with this key, name, identifier or base path."""
        wanted = key_or_name.strip().casefold()
        for community in self.communities:
            names = (community.key, community.name, community.identifier or "", community.base_path)
            if wanted in {n.casefold() for n in names}:
                return community
        known = ", ".join(c.key for c in self.communities) or "none configured"
        raise ConfigError(f"unknown community {key_or_name!r}; known: {known}")

    def community_for_base_path(self, base_path: str | None) -> Community | None:
        """The community whose base path an item carries, if any."""
        for community in self.communities:
            if base_path and community.base_path.strip("/") == base_path.strip("/"):
                return community
        return None

    @property
    def default_community(self) -> Community:
        """The community new items go to unless an editor picks another."""
        return self.community(self.publishing.default_community)

    @property
    def topics(self) -> list[Topic]:
        """Every configured topic, taxonomy by taxonomy."""
        return [topic for taxonomy in self.taxonomies for topic in taxonomy.topics]


def default_config_text() -> str:
    """The bundled default configuration, as TOML text."""
    return resources.files("medcurate").joinpath("data/default-config.toml").read_text(encoding="utf-8")


def parse_config(text: str, *, origin: str = "<text>") -> SiteConfig:
    """Validate TOML text into a ``SiteConfig``, with a message that names the bad key."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from exc
    try:
        return SiteConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{origin}: {where}: {first['msg']}") from exc


def load_config(path: Path | None) -> SiteConfig:
    """The configuration at ``path``, or the bundled default when there is none.

    The file is read every time, so an edit shows at once; its parse is kept per text (``SiteConfig``
    is frozen): parsing the TOML cost 1-2 ms of every edit's and decision's CPU in the web app.
    """
    if path is None or not path.exists():
        return _parsed(default_config_text(), "bundled default")
    return _parsed(path.read_text(encoding="utf-8"), str(path))


@functools.lru_cache(maxsize=16)
def _parsed(text: str, origin: str) -> SiteConfig:
    return parse_config(text, origin=origin)
