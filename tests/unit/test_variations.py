"""More variations as written (docs/semantics.md): each read one way, with a warning."""

from __future__ import annotations

from pathlib import Path

from naftiko_codegen.build import build
from naftiko_codegen.diagnostics import Diagnosed
from naftiko_codegen.model import Capability
from naftiko_codegen.pipeline import check
from tests.unit.test_build import BASE, variant, write


def _codes(tmp_path: Path, text: str) -> dict[str, list[str]]:
    """Every diagnostic of the pipeline (imports, dialect, validation, then the build)."""
    doc, result = check(write(tmp_path, text))
    found = list(result.diagnostics)
    if doc is not None and result.ok:
        try:
            build(doc)
        except Diagnosed as exc:
            found += exc.diagnostics
    out: dict[str, list[str]] = {}
    for d in found:
        out.setdefault(d.code, []).append(d.message)
    return out


def built(tmp_path: Path, text: str) -> Capability:
    doc, result = check(write(tmp_path, text))
    assert doc is not None and result.ok, [d.render() for d in result.diagnostics]
    return build(doc)


def test_bind_named_without_keys(tmp_path: Path):
    token = variant(("    baseUri: https://api.example.com/v1\n",
                     ("    baseUri: https://api.example.com/v1\n    authentication:\n      type: bearer\n"
                     "      token: '{{API_TOKEN}}'\n")))
    for binds in ("binds:\n- API_TOKEN\n", "binds:\n- name: API_TOKEN\n  env: MY_TOKEN_VARIABLE\n"):
        text = token.replace("capability:\n", binds + "capability:\n", 1)
        codes = _codes(tmp_path, text)
        assert "W350" in codes and "W201" not in codes and not any(c.startswith("E") for c in codes)
        cap = built(tmp_path, text)
        expected = "API_TOKEN" if "- API_TOKEN" in binds else "MY_TOKEN_VARIABLE"
        assert cap.required_env == (expected,)
    # another shape stays for the schema to refuse
    assert "E111" in _codes(tmp_path, token.replace("capability:\n", "binds:\n- 42\ncapability:\n", 1))


def test_import_list_by_name(tmp_path: Path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "api.yaml").write_text(
        variant(("  exposes:\n", "  exposes: []\n"), text=BASE).split("  exposes: []\n")[0], "utf-8")
    root = BASE.split("  consumes:\n")[0] + "  exposes:\n" + BASE.split("  exposes:\n")[1]
    text = root.replace("capability:\n", "import:\n- name: api\n  location: shared/api.yaml\ncapability:\n", 1)
    doc, result = check(write(tmp_path, text))
    codes = {d.code for d in result.diagnostics}
    assert "W351" in codes and result.ok, [d.render() for d in result.diagnostics]
    assert doc is not None and doc.data["capability"]["consumes"][0]["namespace"] == "api"
    assert "import" not in doc.data


def test_fixed_query_string_in_a_consumed_path(tmp_path: Path):
    text = BASE.replace("      path: /items/{id}\n      operations:", "      path: /items/{id}?expand=all&v=2\n"
                        "      operations:", 1)
    assert "W352" in _codes(tmp_path, text)
    (op,) = built(tmp_path, text).operations
    assert "?" not in op.path and op.path.startswith("/items/{")
    fixed = {p.name: p.fixed.literal for p in op.parameters if p.fixed is not None and p.location == "query"}
    assert fixed == {"expand": "all", "v": "2"}
    # a placeholder in the query, or a name the operation declares otherwise: still E104
    assert "E104" in _codes(tmp_path, text.replace("expand=all", "expand={{what}}"))
    assert "E104" in _codes(tmp_path, text.replace("expand=all", "id=7"))


def test_this_reference_in_with(tmp_path: Path):
    text = variant(("      description: Get one item\n      call: api.get-item\n",
                    ("      description: Get one item\n      inputParameters:\n      - name: key\n"
                    "      call: api.get-item\n      with:\n        id: $this.demo-mcp.{{key}}\n")))
    assert "W353" in _codes(tmp_path, text)
    tool = built(tmp_path, text).mcp.tools[0]
    (argument,) = tool.call.arguments
    assert (argument.source, argument.input_name) == ("input", "key")
    # `$this` of a namespace nobody exposes is left as written (a literal)
    other = text.replace("$this.demo-mcp.", "$this.elsewhere.")
    assert "W353" not in _codes(tmp_path, other)


