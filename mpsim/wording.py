"""How mpsim words its answers (the CLI and text summaries): counts with the right plural, findings
grouped by rule, record numbers as ranges, tables capped to their head and tail.

The CLI leads with the answer (what is wrong, what Mixpanel holds) and keeps details for
``--verbose``; these helpers are that wording, in one place, so every command reads the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

#: irregular plurals of the nouns the CLI counts
PLURALS = {"entry": "entries", "this": "these", "was": "were", "is": "are", "has": "have"}
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
SEVERITY_NOUN = {"error": "error", "warning": "warning", "info": "note"}


def plural(word: str, n: int) -> str:
    """``word`` for one, its plural otherwise (the last word of a phrase is the one that changes)."""
    if n == 1:
        return word
    head, _, last = word.rpartition(" ")
    many = PLURALS.get(last) or (last[:-1] + "ies" if last.endswith("y") and last[-2:-1] not in "aeiou"
                                 else last + "es" if last.endswith(("s", "x", "ch", "sh")) else last + "s")
    return f"{head} {many}" if head else many


def count(n: int, word: str, *, zero: str | None = None) -> str:
    """``1 event``, ``3 events``; ``zero`` replaces ``0 events`` when given (``no events``)."""
    if n == 0 and zero is not None:
        return zero
    return f"{n} {plural(word, n)}"


#: the nouns of ``Simulator.summary()``'s keys, in the singular
SUMMARY_NOUNS = {"events": "event", "users": "user", "profiles": "profile", "groups": "group",
                 "refused_merges": "refused merge"}


def summary_line(summary: dict[str, int]) -> str:
    """``7 events, 2 users, 2 profiles, 1 group, 0 refused merges`` from ``Simulator.summary()``."""
    return ", ".join(count(n, SUMMARY_NOUNS.get(key, key.replace("_", " "))) for key, n in summary.items())


def article(phrase: str) -> str:
    """``an error``, ``a warning``, ``an original ID-merge project``."""
    first = phrase.lstrip()[:1].lower()
    return ("an " if first in "aeio" and first else "a ") + phrase


def listing(items: Sequence[str], conjunction: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def ranges(numbers: Iterable[int], limit: int = 8) -> str:
    """``1-3, 7, 9-12``: sorted distinct numbers as runs; after ``limit`` runs, ``(+N more)``."""
    ordered = sorted(set(numbers))
    runs: list[tuple[int, int]] = []
    for n in ordered:
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    shown = [f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:limit]]
    rest = sum(b - a + 1 for a, b in runs[limit:])
    return ", ".join(shown) + (f" (+{rest} more)" if rest else "")


def severity_counts(findings: Sequence[Any]) -> str:
    """``2 errors (1 rule), 5 warnings (2 rules), no notes``."""
    parts = []
    for severity, noun in SEVERITY_NOUN.items():
        matching = [f for f in findings if f.severity == severity]
        rules = {f.rule for f in matching}
        parts.append(count(len(matching), noun, zero=f"no {plural(noun, 0)}")
                     + (f" ({count(len(rules), 'rule')})" if matching else ""))
    return ", ".join(parts)


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def findings_by_rule(findings: Sequence[Any], *, verbose: bool = False, per_rule: int | None = None,
                     width: int = 160, numbers: Sequence[int] | None = None, noun: str = "record") -> list[str]:
    """One line per rule (errors first, then by count): severity, rule, count, record numbers, first example.

    Records are counted from 1, or given by ``numbers`` (the line of each record in a JSON Lines
    file, with ``noun="line"``). ``verbose`` adds each finding (record, path, message) and the fix
    under its rule; ``per_rule`` caps those detail lines.
    """
    def number(index: int) -> int:
        return numbers[index] if numbers is not None and index < len(numbers) else index + 1

    groups: dict[tuple[str, str], list[Any]] = {}
    for f in findings:
        groups.setdefault((f.severity, f.rule), []).append(f)
    ordered = sorted(groups.items(), key=lambda kv: (SEVERITY_ORDER.get(kv[0][0], 9), -len(kv[1]), kv[0][1]))
    rule_width = max((len(rule) for _, rule in groups), default=0)
    lines = []
    for (severity, rule), items in ordered:
        found = [number(f.record) for f in items if f.record is not None]
        where = f" {plural(noun, len(set(found)))} {ranges(found)}" if found else ""  # none for a finding on the whole log
        head = f"{severity.upper():7} {rule:<{rule_width}}  ×{len(items):<3}{where}".rstrip()
        room = max(40, width - len(head) - 3)
        lines.append(f"{head} — {_shorten(items[0].message, room)}")
        if verbose:
            shown = items if per_rule is None else items[:per_rule]
            for f in shown:
                record = f"{noun} {number(f.record)}, " if f.record is not None else ""
                lines.append(f"          {record}at {f.path}: {f.message}")
            if len(items) > len(shown):
                lines.append(f"          … {count(len(items) - len(shown), 'more finding')} of this rule")
            for fix in dict.fromkeys(f.fix for f in items if f.fix):
                lines.append(f"          fix: {fix}")
    return lines


def head_tail(items: Sequence[Any], rows: int) -> tuple[list[Any], list[Any], int]:
    """The first ``(rows + 1) // 2`` and the last ``rows // 2`` items, and how many lie between.

    Only those items are read: ``items`` may be a lazy sequence over a big store.
    """
    size = len(items)
    if size <= rows:
        return list(items[:]), [], 0
    head, tail = (rows + 1) // 2, rows // 2
    return list(items[:head]), list(items[size - tail:]) if tail else [], size - head - tail


def capped_lines(lines: Sequence[str], rows: int, noun: str, *, indent: str = "  ") -> list[str]:
    """A list cut to its head and tail, with ``… N more <noun>s …`` where the rest would be."""
    head, tail, hidden = head_tail(lines, rows)
    gap = [f"{indent}… {count(hidden, 'more ' + noun)} …"] if hidden else []
    return [indent + line for line in head] + gap + [indent + line for line in tail]


def capped(frame: pd.DataFrame, rows: int) -> str:
    """A table as text (blank where a value is missing), cut to its first and last rows with a line saying how
    many are hidden."""
    if rows <= 0 or frame.empty:
        return ""
    if len(frame) <= rows:
        return frame.to_string(index=False, na_rep="")
    import pandas as pd

    head, tail = (rows + 1) // 2, rows // 2
    shown = pd.concat([frame.iloc[:head], frame.iloc[len(frame) - tail:]])
    return _with_gap(shown, head, len(frame) - head - tail)


def capped_records(records: Sequence[Any], rows: int) -> str:
    """Like :func:`capped` for a sequence of row dicts (a lazy one over a big store): only the head and
    tail rows are read and made into a table, with the columns those rows have."""
    if rows <= 0 or not len(records):
        return ""
    import pandas as pd

    head, tail, hidden = head_tail(records, rows)
    shown = pd.DataFrame(head + tail)
    return _with_gap(shown, len(head), hidden) if hidden else shown.to_string(index=False, na_rep="")


def _with_gap(shown: pd.DataFrame, head: int, hidden: int) -> str:
    lines = shown.to_string(index=False, na_rep="").splitlines()
    lines.insert(1 + head, f"  … {count(hidden, 'more row')} …")
    return "\n".join(lines)
