"""Build decisions for the control adapter (docs/semantics.md, "The control adapter"), and the
telemetry module generated for it, run in process: trace context parsing, sampling, the trace
buffer's bound and the Prometheus text."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from support.specs import built_valid

from naftiko_codegen.build import build
from naftiko_codegen.diagnostics import Diagnosed, Diagnostic
from naftiko_codegen.emit import emit
from naftiko_codegen.load import load_file
from naftiko_codegen.model import Capability, ExposedAdapter
from naftiko_codegen.validate import validate

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "tests" / "data" / "control" / "observed.yaml").read_text(encoding="utf-8")
OBSERVABILITY = """      observability:
        traces:
          local:
            buffer-size: 10
"""


def variant(*replacements: tuple[str, str], text: str = TEXT) -> str:
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def diagnostics_of(tmp_path: Path, text: str) -> list[Diagnostic]:
    path = tmp_path / "demo.yaml"
    path.write_text(text, encoding="utf-8")
    doc = load_file(path)
    found = validate(doc)
    if any(d.is_error for d in found):
        return found
    try:
        build(doc, warnings=found)
    except Diagnosed as exc:
        return found + exc.diagnostics
    return found


def built(tmp_path: Path, text: str = TEXT) -> Capability:
    return built_valid(tmp_path, text)


def codes(tmp_path: Path, text: str) -> list[tuple[str, str]]:
    return [(d.code, d.message) for d in diagnostics_of(tmp_path, text) if d.code.startswith(("E", "W32"))]


def test_the_control_port_as_the_spec_sets_it(tmp_path: Path):
    cap = built(tmp_path)
    control = cap.control
    assert control is not None and cap.telemetry
    assert (control.address, control.port, control.health, control.info) == ("localhost", 9191, True, True)
    assert (control.metrics, control.traces, control.buffer_size) == (True, True, 10)
    assert (control.sampling, control.propagation) == (1.0, "w3c")
    assert control.adapters == (
        ExposedAdapter("rest", "inventory-rest", 8081),
        ExposedAdapter("mcp", "inventory-mcp", 3001),
        ExposedAdapter("control", "", 9191),
    )
    assert cap.spec_version == "1.0.0-alpha2"
    files = emit(cap)
    assert {"demo/control.py", "demo/_telemetry.py"} <= set(files)
    # the REST service and the MCP server are counted and traced, upstream calls too
    assert 'app.add_middleware(TelemetryMiddleware, adapter="rest")' in files["demo/rest.py"]
    assert 'Middleware(TelemetryMiddleware, adapter="mcp")' in files["demo/mcp_server.py"]
    assert files["demo/client.py"].count("start_upstream(info.method, info.url, headers)") == 2  # sync, async
    assert "end_upstream(status)" in files["demo/_runtime.py"]


def test_defaults_health_on_info_off_everything_observed(tmp_path: Path):
    cap = built(tmp_path, variant(("      management:\n        health: true\n        info: true\n", ""),
                                  (OBSERVABILITY, "")))
    control = cap.control
    assert control is not None
    assert (control.health, control.info, control.metrics, control.traces) == (True, False, True, True)
    assert (control.buffer_size, control.sampling, control.propagation) == (100, 1.0, "w3c")


def test_observability_disabled_records_nothing(tmp_path: Path):
    cap = built(tmp_path, variant((OBSERVABILITY, "      observability:\n        enabled: false\n")))
    control = cap.control
    assert control is not None
    assert (control.telemetry, control.metrics, control.traces) == (False, False, False)
    files = emit(cap)
    assert "demo/_telemetry.py" not in files
    assert not any("_telemetry" in text or "traceparent" in text for text in files.values())


def test_local_endpoints_switch_separately(tmp_path: Path):
    cap = built(tmp_path, variant((OBSERVABILITY, """      observability:
        metrics:
          local:
            enabled: false
        traces:
          sampling: 0.25
          propagation: b3
