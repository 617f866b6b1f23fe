"""`GET /metrics` read by real Prometheus parsers (the `prometheus_client`
package's OpenMetrics parser, and Prometheus's own `promtool`), while an aiortc
publisher and player run through Tern: the exposition parses and lints clean,
and its counters move as the stream flows.
"""

import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request

from prometheus_client.openmetrics.parser import text_string_to_metric_families

from harness import clients, live, tern  # noqa: F401 (fixtures)


def exposition(http, openmetrics=True):
    """The scrape as Prometheus asks for it (OpenMetrics), or as a plain reader
    gets it (the classic text format)."""
    accept = {"Accept": "application/openmetrics-text; version=1.0.0"} if openmetrics else {}
    with urllib.request.urlopen(urllib.request.Request(f"http://{http}/metrics", headers=accept)) as r:
        kind = "application/openmetrics-text" if openmetrics else "text/plain; version=0.0.4"
        assert r.headers["Content-Type"].startswith(kind), r.headers["Content-Type"]
        return r.read().decode()


def scrape(http):
    text = exposition(http)
    values = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            values[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return values


def total(values, name):
    return sum(v for (n, _), v in values.items() if n == name)


def test_metrics_parse_and_move_as_a_stream_flows(tern, clients):
    _pub, player = live(tern, clients, "LiveApp", "metrics_s1")
    first = scrape(tern)
    assert first[("tern_streams_live", (("app", "LiveApp"), ("kind", "WebRTC")))] == 1
    assert first[("tern_players_connected", (("app", "LiveApp"), ("kind", "WebRTC")))] == 1
    assert first[("tern_signaling_messages_total", (("command", "publish"),))] >= 1
    player.wait("frames", where=lambda e: e["video"] >= 60)
    second = scrape(tern)
    for name in ["tern_media_datagrams_received_total", "tern_media_datagrams_sent_total",
                 "tern_media_sent_bytes_total", "process_cpu_seconds_total"]:
        assert total(second, name) > total(first, name), name


def test_every_metric_the_grafana_dashboard_uses_is_served(tern, clients):
    import json
    import re
    from pathlib import Path

    live(tern, clients, "LiveApp", "metrics_s2")
    refused_whep(tern)
    served = {name for name, _ in scrape(tern)}
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "deploy/grafana/tern.json").read_text())
    used = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            used |= set(re.findall(r"\b(tern_[a-z_]+|process_[a-z_]+)\b", target["expr"]))
    # A family with no sample yet (webhooks, with no receiver here) is judged by the name the
    # server registers it under.
    source = (Path(__file__).resolve().parents[2] / "crates/server/src/metrics.rs").read_text()
    registered = set(re.findall(r'"(tern_[a-z_]+)"', source))
    missing = [m for m in used if m not in served and m.removesuffix("_total") not in registered]
    assert not missing, missing


def refused_whep(tern):
    """A refused WHEP request: an HTTP status and an error sent, so those families have samples."""
    req = urllib.request.Request(f"http://{tern}/LiveApp/whep/nobody", data=b"v=0\r\nm=video 9 UDP 96\r\n",
                                 headers={"Content-Type": "application/sdp"}, method="POST")
    try:
        urllib.request.urlopen(req)
    except urllib.error.HTTPError as e:
        assert e.code in (400, 404), e.code


def with_timestamps(om, seconds):
    """Every sample stamped: promtool loads only timestamped OpenMetrics."""
    return "\n".join(line if not line or line.startswith("#") else f"{line} {seconds}"
                     for line in om.split("\n"))


def test_promtool_accepts_the_exposition_while_a_stream_flows(tern, clients, tmp_path):
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: apt-get install prometheus (scripts/test.sh installs it)"
    _pub, player = live(tern, clients, "LiveApp", "metrics_s3")
    refused_whep(tern)
    player.wait("frames", where=lambda e: e["video"] >= 30)
    om = exposition(tern)
    assert re.search(r"^tern_media_datagrams_sent_total\{.*\} [1-9]", om, re.M), om

    # promtool's linter (names, help texts, types, unit suffixes, duplicates) on
    # the classic text format Tern serves to readers that do not ask for OpenMetrics.
    text = exposition(tern, openmetrics=False)
    lint = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, (f"promtool check metrics exited {lint.returncode}:\n{lint.stdout}{lint.stderr}"
                                  f"\n--- what it read ---\n{text}")

    # The bytes Tern serves through the OpenMetrics parser Prometheus scrapes with
    # (promtool's backfill loads a file with it), stamped with the scrape time.
    served = tmp_path / "scrape.om"
    served.write_text(with_timestamps(om, int(time.time())))
    load = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(served), str(tmp_path / "tsdb")],
                          capture_output=True, text=True, timeout=60)
    assert load.returncode == 0, (f"promtool tsdb create-blocks-from openmetrics exited {load.returncode}:\n"
                                  f"{load.stdout}{load.stderr}\n--- what it read ---\n{served.read_text()}")
