"""``Finding`` and ``Findings``: what is wrong with some data, in words a support engineer can paste."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One rule broken by one value.

    ``severity`` is ``error`` (Mixpanel or RudderStack rejects or drops it), ``warning`` (accepted,
    but probably not what was meant) or ``info``. ``path`` is a jsonpath-ng expression into the
    validated object; ``record`` is the position of the record in the input list.
    """

    rule: str
    severity: str
    path: str
    value: Any
    message: str
    fix: str
    record: int | None = None
    kind: str = ""

    @property
    def rule_id(self) -> str:
        return self.rule

    @property
    def suggested_fix(self) -> str:
        return self.fix

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Findings:
    """The findings of one validation: iterable, a pandas table, an HTML table in notebooks."""

    def __init__(self, findings: list[Finding], notes: list[str] | None = None) -> None:
        #: lines every summary shows besides the findings (e.g. that the project settings were assumed)
        self.notes: list[str] = list(notes or [])
        order = {s: i for i, s in enumerate(SEVERITIES)}
        self._items = sorted(findings, key=lambda f: (f.record if f.record is not None else -1,
                                                      order.get(f.severity, 9)))

    def __iter__(self) -> Iterator[Finding]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> Finding:
        return self._items[index]

    def __bool__(self) -> bool:
        return bool(self._items)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self._items if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self._items if f.severity == "warning"]

    def rules(self) -> set[str]:
        """The ids of the rules that found something."""
        return {f.rule for f in self._items}

    def by_rule(self, rule: str) -> list[Finding]:
        return [f for f in self._items if f.rule == rule]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        from ..notebook.views import mark_frame

        columns = ["record", "severity", "rule", "path", "value", "message", "fix", "kind"]
        return mark_frame(pd.DataFrame([f.to_dict() for f in self._items], columns=columns))

    def summary(self) -> pd.DataFrame:
        """Counts per rule and severity, most frequent first."""
        frame = self.to_frame()
        if frame.empty:
            return frame.assign(count=[])[["severity", "rule", "count"]]
        counts = frame.groupby(["severity", "rule"]).size().reset_index(name="count")
        from ..notebook.views import mark_frame

        return mark_frame(counts.sort_values(["count", "rule"], ascending=[False, True]).reset_index(drop=True))

    def __repr__(self) -> str:
        from ..wording import count

        return f"Findings({count(len(self.errors), 'error')}, {count(len(self.warnings), 'warning')}, {len(self)} in all)"

    def __str__(self) -> str:
        if not self._items:
            return "\n".join(["No findings.", *self.notes])
        lines = []
        for f in self._items:
            where = f"[{f.record}] " if f.record is not None else ""
            lines.append(f"{f.severity.upper():7} {where}{f.rule} at {f.path}: {f.message}")
            if f.fix:
                lines.append(f"        fix: {f.fix}")
        return "\n".join(lines + self.notes)

    def _repr_html_(self) -> str:
        from ..notebook.views import findings_html

        return findings_html(self)
