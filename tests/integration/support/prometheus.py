"""Prometheus: a parser for the text exposition format (Metrics), a real prometheus server that
scrapes given targets (PrometheusServer), and `promtool check metrics`.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from .processes import LOOPBACK, ManagedProcess, clean_env, free_port

_SAMPLE_RE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)(?:\s+\S+)?$')
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*')


def _parse_value(text: str) -> float:
    return float({"+Inf": "inf", "-Inf": "-inf", "NaN": "nan"}.get(text, text))


class Metrics:
    def __init__(self, text: str):
        self.text = text
        self.samples: list[tuple[str, dict, float]] = []
        self.types: dict[str, str] = {}
        self.helps: dict[str, str] = {}
        for line in text.splitlines():
            if not line.strip():
                continue
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(None, 3)
                self.types[name] = kind.strip()
                continue
            if line.startswith("# HELP "):
                parts = line.split(None, 3)
                self.helps[parts[2]] = parts[3] if len(parts) > 3 else ""
                continue
            if line.startswith("#"):
                continue
            m = _SAMPLE_RE.match(line)
            if not m:
                raise ValueError(f"unparsable metrics line: {line!r}")
            labels = dict(_LABEL_RE.findall(m.group("labels") or ""))
            self.samples.append((m.group("name"), labels, _parse_value(m.group("value"))))

    def find(self, name: str, **labels) -> list[tuple[dict, float]]:
        return [(lab, val) for n, lab, val in self.samples
                if n == name and all(lab.get(k) == v for k, v in labels.items())]

    def value(self, name: str, **labels) -> float | None:
        """The single sample matching exactly; None when absent."""
        found = self.find(name, **labels)
        if not found:
            return None
        assert len(found) == 1, f"{name}{labels} matches {len(found)} samples: {found}"
        return found[0][1]

    def names(self) -> set[str]:
        return {n for n, _, _ in self.samples}


class PrometheusServer(ManagedProcess):
    name = "prometheus"

    def __init__(self, workdir: Path, targets: list[str], interval: str = "1s"):
        super().__init__(workdir)
        self.port = 0
        self.config = self.workdir / "prometheus.yml"
        self.config.write_text(
            "global:\n"
            f"  scrape_interval: {interval}\n"
            f"  scrape_timeout: {interval}\n"
            f"  evaluation_interval: {interval}\n"
            "scrape_configs:\n"
            "  - job_name: october-api\n"
            "    static_configs:\n"
            f"      - targets: [{', '.join(repr(t) for t in targets)}]\n")
        self.tsdb = Path(tempfile.mkdtemp(prefix="tsdb-", dir=self.workdir))

    def start(self, timeout: float = 30.0) -> "PrometheusServer":
        self.port = free_port()
        argv = ["/usr/bin/prometheus", f"--config.file={self.config}",
                f"--storage.tsdb.path={self.tsdb}",
                f"--web.listen-address={LOOPBACK}:{self.port}", "--log.level=warn"]
        self._spawn(argv, clean_env())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError("prometheus exited during start-up\n" + self.report())
            try:
                r = self.api("/-/ready")
                if r.status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("prometheus not ready in time\n" + self.report())

    def api(self, path: str, **params) -> requests.Response:
        with requests.Session() as s:
            s.trust_env = False
            return s.get(f"http://{LOOPBACK}:{self.port}{path}", params=params, timeout=5)


def promtool_check(text: str) -> tuple[int, str]:
    res = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=text.encode(),
                         capture_output=True, timeout=30)
    return res.returncode, res.stdout.decode(errors="replace") + res.stderr.decode(errors="replace")
