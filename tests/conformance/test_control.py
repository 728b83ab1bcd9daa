"""The control port of the reference fixtures (ControlIntegrationTest, ControlServerAdapterTest,
ObservabilitySpecIntegrationTest): the engine checks the spec's management flags, the trace
buffer's size and which routes its router attaches. The observable equivalent is the generated
control app under uvicorn: which endpoints answer, and what (docs/semantics.md, "The control
adapter")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from support.servers import serve_asgi

from .conftest import TESTS, Conformance, Generation

CONTROL = f"{TESTS}/control/control-capability.yaml"
CONTROL_NO_OBSERVABILITY = f"{TESTS}/control/control-observability-disabled.yaml"
OBSERVABILITY_DISABLED = f"{TESTS}/observability/observability-disabled.yaml"


@contextmanager
def serve_control(gen: Generation) -> Iterator[str]:
    with serve_asgi(gen.module("control").app) as url:
        yield url


# control-capability.yaml: health and info on, observability on with a local buffer of 50.
def test_control_port_endpoints(conformance: Conformance) -> None:
    gen = conformance.generate(CONTROL)
    with serve_control(gen) as url:
        live = httpx.get(f"{url}/health/live", timeout=10)
        ready = httpx.get(f"{url}/health/ready", timeout=10)
        status = httpx.get(f"{url}/status", timeout=10)
        metrics = httpx.get(f"{url}/metrics", timeout=10)
        traces = httpx.get(f"{url}/traces", timeout=10)
        unknown = httpx.get(f"{url}/traces/4bf92f3577b34da6a3ce929d0e0e4736", timeout=10)
    assert (live.status_code, live.json()) == (200, {"status": "UP"})
    # the control adapter is the capability's only adapter, on the spec's port
    assert (ready.status_code, ready.json()) == (
        200,
        {"status": "UP", "adapters": [{"type": "control", "port": 9199, "state": "started"}]},
    )
    assert status.status_code == 200
    body = status.json()
    version = re.search(r'^naftiko: "([^"]+)"', gen.spec.read_text("utf-8"), re.MULTILINE)
    assert version is not None
    assert body["capability"] == {
        "label": "Control Port Test Capability",
        "specVersion": version.group(1),
    }
    assert body["otel"] == {"status": "active"}
    assert body["uptime"].startswith("PT")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE naftiko_request_total counter" in metrics.text
    assert "# TYPE naftiko_http_client_duration_seconds histogram" in metrics.text
    # the buffer size the spec sets (engine: traceRingBufferShouldUseConfiguredCapacity)
    assert (traces.status_code, traces.json()) == (
        200,
        {"traces": [], "bufferSize": 50, "bufferUsed": 0},
    )
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "Trace not found: 4bf92f3577b34da6a3ce929d0e0e4736"}


def test_control_port_address_and_port_are_the_specs(conformance: Conformance) -> None:
    # engine: controlServerSpecShouldBeDeserialized (localhost, 9199)
    args = conformance.generate(CONTROL).module("__main__")._parser().parse_args(["serve"])
    assert (args.host, args.port) == ("localhost", 9199)


# control-observability-disabled.yaml: `observability.enabled: false` attaches no /metrics,
# /traces or /traces/{traceId} (routerShouldNotAttachMetricsOrTracesWhenObservabilityDisabled).
def test_observability_disabled_removes_metrics_and_traces(conformance: Conformance) -> None:
    gen = conformance.generate(CONTROL_NO_OBSERVABILITY)
    with serve_control(gen) as url:
        answers = {
            path: httpx.get(f"{url}{path}", timeout=10)
            for path in ("/metrics", "/traces", "/traces/4bf92f3577b34da6a3ce929d0e0e4736",
                         "/health/live", "/status")
        }
    assert {p: a.status_code for p, a in answers.items()} == {
        "/metrics": 404,
        "/traces": 404,
        "/traces/4bf92f3577b34da6a3ce929d0e0e4736": 404,
        "/health/live": 200,
        "/status": 200,
    }
    assert answers["/status"].json()["otel"] == {"status": "inactive"}
    # nothing records or propagates: the package carries no telemetry module
    assert not (gen.out / gen.module("control").__name__.split(".")[0] / "_telemetry.py").exists()


# observability-disabled.yaml: no `management` block. Health is on by default, info off.
def test_defaults_without_management(conformance: Conformance) -> None:
    gen = conformance.generate(OBSERVABILITY_DISABLED)
    with serve_control(gen) as url:
        codes = {
            path: httpx.get(f"{url}{path}", timeout=10).status_code
            for path in ("/health/live", "/health/ready", "/status", "/metrics", "/traces")
        }
    assert codes == {
        "/health/live": 200,
        "/health/ready": 200,
        "/status": 404,
        "/metrics": 404,
        "/traces": 404,
    }