""")))
    control = cap.control
    assert control is not None
    assert (control.telemetry, control.metrics, control.traces) == (True, False, True)
    assert (control.sampling, control.propagation) == (0.25, "b3")


def test_without_a_control_adapter_nothing_changes(tmp_path: Path):
    cap = built(tmp_path, variant((("    - type: control\n      address: localhost\n      port: 9191\n"
                                   "      management:\n        health: true\n        info: true\n"), ""),
                                  (OBSERVABILITY, "")))
    assert cap.control is None and not cap.telemetry
    files = emit(cap)
    assert "demo/control.py" not in files and "demo/_telemetry.py" not in files
    assert '"serve"' not in files["demo/__main__.py"] and "def serve_all" not in files["demo/__main__.py"]


@pytest.mark.parametrize(("replacements", "expected"), [
    ([("    - type: control\n", "    - type: control\n      port: 9192\n    - type: control\n")],
     ("E230", "a capability has at most one control adapter")),
    ([("      port: 9191\n", "      port: 8081\n")], ("E231", "the control port 8081 is the REST adapter's port too")),
    ([("      port: 9191\n", "      port: 3001\n")], ("E231", "the control port 3001 is the MCP adapter's port too")),
    ([("        info: true\n", "        info: true\n        scripting:\n          enabled: true\n")],
     ("E300", "scripting governance (`management.scripting`)")),
    ([("        info: true\n", "        info: true\n        logs: true\n")],
     ("E300", "the control port's `management.logs` endpoints")),
    ([(OBSERVABILITY, "      observability:\n        exporters:\n          otlp:\n            endpoint: http://c:4317\n")],
     ("E300", "the `otlp` telemetry exporter")),
    ([("      port: 9191\n", "      port: 9191\n      authentication:\n        type: digest\n")],
     ("E300", "HTTP Digest authentication on an exposed adapter")),
    ([("      address: localhost\n      port: 9191\n", "      address: 0.0.0.0\n      port: 9191\n")],
     ("W320", "the control port listens on `0.0.0.0`, beyond this machine, without authentication")),
])
def test_refusals_and_warnings(tmp_path: Path, replacements: list[tuple[str, str]], expected: tuple[str, str]):
    found = codes(tmp_path, variant(*replacements))
    assert any(code == expected[0] and expected[1] in message for code, message in found), found


def test_a_stdio_mcp_server_is_not_served_beside_the_control_port(tmp_path: Path):
    # stdio belongs to the client that starts the server: `serve` leaves it out, and so does
    # the control port's list of adapters; it has no port to share
    text = variant(("      port: 9191\n", "      port: 9090\n"),
                   ("      port: 3001\n      tools:", "      transport: stdio\n      tools:"))
    assert codes(tmp_path, text) == []
    cap = built(tmp_path, text)
    assert cap.control is not None
    assert [a.type for a in cap.control.adapters] == ["rest", "control"]
    main = emit(cap)["demo/__main__.py"]
    assert "--mcp-port" not in main and 'add("mcp"' not in main


def test_a_guarded_control_port_may_listen_anywhere(tmp_path: Path):
    guarded = (
        "      address: 0.0.0.0\n      port: 9191\n"
        "      authentication:\n        type: bearer\n        token: '{{CONTROL_TOKEN}}'\n"
    )
    text = variant(("      address: localhost\n      port: 9191\n", guarded))
    assert codes(tmp_path, text) == []
    cap = built(tmp_path, text)
    assert cap.control is not None and cap.control.auth is not None
    assert cap.control.auth.env_vars == ("CONTROL_TOKEN",)
    files = emit(cap)
    assert "Middleware(RequireCredentials, check=CREDENTIALS)" in files["demo/control.py"]
    assert 'require_env(("CONTROL_TOKEN",))' in files["demo/__main__.py"]


def test_logs_false_is_no_endpoint_to_refuse(tmp_path: Path):
    assert codes(tmp_path, variant(("        info: true\n", "        info: true\n        logs: false\n"))) == []


# --- the generated telemetry module ------------------------------------------------------------


def telemetry(tmp_path: Path, observability: str) -> ModuleType:
    cap = built(tmp_path, variant((OBSERVABILITY, observability)))
    name = f"telemetry_under_test_{abs(hash(str(tmp_path)))}"
    path = tmp_path / f"{name}.py"
    path.write_text(emit(cap)["demo/_telemetry.py"], encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def test_w3c_traceparent_is_read_strictly(tmp_path: Path):
    t = telemetry(tmp_path, "      observability:\n        traces:\n          local:\n            buffer-size: 10\n")
    trace, span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"

    def parent(value: str, state: str = "") -> object:
        headers = [(b"traceparent", value.encode())] + ([(b"tracestate", state.encode())] if state else [])
        return t.extract(headers)

    assert parent(f"00-{trace}-{span}-01", "a=1") == t.Parent(trace, span, True, "a=1")
    assert parent(f"00-{trace}-{span}-00") == t.Parent(trace, span, False)
    assert parent(f"01-{trace}-{span}-01-future") == t.Parent(trace, span, True)  # later versions: prefix
    for bad in (f"00-{'0' * 32}-{span}-01", f"00-{trace}-{'0' * 16}-01", f"ff-{trace}-{span}-01",
                f"00-{trace}-{span}-01-extra", f"00-{trace.upper()}-{span}-01", "garbage"):
        assert parent(bad) is None, bad
    # at 1.0 the caller's decision stands
    assert t.keep(trace, t.Parent(trace, span, False)) is False
    assert t.keep(trace, None) is True


def test_b3_headers_and_ratio_sampling(tmp_path: Path):
    t = telemetry(tmp_path, "      observability:\n        traces:\n          sampling: 0.5\n          propagation: b3\n")
    span = "00f067aa0ba902b7"
    multi = [(b"X-B3-TraceId", b"a3ce929d0e0e4736"), (b"X-B3-SpanId", span.encode()), (b"X-B3-Sampled", b"0")]
    assert t.extract(multi) == t.Parent("0000000000000000a3ce929d0e0e4736", span, False)
    single = [(b"b3", f"4bf92f3577b34da6a3ce929d0e0e4736-{span}-1".encode())]
    assert t.extract(single) == t.Parent("4bf92f3577b34da6a3ce929d0e0e4736", span, True)
    assert t.extract([(b"traceparent", f"00-4bf92f3577b34da6a3ce929d0e0e4736-{span}-01".encode())]) is None
    # half of the id space, decided by the id's last 63 bits whatever the caller says
    assert t.keep("0" * 16 + "3fffffffffffffff", None) is True
    assert t.keep("0" * 16 + "4000000000000000", t.Parent("x", span, True)) is False
    headers: dict[str, str] = {"X-B3-TraceId": "stale"}
    t.start_upstream("GET", "https://api.example.com/x", headers)
    assert set(headers) == {"X-B3-TraceId", "X-B3-SpanId", "X-B3-Sampled"} and headers["X-B3-TraceId"] != "stale"
    t.end_upstream(None)
    assert 'error_type="transport"' in t.METRICS.exposition()


def test_trace_buffer_keeps_the_last_ones(tmp_path: Path):
    t = telemetry(tmp_path, "      observability:\n        traces:\n          local:\n            buffer-size: 10\n")
    for i in range(25):
        headers: dict[str, str] = {}
        t.start_upstream("GET", f"https://api.example.com/{i}", headers)
        t.end_upstream(200)
    kept = t.TRACES.all()
    assert len(kept) == 10 and t.TRACES.capacity == 10
    assert [s.attributes["url.full"] for tr in kept for s in tr.spans][-1] == "https://api.example.com/24"
    assert kept[0].spans[0].attributes["url.full"] == "https://api.example.com/15"


def test_prometheus_text(tmp_path: Path):
    t = telemetry(tmp_path, "      observability:\n        traces:\n          local:\n            buffer-size: 10\n")
    t.METRICS.record_request("rest", '/a "b"\\ GET', 200, 0.03)
    t.METRICS.record_request("rest", '/a "b"\\ GET', 200, 7.0)
    text = t.METRICS.exposition()
    labels = 'naftiko_adapter_type="rest",naftiko_operation_id="/a \\"b\\"\\\\ GET",status="200"'
    assert f"naftiko_request_total{{{labels}}} 2" in text
    assert f'naftiko_request_duration_seconds_bucket{{{labels},le="0.025"}} 0' in text
    assert f'naftiko_request_duration_seconds_bucket{{{labels},le="0.05"}} 1' in text
    assert f'naftiko_request_duration_seconds_bucket{{{labels},le="5.0"}} 1' in text
    assert f'naftiko_request_duration_seconds_bucket{{{labels},le="10.0"}} 2' in text
    assert f'naftiko_request_duration_seconds_bucket{{{labels},le="+Inf"}} 2' in text
    assert f"naftiko_request_duration_seconds_count{{{labels}}} 2" in text
    assert re.search(rf"naftiko_request_duration_seconds_sum\{{{re.escape(labels)}\}} 7\.03\d*\n", text)
    assert text.endswith("\n")
