"""``report.json`` against its JSON Schema, and true to the library.

Oracles: ``jsonschema`` (Draft 2020-12) validates the document written by the session's report;
the schema is not vacuous (documents with a field missing, a wrong type or another
``schema_version`` are rejected); values are compared with the library's own objects.
"""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest

import divergences as dv
from gan_theory import propositions
from gan_theory.report import SCHEMA_VERSION, schema
from gan_theory.report.site import FORMATS, write_report


@pytest.fixture(scope="module")
def document(small_report):
    out, _ = small_report
    return json.loads((out / FORMATS["json"]).read_text(encoding="utf-8"))


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(schema())


def test_the_report_validates_against_its_schema(document):
    jsonschema.Draft202012Validator(schema()).validate(document)
    assert document["schema_version"] == SCHEMA_VERSION == 1


@pytest.mark.parametrize(
    "damage",
    [
        lambda doc: doc.pop("schema_version"),
        lambda doc: doc.__setitem__("schema_version", 2),
        lambda doc: doc["divergences"][0].pop("conjugate"),
        lambda doc: doc["divergences"][0]["certificate"][0].__setitem__("passed", "yes"),
        lambda doc: doc["divergences"][0]["certificate"][0].__setitem__("kind", "guessed"),
        lambda doc: doc["divergences"][0].__setitem__("page", "../../etc/passwd"),
        lambda doc: doc["propositions"][0].__setitem__("unexpected", 1),
    ],
)
def test_the_schema_rejects_a_damaged_report(document, damage):
    broken = copy.deepcopy(document)
    damage(broken)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema(), cls=jsonschema.Draft202012Validator)


def test_the_json_agrees_with_the_library(document):
    by_name = {record["name"]: record for record in document["divergences"]}
    assert set(by_name) == {"reverse_kl", "total_variation"}
    for name, record in by_name.items():
        d = dv.get(name)
        assert record["conjugate"]["text"] == str(d.conjugate.expr)
        assert record["generator"]["text"] == str(d.generator.expr)
        assert record["conjugate_domain"]["right_open"] == bool(d.conjugate_domain.right_open)
        assert [s["passed"] for s in record["certificate"]] == [s.passed for s in d.steps]
        assert record["page"] == f"divergences/{name}.html"
        numeric = [s for s in record["certificate"] if s["kind"] == "numeric"]
        assert len(numeric) == sum(not s.symbolic for s in d.steps)
        assert all(s["digits"] >= 50 and s["grid"] for s in numeric)
    (prop,) = document["propositions"]
    assert prop["name"] == "saturation"
    assert len(prop["steps"]) == len(propositions.get("saturation").steps)
    summary = document["summary"]
    assert summary["steps"] == summary["passed"]
    assert summary["divergences"] == 2 and summary["propositions"] == 1


def test_without_html_the_json_has_no_pages(tmp_path):
    write_report(tmp_path, only=["gibbs"], formats=["json"], progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    doc = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, schema(), cls=jsonschema.Draft202012Validator)
    assert doc["propositions"][0]["page"] is None and doc["optimal_discriminator"] is None
