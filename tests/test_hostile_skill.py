"""Hostile skill catalogues: the strings a skill adapter carries (descriptions, metadata, its
`location`) never become code in `skill.py`, and come back exactly as the catalogue serves
them. Property-based, like tests/test_hostile_specs.py."""

from __future__ import annotations

import ast
import importlib
import itertools
import sys
from pathlib import Path
from urllib.parse import quote

import yaml
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from naftiko_codegen import output
from naftiko_codegen.pipeline import generate

ROOT = Path(__file__).resolve().parent
CATALOGUE = ROOT / "data" / "skill" / "catalogue.yaml"
BASE = yaml.safe_load(CATALOGUE.read_text())
_counter = itertools.count()

NASTY = st.sampled_from(['"""', "'''", "\\", "\n", "{{", "}}", "{%", "%}", "\x00", "\u2028", "#",
                         "');import os#", '")\nimport os\n("', "\\N{BULLET}", "`", "\t", "%2e"])
TEXT = st.lists(st.one_of(NASTY, st.text(max_size=8)), max_size=8).map("".join)


def _kinds(text: str) -> set[str]:
    return {type(node).__name__ for node in ast.walk(ast.parse(text))}


BASELINE = _kinds(generate(CATALOGUE, CATALOGUE.parent).files["skill.py"])


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(description=TEXT, skill_description=TEXT, tool_description=TEXT, value=TEXT, folder_name=TEXT)
@example(description='"""\nimport os\n"""', skill_description="');import os#",
         tool_description="\\\x00\u2028{{x}}{% raw %}", value='")\nimport os\n("', folder_name='a"b\'c')
def test_skill_strings_never_become_code(tmp_path_factory, description, skill_description,
                                         tool_description, value, folder_name):
    folder = tmp_path_factory.mktemp("hostile-skill")
    package = f"hostile_skill_{next(_counter)}"
    spec = yaml.safe_load(yaml.safe_dump(BASE))
    adapter = next(a for a in spec["capability"]["exposes"] if a["type"] == "skill")
    adapter["description"] = description
    skill = adapter["skills"][0]
    skill["description"] = skill_description
    skill["tools"][0]["description"] = tool_description
    skill["metadata"] = {"owner": value, value or "k": "v"}
    name = folder_name.replace("/", "_").replace("\x00", "_")
    directory = "/srv/" + (name if set(name) - {"."} else "x")  # `..` would climb out of /srv
    skill["location"] = "file://" + quote(directory)
    path = folder / f"{package}.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True))
    loaded = yaml.safe_load(path.read_text())  # the strings as YAML reads them back
    loaded_skill = next(a for a in loaded["capability"]["exposes"] if a["type"] == "skill")["skills"][0]
    result = generate(path, folder)
    assert result.ok, [d.render() for d in result.diagnostics]
    kinds = _kinds(result.files["skill.py"])
    assert kinds <= BASELINE, f"unexpected {kinds - BASELINE}"

    output.write(folder / "out", {package: result.files})
    sys.path.insert(0, str(folder / "out"))
    try:
        module = importlib.import_module(f"{package}.skill")
        detail = module.SKILLS[loaded_skill["name"]]
        assert detail["description"] == loaded_skill["description"]
        assert detail["tools"][0]["description"] == loaded_skill["tools"][0]["description"]
        assert detail["metadata"] == loaded_skill["metadata"]
        assert module.LOCATIONS[loaded_skill["name"]][0] == str(Path(directory))
    finally:
        sys.path.remove(str(folder / "out"))
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
