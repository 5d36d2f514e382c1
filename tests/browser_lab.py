"""A JupyterLab server for the real-browser tests, and the in-page checks they run.

The server is JupyterLab from PyPI (the ``test`` extra), started on 127.0.0.1 on a free port with a
random token, without opening a browser, in a temporary directory; it is stopped at the end of the
module. ``expose_app_in_browser`` makes ``window.jupyterapp`` available so a test can run JupyterLab
commands (open, run all cells, change the theme) instead of clicking through menus.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class Lab:
    url: str
    token: str
    root: Path

    def page_url(self, notebook: str) -> str:
        return f"{self.url}/lab/tree/{notebook}?token={self.token}&reset"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, token: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@contextmanager
def running_jupyterlab(root: Path) -> Iterator[Lab]:
    """JupyterLab serving ``root`` on 127.0.0.1 (free port, random token, no browser), stopped on exit."""
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(root / ".config"), "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(root / ".settings"), "JUPYTERLAB_WORKSPACES_DIR": str(root / ".ws"),
           "PYTHONUNBUFFERED": "1"}
    settings = {
        # no "get notified about Jupyter news?" toast over the page
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        # every cell in the page (no virtual scrolling), so every output can be checked
        "notebook-extension/tracker": {"windowingMode": "none"},
    }
    for name, values in settings.items():
        path = root / ".settings" / "@jupyterlab" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    log = root / "lab.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
             "--JupyterNotebookApp.expose_app_in_browser=True",
             "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             "--LabApp.extension_manager=readonly", "--ServerApp.terminals_enabled=False",
             "--allow-root"],  # CI runs the tests as root in a container
            cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, token, proc, log)
        yield Lab(url, token, root)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1 (free port, token, no browser, temp dir), stopped after the module."""
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        pytest.skip("JupyterLab is not installed (pip install -e '.[test]')")
    with running_jupyterlab(tmp_path_factory.mktemp("lab")) as lab:
        yield lab


def write_notebook(path: Path, cells: list[str]) -> None:
    """A notebook of code cells with no outputs (JupyterLab runs them)."""
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
                     "source": source} for i, source in enumerate(cells)],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb), encoding="utf-8")


def run_all(page: Any, timeout_ms: int = 120_000) -> None:
    """Run every cell of the open notebook and wait until the kernel is idle with no cell pending."""
    page.wait_for_function("() => window.jupyterapp && document.querySelector('.jp-Notebook .jp-Cell')",
                           timeout=60_000)
    page.wait_for_function(
        """() => { const w = window.jupyterapp.shell.currentWidget;
                   return w && w.sessionContext && w.sessionContext.session &&
                          w.sessionContext.session.kernel &&
                          w.sessionContext.session.kernel.connectionStatus === 'connected'; }""",
        timeout=60_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        """() => { const prompts = [...document.querySelectorAll('.jp-Cell.jp-CodeCell .jp-InputPrompt')];
                   const w = window.jupyterapp.shell.currentWidget;
                   const idle = w.sessionContext.session.kernel.status === 'idle';
                   return idle && prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent)); }""",
        timeout=timeout_ms)


# In-page checks, as JavaScript run by page.evaluate -------------------------------------------------

