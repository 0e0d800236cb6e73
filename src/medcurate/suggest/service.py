"""The database-facing suggestion functions: train, suggest (and store), record an editor's decision.

1. ``train`` reads the history (every kept item's labels and community, every reject), fits the
   topic and community models, writes them to ``settings.models_dir/<version>/`` and records the
   version in ``model_versions``. Embeddings are cached on disk (``embeddings.npz``), so a retrain
   embeds only new or changed items.
2. ``suggest_for_item`` loads the newest model (once per process), adds the decisions taken since it
   was trained to its kNN store (so an accept counts at once, before the next ``train``), and stores
   the item's suggestions, replacing its pending ones.
3. ``record_decision`` stores the decision, changes the item's front matter (topics, community,
   ``relatedOfferings``), marks the suggestion and writes an audit event.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from medcurate.config import SiteConfig, load_config
from medcurate.errors import ConfigError, SuggestError
from medcurate.history import decision_detail
from medcurate.models import CuratedItem, Decision, DecisionAction, ItemState, Offering, normalize_label
from medcurate.rules import offering_entries, with_topics
from medcurate.settings import Settings
from medcurate.store.db import Database
from medcurate.store.models import DecisionRecord, ItemRecord, ModelVersionRecord, SuggestionRecord
from medcurate.store.repository import all_items, get_item, item_from_record, record_audit, save_item
from medcurate.store.suggestions import (
    NewSuggestion,
    add_decision,
    add_model_version,
    decisions_on_items,
    item_suggestions,
    labelled_times,
    latest_decisions,
    latest_model_version,
    mark_suggestion,
    replace_pending_suggestions,
)
from medcurate.suggest import DEFAULT_K, KINDS, Suggestion
from medcurate.suggest.coldstart import enrich_labels
from medcurate.suggest.embedding import Embed, item_text, stored_space
from medcurate.suggest.encoders import embedding_cache
from medcurate.suggest.engine import fit
from medcurate.suggest.labelmodel import EngineOptions, Example, LabelModel
from medcurate.suggest.labels import LabelInfo
from medcurate.suggest.mesh import default_index
from medcurate.suggest.online import apply_decisions
from medcurate.suggest.persist import FORMAT_VERSION, READABLE_FORMATS, load_model, save_model, stored_format
from medcurate.suggest.suggester import EmbeddingSuggester
from medcurate.suggest.terms import domain_centre

LOGGER = logging.getLogger(__name__)

MODEL_KIND = "suggest"
LEARNING_STATES = (ItemState.PUBLISHED, ItemState.APPROVED, ItemState.DRAFT)
_STATUS = {DecisionAction.ACCEPT: "accepted", DecisionAction.REJECT: "rejected", DecisionAction.ADD: "added"}


@dataclass(frozen=True, kw_only=True)
class ModelInfo:
    """A trained model: its version, where it is stored, and what it learned from."""

    version: str
    path: Path
    created_at: datetime
    metrics: dict[str, Any] = field(default_factory=dict)


# --- history ---------------------------------------------------------------------------------------


def _examples(
    records: Sequence[ItemRecord],
    decisions: dict[tuple[int, str, str], DecisionRecord],
    times: dict[int, float],
) -> tuple[list[Example], list[Example]]:
    """Topic and community examples from item rows, the decisions on them and when they were labelled."""
    topic_examples: list[Example] = []
    community_examples: list[Example] = []
    by_item: dict[int, list[DecisionRecord]] = {}
    for (item_id, _, _), decision in decisions.items():
        by_item.setdefault(item_id, []).append(decision)
    for record in records:
        item = item_from_record(record)
        text = item_text(item, extra=record.text)
        on_item = by_item.get(record.id, [])
        topic_rejects = {
            d.label for d in on_item if d.kind == "topic" and d.action == DecisionAction.REJECT.value
        }
        carried = {normalize_label(label) for label in item.topics}
        negatives = tuple(sorted(label for label in topic_rejects if normalize_label(label) not in carried))
        # An item with a decision on it stays behind the kNN gate after a training (``engine.fit``).
        example = partial(
            Example,
            key=f"item:{record.id}",
            title=item.title,
            text=text,
            at=times.get(record.id, 0.0),
            decided=bool(on_item),
        )
        topic_examples.append(example(positives=tuple(item.topics), negatives=negatives))
        community_rejects = tuple(
            d.label
            for d in on_item
            if d.kind == "community"
            and d.action == DecisionAction.REJECT.value
            and d.label != record.community
        )
        community_examples.append(
            example(
                positives=(record.community,) if record.community else (),
                negatives=community_rejects,
            )
        )
    return topic_examples, community_examples


def topic_labels(config: SiteConfig) -> list[LabelInfo]:
    """The configured topics as candidate labels, enriched from the bundled health-IT concepts."""
    return enrich_labels(
        [
            LabelInfo(label=t.label, description=t.description or "", synonyms=tuple(t.synonyms))
            for t in config.topics
        ]
    )


def community_labels(config: SiteConfig) -> list[LabelInfo]:
    """The configured communities as candidate labels (their key), described by name, text and topics."""
    labels: list[LabelInfo] = []
    for community in config.communities:
        topics = ", ".join(label.partition(": ")[2] or label for label in community.topics)
        description = ". ".join(part for part in (community.description or "", topics) if part)
        labels.append(LabelInfo(label=community.key, description=description, synonyms=(community.name,)))
    return labels


# --- training --------------------------------------------------------------------------------------

_MODELS: dict[Path, tuple[LabelModel, LabelModel, dict[str, Any]]] = {}


def _version(created: datetime, metrics: dict[str, Any]) -> str:
    digest = hashlib.blake2b(repr(sorted(metrics.items())).encode(), digest_size=4).hexdigest()
    return f"{created:%Y%m%dT%H%M%S%f}-{digest}"


def train(database: Database, *, settings: Settings, options: EngineOptions | None = None) -> ModelInfo:
    """Fit the topic and community models on the whole history and store them with a new version.

    Args:
        database: the site's database.
        settings: where models are written (``settings.models_dir``) and the site configuration.
        options: the learner's options (defaults when omitted).

    Returns:
        The new model's version, directory and figures.
    """
    started = time.perf_counter()
    config = settings.load_site_config()
    with database.session() as session:
        records = all_items(session, states=LEARNING_STATES)
        decisions = latest_decisions(session)
        last_decision = max((d.id for d in decisions.values()), default=0)
        times = labelled_times(session)
        topic_examples, community_examples = _examples(records, decisions, times)
    cache = embedding_cache(settings)
    known_before = len(cache.vectors)
    # Prototypes are measured from the domain's centre, with history or without (the cold start).
    centre = domain_centre(cache.embed)
    topics = fit(
        topic_examples, labels=topic_labels(config), embed=cache.embed, options=options, centre=centre
    )
    communities = fit(
        community_examples, labels=community_labels(config), embed=cache.embed, options=options, centre=centre
    )
    cache.save()
    # Each model records the vector space it was fitted in; loading it checks that (load_suggester).
    topics = replace(topics, metrics={**topics.metrics, "encoder": cache.space})
    communities = replace(communities, metrics={**communities.metrics, "encoder": cache.space})
    created = datetime.now(UTC)
    metrics: dict[str, Any] = {
        "items": len(records),
        "topic_items": topics.metrics.get("items", 0),
        "topic_labels": len(topics.labels),
        "calibrated": topics.calibrated,
        "threshold": topics.threshold,
        "community_items": communities.metrics.get("items", 0),
        "texts_embedded": len(cache.vectors) - known_before,
        "last_decision_id": last_decision,
        "seconds": round(time.perf_counter() - started, 2),
        "encoder": cache.space,
    }
    version = _version(created, metrics)
    directory = settings.models_dir / version
    save_model(topics, directory, name="topics")
    save_model(communities, directory, name="communities")
    with database.session() as session:
        add_model_version(session, kind=MODEL_KIND, version=version, path=str(directory), metrics=metrics)
    _MODELS[directory] = (topics, communities, metrics)
    return ModelInfo(version=version, path=directory, created_at=created, metrics=metrics)


def latest_model(database: Database) -> ModelVersionRecord | None:
    """The newest recorded model, if any."""
    with database.session() as session:
        return latest_model_version(session, kind=MODEL_KIND)


@dataclass(frozen=True, kw_only=True)
class _LiveModels:
    """A trained model pair with the decisions up to ``last_decision`` applied (``suggest.online``)."""

    topics: LabelModel
    communities: LabelModel
    last_decision: int


_LIVE: dict[Path, _LiveModels] = {}


def _live_models(
    database: Database,
    directory: Path,
    topics: LabelModel,
    communities: LabelModel,
    metrics: dict[str, Any],
    *,
    embed: Embed,
) -> tuple[LabelModel, LabelModel]:
    """The models with every decision since their training applied; only new decisions cost work."""
    live = _LIVE.get(directory) or _LiveModels(
        topics=topics, communities=communities, last_decision=int(metrics.get("last_decision_id", 0))
    )
    with database.session() as session:
        recent = latest_decisions(session, after_id=live.last_decision)
        if recent:
            item_ids = sorted({item_id for item_id, _, _ in recent})
            records = [get_item(session, item_id=i) for i in item_ids]
            # Every decision on those items, not just the recent ones, so rejects are not forgotten.
            topic_examples, community_examples = _examples(
                records,
                decisions_on_items(session, item_ids=item_ids),
                labelled_times(session, item_ids=item_ids),
            )
            live = _LiveModels(
                topics=apply_decisions(live.topics, topic_examples, embed=embed),
                communities=apply_decisions(live.communities, community_examples, embed=embed),
                last_decision=max(d.id for d in recent.values()),
            )
    _LIVE[directory] = live
    return live.topics, live.communities


def load_suggester(database: Database, *, settings: Settings) -> EmbeddingSuggester:
    """The newest model as a suggester, with the decisions taken since its training applied.

    Trains a first model when none exists yet (a fresh site: the cold start), a new one when the
    newest was written in a format this code cannot read (``persist.READABLE_FORMATS``), and when it
    was fitted with another encoder than ``settings.embedding`` (its vectors are re-embedded: two
    vector spaces are never compared).
    """
    row = latest_model(database)
    stored = stored_format(Path(row.path), name="topics") if row is not None else None
    if row is not None and stored not in {*READABLE_FORMATS, None}:
        LOGGER.warning("model %s has format %s, not %s: retraining", row.version, stored, FORMAT_VERSION)
        row = None
    if row is None:
        info = train(database, settings=settings)
        version, directory = info.version, info.path
    else:
        version, directory = row.version, Path(row.path)
    if directory not in _MODELS:
        metrics = dict(row.metrics) if row is not None else {}
        _MODELS[directory] = (
            load_model(directory, name="topics"),
            load_model(directory, name="communities"),
            metrics,
        )
    topics, communities, metrics = _MODELS[directory]
    cache = embedding_cache(settings)
    if stored_space(topics.metrics) != cache.space or stored_space(communities.metrics) != cache.space:
        LOGGER.warning(
            "model %s holds vectors of %s but MEDCURATE_EMBEDDING=%s embeds with %s: retraining",
            version,
            stored_space(topics.metrics),
            settings.embedding,
            cache.space,
        )
        info = train(database, settings=settings)
        version, directory = info.version, info.path
        topics, communities, metrics = _MODELS[directory]
    topics, communities = _live_models(database, directory, topics, communities, metrics, embed=cache.embed)
    return EmbeddingSuggester(
        topics=topics,
        communities=communities,
        offerings=settings.load_site_config().offerings,
        embed=cache.embed,
        mesh=default_index(),
        version=version,
    )


# --- suggestions and decisions ---------------------------------------------------------------------


def suggest_for_item(
    database: Database, *, item_id: int, settings: Settings, k: int = DEFAULT_K
) -> list[Suggestion]:
    """Compute the item's suggestions and store them, replacing its pending ones.

    Args:
        database: the site's database.
        item_id: the item to suggest for.
        settings: models directory and configuration.
        k: how many topics (communities and offerings have their own small limits).

    Returns:
        The suggestions, topics first, each kind ranked from 1.
    """
    from medcurate.ops.metrics import SUGGEST_SECONDS

    suggester = load_suggester(database, settings=settings)
    with database.session() as session:
        record = get_item(session, item_id=item_id)
        item, extra = item_from_record(record), record.text
    with SUGGEST_SECONDS.time():
        suggestions = suggester.suggest(item, k=k, text=extra, key=f"item:{item_id}")
    rows = [
        NewSuggestion(
            kind=s.kind,
            label=s.label[:400],
            label_key=normalize_label(s.label)[:400],
            score=s.score,
            rank=s.rank,
            reason=s.reason,
            model_version=s.model_version[:64],
        )
        for s in suggestions
    ]
    with database.session() as session:
        stored = {id(row) for row in replace_pending_suggestions(session, item_id=item_id, suggestions=rows)}
    return [s for s, row in zip(suggestions, rows, strict=True) if id(row) in stored]


def suggest_for_document(
    database: Database, *, item: CuratedItem, settings: Settings, k: int = DEFAULT_K
) -> list[Suggestion]:
    """Suggestions for an item that is not stored (a file on disk); nothing is written but a first model."""
    return load_suggester(database, settings=settings).suggest(item, k=k)


def _offering(config: SiteConfig, label: str) -> Offering:
    """The configured offering called ``label`` (case and spaces aside)."""
    key = normalize_label(label)
    offering = next((o for o in config.offerings if normalize_label(o.label) == key), None)
    if offering is None:
        raise SuggestError(f"unknown offering {label!r}; `medcurate config show` lists them")
    return offering


def checked_decision(
    *, item_id: int, kind: str, label: str, action: str | DecisionAction, actor: str, config: SiteConfig
) -> Decision:
    """An editor's decision as it is stored, or ``SuggestError`` saying what is wrong with it.

    The one place the app and the CLI validate a decision: the kind and action must be known and the
    label non-empty; a community accepted or added is named by its key (its name, identifier or
    base path are resolved), and an offering accepted or added must be configured.
    """
    if kind not in KINDS:
        raise SuggestError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    try:
        decision = Decision(
            item_id=item_id, kind=kind, label=" ".join(label.split()), action=action, actor=actor
        )
    except ValueError as exc:
        raise SuggestError(f"not a valid decision: {exc}") from exc
    if not normalize_label(decision.label):
        raise SuggestError("the label is empty")
    if decision.action is DecisionAction.REJECT:
        return decision
    if kind == "community":
        try:
            return decision.model_copy(update={"label": config.community(decision.label).key})
        except ConfigError as exc:
            raise SuggestError(str(exc)) from exc
    if kind == "offering":
        _offering(config, decision.label)
    return decision


def _changed_item(item: CuratedItem, decision: Decision, *, config: SiteConfig) -> CuratedItem:
    """The item with a checked decision applied to its topics or related offerings."""
    key = normalize_label(decision.label)
    keep = decision.action is not DecisionAction.REJECT
    if decision.kind == "topic":
        labels = [t for t in item.topics if normalize_label(t) != key]
        labels += [decision.label] if keep else []
        return with_topics(item, labels) if labels != item.topics else item
    if decision.kind == "offering":
        current = list(item.front_matter.get("relatedOfferings") or [])
        kept = [
            e
            for e in current
            if not (isinstance(e, dict) and normalize_label(str(e.get("label", ""))) == key)
        ]
        kept += offering_entries([_offering(config, decision.label)]) if keep else []
        return item.updated({"relatedOfferings": kept}) if kept != current else item
    return item


def _apply_to_item(
    session: Session, decision: Decision, *, config: SiteConfig
) -> tuple[CuratedItem, CuratedItem, tuple[str | None, str | None]]:
    """Write a checked decision into its item; the item and its community before and after (for the audit)."""
    record = get_item(session, item_id=decision.item_id)
    item, community_before = item_from_record(record), record.community
    changed = _changed_item(item, decision, config=config)
    keep = decision.action is not DecisionAction.REJECT
    community = decision.label if decision.kind == "community" and keep else None
    if changed is not item or community is not None:
        save_item(session, item=changed, md_name=record.md_name, url_key=record.url_key, community=community)
    return item, changed, (community_before, community)


def record_decision(
    database: Database,
    *,
    item_id: int,
    kind: str,
    label: str,
    action: str | DecisionAction,
    actor: str,
    config: SiteConfig | None = None,
) -> None:
    """Check an editor's accept, reject or add, apply it to the item, store it, mark the suggestion, audit it.

    Args:
        database: the site's database.
        item_id: the item decided on.
        kind: ``topic``, ``community`` or ``offering``.
        label: the topic label, community (key, name, identifier or base path) or offering label.
        action: ``accept``, ``reject`` or ``add``.
        actor: who decided (a user name).
        config: the site configuration, for communities and offerings (the bundled default when omitted).

    Raises:
        SuggestError: the decision is not valid (``checked_decision``).
    """
    site = config or load_config(None)
    decision = checked_decision(
        item_id=item_id, kind=kind, label=label, action=action, actor=actor, config=site
    )
    key = normalize_label(decision.label)[:400]
    with database.session() as session:
        item, changed, community = _apply_to_item(session, decision, config=site)
        add_decision(
            session,
            item_id=item_id,
            kind=kind,
            label=decision.label[:400],
            label_key=key,
            action=decision.action.value,
            actor=actor,
            at=decision.at,
        )
        status = _STATUS[decision.action]
        suggested = mark_suggestion(session, item_id=item_id, kind=kind, label_key=key, status=status)
        record_audit(
            session,
            actor=actor,
            action=f"suggestion.{decision.action.value}",
            entity_type="item",
            entity_id=item_id,
            detail=decision_detail(
                item,
                changed,
                kind=kind,
                label=decision.label,
                suggested=suggested,
                community=community,
            ),
        )


def stored_suggestions(database: Database, *, item_id: int) -> list[SuggestionRecord]:
    """The item's stored suggestions, by kind and rank."""
    with database.session() as session:
        return item_suggestions(session, item_id=item_id)