def test_namespace_of_a_consumed_api_and_an_adapter(tmp_path: Path):
    text = BASE.replace("    namespace: demo-mcp\n", "    namespace: api\n")
    codes = _codes(tmp_path, text)
    assert "W354" in codes and "E120" not in codes
    assert built(tmp_path, text).mcp.tools[0].call.operation.consumer == "api"
    # two adapters of different kinds named alike are W313; two consumed APIs named alike stay
    # E120 (tests/data/diagnostics/semantic-duplicate-namespace)
    shared = _codes(tmp_path, BASE.replace("    namespace: demo-mcp\n", "    namespace: demo-rest\n"))
    assert "W313" in shared and "E120" not in shared


# --- refusals that say what to write ---------------------------------------------------------

def _hints(tmp_path: Path, text: str, code: str) -> list[str]:
    doc, result = check(write(tmp_path, text))
    found = list(result.diagnostics)
    if doc is not None and result.ok:
        try:
            build(doc)
        except Diagnosed as exc:
            found += exc.diagnostics
    return [d.hint for d in found if d.code == code]


def test_orchestration_block_is_refused_with_what_to_write(tmp_path: Path):
    text = BASE.replace("  exposes:\n", "  orchestration:\n  - name: onboard\n    steps: []\n  exposes:\n", 1)
    (hint,) = _hints(tmp_path, text, "E113")
    assert "steps" in hint and "aggregate" in hint


def test_with_key_for_an_operation_without_parameters(tmp_path: Path):
    text = BASE.replace("        inputParameters:\n        - name: id\n          in: path\n", "", 1).replace(
        "/items/{id}\n      operations:\n      - name: get-item", "/items\n      operations:\n      - name: get-item", 1)
    text = text.replace("      call: api.get-item\n", "      call: api.get-item\n      with:\n        id: tools.x\n")
    hints = _hints(tmp_path, text, "E103")
    assert hints and "declare `id` under its inputParameters" in hints[0]


def test_mapping_value_with_a_placeholder_names_the_step_output(tmp_path: Path):
    text = variant(
        ("        in: path\n", ("        in: path\n        outputParameters:\n        - name: title\n"
                              "          type: string\n          value: $.title\n")),
        ("      description: Get one item\n      call: api.get-item\n",
         ("      description: Get one item\n      steps:\n      - name: fetch\n        type: call\n"
         "        call: api.get-item\n      mappings:\n      - targetName: t\n        value: $.{{title}}\n"
         "      - targetName: v\n        value: v1\n")),
    )
    hints = _hints(tmp_path, text, "E153")
    assert any("write `$.fetch.title`" in h for h in hints)
    assert any("constant" in h for h in hints)


def test_forward_on_a_fixed_path_says_where_to_put_it(tmp_path: Path):
    text = BASE.replace("    - path: /items/{id}\n      operations:\n",
                        "    - path: /items/mine\n      forward:\n        targetNamespace: api\n      operations:\n", 1)
    hints = _hints(tmp_path, text, "E300")
    assert any("`/items/{{path}}`" in h for h in hints)


def test_resource_level_parameters_are_every_operations(tmp_path: Path):
    text = BASE.replace("      path: /items/{id}\n      operations:\n",
                        "      path: /items/{id}\n      inputParameters:\n      - name: v\n        in: query\n"
                        "        value: '2'\n      - name: id\n        in: query\n      operations:\n", 1)
    (op,) = built(tmp_path, text).operations
    kinds = {p.name: (p.location, p.fixed.literal if p.fixed else None) for p in op.parameters}
    assert kinds == {"id": ("path", None), "v": ("query", "2")}  # the operation's own `id` wins


def test_tool_missing_a_required_path_parameter_says_so(tmp_path: Path):
    # shopify's create-fulfillment: the tool declares its inputs but not the order in the path
    text = BASE.replace("      description: Get one item\n      call: api.get-item\n",
                        "      description: Get one item\n      inputParameters:\n      - name: note\n"
                        "      call: api.get-item\n", 1)
    (hint,) = _hints(tmp_path, text, "E107")
    assert hint.startswith("`id` is a required path parameter of `api.get-item`")
