"""Run the reference cases (``shared/conformance`` format) against mpsim's transformer.

A case gives RudderStack input and the reference implementation's output; this module runs the
input through :func:`mpsim.transform` or :func:`mpsim.transform_batch` and compares by the rules of
the conformance README: batch texts parsed, key order ignored, list order kept, errors by message,
status code and error type, router items by request, sorted job ids, status and error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._files import read_json
from .diff import Change, Diff, changes
from .errors import MpsimError, TransformError
from .rudder import transform, transform_batch


@dataclass
class CaseResult:
    name: str
    passed: bool
    differences: list[Change] = field(default_factory=list)
    problem: str | None = None

    def report(self) -> str:
        lines = [f"FAIL {self.name}"]
        if self.problem:
            lines.append(f"  {self.problem}")
        text = Diff(self.differences).to_text(before="expected", after="got", limit=40)
        lines += ["  " + line for line in text.splitlines()]
        return "\n".join(lines)


def load_cases(path: str | Path) -> list[dict[str, Any]]:
    data = read_json(path, "case file")
    if not isinstance(data, list):
        raise MpsimError(f"case file {path} must hold a JSON array of cases")
    return data


def _parse_text(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def normalise_request(request: Any) -> Any:
    """A request in the reference shape with its JSON-text bodies parsed."""
    if isinstance(request, list):
        return [normalise_request(r) for r in request]
    if not isinstance(request, dict):
        return request
    out = json.loads(json.dumps(request))
    body = out.get("body") or {}
    if isinstance(body.get("JSON_ARRAY"), dict) and "batch" in body["JSON_ARRAY"]:
        body["JSON_ARRAY"]["batch"] = _parse_text(body["JSON_ARRAY"]["batch"])
    if isinstance(body.get("GZIP"), dict) and "payload" in body["GZIP"]:
        body["GZIP"]["payload"] = _parse_text(body["GZIP"]["payload"])
    return out


def _comparable_processor(item: dict[str, Any]) -> dict[str, Any]:
    if "error" in item:
        tags = item.get("statTags") or {}
        out = {"error": item["error"], "statusCode": item.get("statusCode")}
        if "errorType" in tags:
            out["errorType"] = tags["errorType"]
        return out
    return {"output": normalise_request(item.get("output")), "statusCode": item.get("statusCode")}


def _job_order(job: Any) -> tuple[bool, float, str]:
    number = isinstance(job, (int, float)) and not isinstance(job, bool)
    return (not number, job if number else 0, "" if number else str(job))


def _comparable_router(item: dict[str, Any]) -> dict[str, Any]:
    jobs = sorted(((m or {}).get("jobId") for m in item.get("metadata") or []), key=_job_order)
    out: dict[str, Any] = {"jobIds": jobs, "statusCode": item.get("statusCode")}
    if "batchedRequest" in item:
        out["batchedRequest"] = normalise_request(item["batchedRequest"])
    if "error" in item:
        out["error"] = item["error"]
    return out


def run_processor(case: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for event in case["input"]:
        try:
            requests = transform(event.get("message"), event.get("destination"), now=case.get("now"))
        except TransformError as exc:
            out.append(exc.to_rudder())
            continue
        out.extend({"output": r.to_rudder(), "statusCode": 200} for r in requests)
    return out


def run_router(case: dict[str, Any]) -> list[dict[str, Any]]:
    headers = case.get("requestHeaders") or {}
    gzip = str(headers.get("X-Feature-Gzip-Support", "")).strip() == "?1"
    events = case["input"]["input"]
    return [item.to_rudder() for item in transform_batch(events, gzip=gzip, now=case.get("now"))]


def run_case(case: dict[str, Any]) -> CaseResult:
    name = str(case.get("name", "<unnamed>"))
    suite = case.get("suite")
    try:
        if suite == "router":
            actual = [_comparable_router(i) for i in run_router(case)]
            expected = [_comparable_router(i) for i in (case.get("expected") or {}).get("output", [])]
        elif suite == "processor":
            actual = [_comparable_processor(i) for i in run_processor(case)]
            expected = [_comparable_processor(i) for i in case.get("expected") or []]
        else:
            return CaseResult(name, False, problem=f"unknown suite {suite!r} (expected 'processor' or 'router')")
    except MpsimError as exc:
        return CaseResult(name, False, problem=f"{type(exc).__name__}: {exc}")
    diff = changes(expected, actual)
    return CaseResult(name, not diff, diff)


def run_files(paths: list[str | Path]) -> list[CaseResult]:
    results: list[CaseResult] = []
    for path in paths:
        results.extend(run_case(case) for case in load_cases(path))
    return results
