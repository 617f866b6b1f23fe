"""`GET /metrics` read by a real Prometheus parser (the `prometheus_client`
package's OpenMetrics parser), while an aiortc publisher and player run
through Tern: the exposition parses, and its counters move as the stream flows.
"""

import urllib.error
import urllib.request

from prometheus_client.openmetrics.parser import text_string_to_metric_families

from harness import clients, live, tern  # noqa: F401 (fixtures)


def scrape(http):
    with urllib.request.urlopen(f"http://{http}/metrics") as r:
        assert r.headers["Content-Type"].startswith("application/openmetrics-text")
        text = r.read().decode()
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
    # A refused WHEP request: an HTTP status and an error sent, so those families have samples.
    req = urllib.request.Request(f"http://{tern}/LiveApp/whep/nobody", data=b"v=0\r\nm=video 9 UDP 96\r\n",
                                 headers={"Content-Type": "application/sdp"}, method="POST")
    try:
        urllib.request.urlopen(req)
    except urllib.error.HTTPError as e:
        assert e.code in (400, 404), e.code
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
