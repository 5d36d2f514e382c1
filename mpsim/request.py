"""``Request``: one Mixpanel HTTP request, as RudderStack would send it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ._js import UNDEFINED, dumps

#: Mixpanel's ingestion endpoints by request kind.
PATHS = ("import", "engage", "groups")


@dataclass
class Request:
    """A Mixpanel ingestion request.

    ``records`` holds the payload objects (what goes inside the JSON array body) as plain Python
    values; ``to_rudder()`` gives the request in the shape RudderStack's transformer returns it.
    """

    path: str
    endpoint: str
    headers: dict[str, str]
    params: dict[str, Any]
    records: list[dict[str, Any]]
    method: str = "POST"
    user_id: Any = UNDEFINED
    gzip: bool = False
    batched: bool = False
    _texts: list[str] | None = field(default=None, repr=False, compare=False)

    @property
    def url(self) -> str:
        """The endpoint URL (alias of ``endpoint``)."""
        return self.endpoint

    @property
    def host(self) -> str:
        return self.endpoint.split("/")[2]

    def body_text(self) -> str:
        """The JSON array body exactly as ``JSON.stringify`` writes it."""
        texts = self._texts if self._texts is not None else [dumps(r) for r in self.records]
        return "[" + ",".join(texts) + "]"

    def to_rudder(self) -> dict[str, Any]:
        """The request in the reference implementation's shape (see the conformance README)."""
        text = self.body_text()
        body: dict[str, Any] = {"JSON": {}, "JSON_ARRAY": {"batch": text}, "XML": {}, "FORM": {}}
        if self.gzip:
            body["JSON_ARRAY"] = {}
            body["GZIP"] = {"payload": text}
        out: dict[str, Any] = {
            "version": "1",
            "type": "REST",
            "method": self.method,
            "endpoint": self.endpoint,
            "headers": dict(self.headers),
            "params": dict(self.params),
            "body": body,
            "files": {},
        }
        if not self.batched and self.user_id is not UNDEFINED:
            out["userId"] = self.user_id
        out["endpointPath"] = self.path
        return out

    @classmethod
    def from_rudder(cls, data: dict[str, Any]) -> Request:
        """Read a request in the reference shape (the inverse of ``to_rudder``)."""
        from .errors import MpsimError

        if not isinstance(data, dict) or not isinstance(data.get("endpoint"), str):
            raise MpsimError("a RudderStack request needs an 'endpoint' URL")
        body = data.get("body") or {}
        text = (body.get("JSON_ARRAY") or {}).get("batch") or (body.get("GZIP") or {}).get("payload")
        if text is None:
            records = [body["JSON"]] if body.get("JSON") else []
        else:
            try:
                records = json.loads(text)
            except ValueError as exc:
                raise MpsimError(f"body batch is not JSON: {exc}") from None
            if not isinstance(records, list):
                records = [records]
        endpoint = data["endpoint"]
        path = data.get("endpointPath") or next((p for p in PATHS if f"/{p}" in endpoint), "import")
        return cls(path=path, endpoint=endpoint, headers=dict(data.get("headers") or {}),
                   params=dict(data.get("params") or {}), records=records,
                   method=data.get("method", "POST"), user_id=data.get("userId", UNDEFINED),
                   gzip="GZIP" in body)

    def to_dict(self) -> dict[str, Any]:
        """A plain summary: path, endpoint, headers, params and records."""
        return {
            "path": self.path,
            "endpoint": self.endpoint,
            "method": self.method,
            "headers": dict(self.headers),
            "params": dict(self.params),
            "records": json.loads(self.body_text()),
        }

    def _repr_html_(self) -> str:
        from .notebook.views import request_html

        return request_html(self)
