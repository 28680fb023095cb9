"""A call's report as the platform tells it: ``GET /status/{id}`` or a batch's result."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field


@dataclass
class CallReport:
    """A call's status as ``GET /status/{id}`` tells it."""

    id: int
    status: str  # QUEUED, RUNNING, SUCCESS or FAILED
    output: bytes = b""
    stdout: bytes = b""
    stderr: bytes = b""
    error: str | None = None
    timings: dict = field(default_factory=dict)
    worker: str | None = None
    user: str | None = None
    function: str | None = None
    submitted: str | None = None
    finished: str | None = None

    @property
    def done(self) -> bool:
        return self.status in ("SUCCESS", "FAILED")

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESS"

    @classmethod
    def from_json(cls, data: dict) -> CallReport:
        def decoded(name: str) -> bytes:
            text = data.get(name) or ""
            if data.get(f"{name}_encoding") == "base64":
                return base64.b64decode(text)
            return text.encode("utf-8", "surrogatepass")

        return cls(id=int(data["id"]), status=data["status"], output=decoded("output"),
                   stdout=decoded("stdout"), stderr=decoded("stderr"), error=data.get("error"),
                   timings=data.get("timings") or {}, worker=data.get("worker"),
                   user=data.get("user"), function=data.get("function"),
                   submitted=data.get("submitted"), finished=data.get("finished"))


def batch_report(result: dict) -> CallReport:
    """A planner message result as a CallReport (faabric's returnValue: 0 or not)."""
    failed = bool(result.get("returnValue"))
    output = (result.get("output_data") or "").encode("utf-8")
    return CallReport(id=int(result.get("id") or 0), status="FAILED" if failed else "SUCCESS",
                      output=b"" if failed else output,
                      error=output.decode("utf-8") if failed else None,
                      worker=result.get("executedHost"), user=result.get("user"),
                      function=result.get("function"))
