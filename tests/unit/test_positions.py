"""positions.parse: libyaml composes when it can; the pure-Python loader gives the same data and positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from milvus_migrate.files import positions
from milvus_migrate.files.positions import LineMap, YamlProblem

ROOT = Path(__file__).resolve().parents[2]
# Plain YAML files (templated ones are YAML only once rendered).
FILES = sorted(
    p for p in [*ROOT.glob("examples/*/migrations/*.yaml"), *ROOT.glob("migrations/*.yaml")] if "{{" not in p.read_text()
)


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_libyaml_and_pure_python_give_the_same_data_and_positions(path, monkeypatch):
    text = path.read_text()
    fast = positions.parse(text, LineMap(text, text))
    monkeypatch.setattr(positions, "_CLoader", None)
    slow = positions.parse(text, LineMap(text, text))
    assert fast[0] == slow[0]
    assert (fast[1].keys, fast[1].values) == (slow[1].keys, slow[1].values)


def test_a_problem_libyaml_finds_is_reported_by_the_pure_python_loader():
    text = "collections:\n  docs: [unclosed\n"
    with pytest.raises(YamlProblem) as caught:
        positions.parse(text, LineMap(text, text))
    assert caught.value.message.startswith("YAML syntax error") and "started at line 2" in caught.value.message
