"""`GET /metrics` read by a real Prometheus parser (the `prometheus_client`
package's OpenMetrics parser), while an aiortc publisher and player run
through Tern: the exposition parses, and its counters move as the stream flows.
"""

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
