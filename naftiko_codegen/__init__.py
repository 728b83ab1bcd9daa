"""naftiko-gen: generate standalone Python adapters (FastAPI, MCP, HTTP client) from Naftiko capabilities."""

__version__ = "0.1.0"