#: Every text-bearing element inside an mpsim output: its text, colour and effective background.
CONTRAST_JS = r"""
(root) => {
  const parse = (c) => { const m = c && c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, bottom) => { const a = top[3]; return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat([1]); };
  const layers = (el) => { const cs = getComputedStyle(el); const out = [];
    const img = cs.backgroundImage; if (img && img.startsWith('linear-gradient')) {
      const m = img.match(/rgba?\([^)]+\)/); if (m) out.push(parse(m[0])); }
    const bg = parse(cs.backgroundColor); if (bg && bg[3] > 0) out.push(bg); return out; };
  const background = (el) => { const stack = [];
    for (let e = el; e; e = e.parentElement) { stack.push(...layers(e));
      if (stack.length && stack[stack.length - 1][3] >= 1) break; }
    let colour = [255, 255, 255, 1];
    if (!stack.length || stack[stack.length - 1][3] < 1) colour = parse(getComputedStyle(document.body).backgroundColor) || colour;
    for (let i = stack.length - 1; i >= 0; i--) colour = over(stack[i], colour);
    return colour; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const results = [];
  for (const out of document.querySelectorAll(root)) {
    for (const el of out.querySelectorAll('*')) {
      const own = [...el.childNodes].filter(n => n.nodeType === 3 && n.textContent.trim()).map(n => n.textContent.trim()).join(' ');
      if (!own || el.closest('style')) continue;
      const rect = el.getBoundingClientRect(); if (!rect.width && !rect.height) continue;
      const cs = getComputedStyle(el); if (cs.visibility === 'hidden' || cs.display === 'none') continue;
      let bg; let fg;
      if (el instanceof SVGElement) {
        fg = parse(cs.fill) || parse(cs.color);
        const box = el.closest('g.mpsim-box');
        const page = background(el.closest('svg').parentElement);
        bg = box ? over(parse(getComputedStyle(box.querySelector('rect')).fill) || [0, 0, 0, 0], page) : page;
      } else { fg = parse(cs.color); bg = background(el); }
      fg = over(fg, bg);
      const [l1, l2] = [lum(fg), lum(bg)].sort((a, b) => b - a);
      results.push({text: own.slice(0, 60), tag: el.tagName, ratio: (l1 + 0.05) / (l2 + 0.05),
                    fg: fg.map(Math.round).join(','), bg: bg.map(Math.round).join(',')});
    }
  }
  return results;
}
"""

#: Form rows of the playground whose label and input overlap, or whose input leaves its grid cell.
OVERLAP_JS = r"""
() => {
  const bad = [];
  const visible = (l) => l.getBoundingClientRect().width > 0 && l.textContent.replace(/\u200b/g, '').trim();
  for (const row of document.querySelectorAll('.mpsim-form > .widget-inline-hbox')) {
    const label = [...row.querySelectorAll('.widget-label, .widget-label-basic')].find(visible);
    const input = row.querySelector('input, select');
    if (!label || !input) { bad.push({row: row.className, missing: !label ? 'label' : 'input'}); continue; }
    const a = label.getBoundingClientRect(), b = input.getBoundingClientRect(), cell = row.getBoundingClientRect();
    // a checkbox's label holds its input: only its edges matter
    const overlap = !label.contains(input) && a.right > b.left + 1 && a.left < b.right - 1 &&
                    a.bottom > b.top + 1 && a.top < b.bottom - 1;
    const outside = Math.max(a.right, b.right) > cell.right + 1 || Math.min(a.left, b.left) < cell.left - 1;
    const text = label.querySelector('span') || label;
    const clipped = text.scrollWidth > text.clientWidth + 1;
    if (overlap || outside || clipped) bad.push({label: label.textContent, overlap, outside, clipped});
  }
  // the rows themselves: inside the form, and no row over another (an input running into the next label)
  const rows = [...document.querySelectorAll('.mpsim-form > .widget-inline-hbox')];
  for (const form of document.querySelectorAll('.mpsim-form')) {
    const f = form.getBoundingClientRect();
    for (const row of form.children) { const r = row.getBoundingClientRect();
      if (r.right > f.right + 1 || r.left < f.left - 1) bad.push({label: row.textContent, outside_form: true}); }
  }
  const boxes = rows.map(r => [r, [...r.children].filter(c => c.getBoundingClientRect().width > 0)
                                   .map(c => c.getBoundingClientRect())]);
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [ri, ci] = boxes[i], [rj, cj] = boxes[j];
    if (ri.closest('.mpsim-form') !== rj.closest('.mpsim-form')) continue;
    const hit = ci.some(a => cj.some(b => a.right > b.left + 1 && a.left < b.right - 1 && a.bottom > b.top + 1 &&
                                          a.top < b.bottom - 1));
    if (hit) bad.push({label: ri.textContent + ' / ' + rj.textContent, rows_overlap: true});
  }
  return bad;
}
"""
