"""The cold start: health-IT concepts, MeSH headings by meaning, reasons, and the floor on the dev corpus."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import paths
from medcurate.cli import app
from medcurate.config import default_config_text, load_config
from medcurate.frontmatter import read_document
from medcurate.importer import import_paths
from medcurate.settings import Settings
from medcurate.store.db import Database, open_database
from medcurate.store.repository import all_items
from medcurate.suggest import strength
from medcurate.suggest.coldstart import enrich_labels, generality_weight, is_generic, read_taxonomy
from medcurate.suggest.embedding import EMBEDDING_DIM, Vector, item_vectors
from medcurate.suggest.engine import fit, predict
from medcurate.suggest.labelmodel import Example
from medcurate.suggest.labels import LabelInfo
from medcurate.suggest.mesh import default_index, load_descriptors, mesh_label
from medcurate.suggest.service import record_decision, suggest_for_document, suggest_for_item
from medcurate.suggest.terms import PhraseMatcher, load_concepts
from suggestsupport import baseline_floors

FIXTURES = paths.FIXTURES / "suggest"


def _bag_of_words(texts: Sequence[str]) -> Vector:
    """A deterministic stand-in for the encoder: hashed words, normalised (no model to load)."""
    matrix = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in text.lower().split():
            matrix[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % EMBEDDING_DIM] += 1.0
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.asarray(matrix / np.maximum(norms, 1e-12), dtype=np.float32)


# --- phrases and concepts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Epic's EHR moved to the cloud", True),
        ("two EHRs and an electronic medical record", True),
        ("the ehr of a small practice", False),  # an acronym matches only as written
        ("Electronic health records, again", True),
        ("a health record", False),
    ],
)
def test_acronyms_match_as_written_and_words_in_any_case(text: str, found: bool) -> None:
    concepts = [c for c in load_concepts() if c.name == "Electronic Health Records"]
    matcher = PhraseMatcher.build([concepts[0].terms])
    assert bool(matcher.find("", text)) is found


def test_the_longest_phrase_wins_and_title_matches_count_once() -> None:
    matcher = PhraseMatcher.build([["health record"], ["electronic health record", "EHR"]])
    hits = {hit.target: hit for hit in matcher.find("EHR move", "EHR move. An electronic health record.")}
    assert set(hits) == {1}
    assert (
        hits[1].count == 2 and hits[1].in_title and set(hits[1].forms) == {"EHR", "electronic health record"}
    )


def test_every_mesh_concept_is_a_heading_of_the_installed_vocabulary() -> None:
    headings = {descriptor.name for descriptor in load_descriptors()}
    missing = [c.name for c in load_concepts() if c.mesh and c.name not in headings]
    assert not missing


@pytest.mark.parametrize(
    ("title", "text", "one_health"),
    [
        ("Inside One Health System's Three-Year Move to Zero Trust", "", False),
        ("News", "One Health Partners signed a deal; one health system in Ohio followed.", False),
        ("A One Health approach to zoonoses", "", True),
        ("News", "Vets and doctors share One Health surveillance.", True),
    ],
)
def test_one_health_in_an_organisation_s_name_is_not_the_heading(
    title: str, text: str, one_health: bool
) -> None:
    names = {match.descriptor.name for match in default_index().match(title, text)}
    assert ("One Health" in names) is one_health


@pytest.mark.parametrize(
    ("name", "generic"),
    [
        ("Hospitals", True),
        ("Humans", True),
        ("Patients", True),
        ("Health Facilities", True),
        ("Electronic Health Records", False),
        ("Computer Security", False),
        ("Telemedicine", False),
    ],
)
def test_broad_headings_are_generic_and_weigh_less(name: str, generic: bool) -> None:
    assert is_generic(name) is generic
    assert generality_weight(mesh_label(name)) == (0.5 if generic else 1.0)
    assert generality_weight(name) == 1.0  # a site's own label is never scaled


def test_labels_gain_the_words_of_the_concepts_they_name() -> None:
    ai, ehr, funding, unknown = enrich_labels(
        [
            LabelInfo(label="ai"),
            LabelInfo(label=mesh_label("Electronic Health Records"), synonyms=("EHR",)),
            LabelInfo(label="digital health funding"),
            LabelInfo(label="Node Health"),
        ]
    )
    assert "Artificial Intelligence" in ai.synonyms and "machine intelligence" in ai.synonyms
    assert ehr.synonyms.count("EHR") == 1 and "electronic medical record" in ehr.synonyms
    # A label that combines concepts is described by them, not matched by either alone.
    assert (
        funding.synonyms == ()
        and "Digital Health" in funding.description
        and "venture capital" in funding.description
    )
    assert unknown == LabelInfo(label="Node Health")


def test_a_taxonomy_is_a_list_of_lines_or_a_site_configuration(tmp_path: Path) -> None:
    lines = tmp_path / "labels.txt"
    lines.write_text("# topics\nAI\n\nhealthcare  it\nAI\nHIMSS 19\n", encoding="utf-8")
    assert [info.label for info in read_taxonomy(lines)] == ["AI", "healthcare it", "HIMSS 19"]
    site = tmp_path / "medcurate.toml"
    site.write_text(default_config_text(), encoding="utf-8")
    topics = read_taxonomy(site)
    assert any(info.label.endswith(": Cybersecurity") and info.synonyms for info in topics)


def test_scores_read_as_words() -> None:
    assert [strength(s) for s in (0.9, 0.6, 0.45, 0.3, 0.1)] == [
        "strong",
        "strong",
        "possible",
        "possible",
        "weak",
    ]


# --- reasons -----------------------------------------------------------------------------------------


def test_a_reason_never_cites_the_item_itself_and_names_its_evidence() -> None:
    title = "Telehealth Security Gets a Second Look"
    text = "telehealth security video visits encryption vendors"
    examples = [
        Example(key="item:1", title=title, text=text, positives=("Cybersecurity",)),
        Example(
            key="item:2",
            title="Video visit vendors patch encryption",
            text=text,
            positives=("Cybersecurity",),
        ),
        Example(key="item:3", title="Telehealth security checklist", text=text, positives=("Cybersecurity",)),
    ]
    model = fit(examples, labels=(), embed=_bag_of_words)
    vector = item_vectors(_bag_of_words, [title], [text])[0]
    for key in ("item:1", ""):  # by key, and by the same title and text when the key is unknown
        reason = predict(model, vector=vector, title=title, text=text, key=key)[0].reason
        assert title not in reason
        assert reason.startswith("like 2 items you tagged Cybersecurity: “")
    mentions = predict(
        fit((), labels=[LabelInfo(label="Cybersecurity", synonyms=("ransomware",))], embed=_bag_of_words),
        vector=vector,
        title="Ransomware again",
        text="Ransomware hit. The ransomware spread; ransomware demands.",
    )[0].reason
    assert "mentions ‘ransomware’ 4×" in mentions


# --- the demo cases, with the bundled model --------------------------------------------------------


@pytest.fixture()
def fresh_site(tmp_path: Path) -> Iterator[tuple[Database, Settings]]:
    """A site with the bundled configuration and no item: the cold start."""
    settings = Settings(home=tmp_path / "home")
    database = open_database(f"sqlite:///{tmp_path / 'medcurate.db'}")
    yield database, settings
    database.dispose()


def _topics(database: Database, settings: Settings, name: str) -> list[tuple[str, float, str]]:
    item = read_document(FIXTURES / "new" / f"{name}.md")
    suggestions = suggest_for_document(database, item=item, settings=settings, k=5)
    return [(s.label, s.score, s.reason) for s in suggestions if s.kind == "topic"]


@pytest.mark.slow
def test_a_cloud_ehr_migration_gets_a_specific_heading_first(fresh_site: tuple[Database, Settings]) -> None:
    topics = _topics(*fresh_site, "cloud-ehr-migration")
    labels = [label for label, _, _ in topics]
    top = labels[0]
    assert top.startswith("Medical Subject Headings (MeSH): ") and not is_generic(top.partition(": ")[2]), (
        topics
    )
    assert mesh_label("Electronic Health Records") in labels[:2], topics
    ehr = next(reason for label, _, reason in topics if label == mesh_label("Electronic Health Records"))
    assert "‘EHR’ → Electronic Health Records" in ehr
    facilities = (
        labels.index(mesh_label("Health Facilities")) if mesh_label("Health Facilities") in labels else 99
    )
    assert facilities > labels.index(mesh_label("Electronic Health Records"))


@pytest.mark.slow
def test_one_health_system_does_not_suggest_one_health(fresh_site: tuple[Database, Settings]) -> None:
    topics = _topics(*fresh_site, "one-health-system-zero-trust")
    assert not any("One Health" in label for label, _, _ in topics), topics
    assert any("Security" in label or "Cybersecurity" in label for label, _, _ in topics[:3]), topics


@pytest.mark.slow
def test_suggesting_again_after_accepting_never_cites_the_item(fresh_site: tuple[Database, Settings]) -> None:
    database, settings = fresh_site
    import_paths(database, [FIXTURES / "new" / "hospital-ransomware.md"], config=load_config(None))
    with database.session() as session:
        record = all_items(session)[0]
        item_id, title = record.id, record.title
    first = next(
        s for s in suggest_for_item(database, item_id=item_id, settings=settings) if s.kind == "topic"
    )
    record_decision(database, item_id=item_id, kind="topic", label=first.label, action="accept", actor="ana")
    again = suggest_for_item(database, item_id=item_id, settings=settings)
    assert again and not any(title in s.reason for s in again), [s.reason for s in again]


# --- the floor on the dev corpus ---------------------------------------------------------------------


@pytest.mark.shared
@pytest.mark.slow
def test_the_cold_start_beats_zero_shot_on_label_names(curated_posts_dir: Path, tmp_path: Path) -> None:
    floors = baseline_floors("coldstart", curated_posts_dir)
    labels = sorted(
        {
            " ".join(label.lower().split())
            for path in curated_posts_dir.glob("*.md")
            for label in read_document(path).topics
        }
    )
    taxonomy = tmp_path / "labels.txt"
    taxonomy.write_text("\n".join(labels), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["topics", "evaluate", "--taxonomy", str(taxonomy), "--test", str(curated_posts_dir), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    baseline = report["baseline"]
    assert report["n_train"] == 0 and report["n_test"] == baseline["n_test"] > 200
    assert report["p_at_1"] >= floors["p_at_1_floor"]
    assert report["hit_at_3"] >= floors["hit_at_3_floor"]
    margin = floors["margin_over_zero_shot_floor"]
    assert report["p_at_1"] >= baseline["p_at_1"] + margin
    assert report["hit_at_3"] >= baseline["hit_at_3"] + margin
    assert report["micro_f1"] > baseline["micro_f1"]


@pytest.mark.parametrize("choice", [[], ["--train", "TRAIN", "--taxonomy", "TAXONOMY"]])
def test_evaluate_takes_train_or_taxonomy(tmp_path: Path, choice: list[str]) -> None:
    (tmp_path / "labels.txt").write_text("AI\n", encoding="utf-8")
    arguments = [
        a.replace("TRAIN", str(tmp_path)).replace("TAXONOMY", str(tmp_path / "labels.txt")) for a in choice
    ]
    result = CliRunner().invoke(app, ["topics", "evaluate", "--test", str(tmp_path), *arguments])
    assert result.exit_code == 2 and "--taxonomy" in result.output


def test_the_review_screen_shows_scores_in_words_with_the_number_on_hover(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from medcurate.settings import Settings
    from medcurate.web.app import app_templates

    environment = app_templates(Settings(home=tmp_path))
    suggestion = SimpleNamespace(
        kind="topic", label="AI", score=0.42, reason="mentions ‘AI’ 3×", status="pending"
    )
    html = environment.get_template("_topics.html").render(
        item=SimpleNamespace(topics=[]),
        record=SimpleNamespace(id=7),
        suggestions=[suggestion],
        can=lambda role: False,
        csrf_field="",
        known_topics=[],
    )
    assert 'title="score 0.42">possible</span>' in html and "mentions ‘AI’ 3×" in html
