"""Parses a /metrics answer (stdin) with prometheus_client's two parsers and prints every
sample as JSON: {"openmetrics": [...], "prometheus": [...]}, each sample with its family,
type, name, labels and value. The OpenMetrics parser is strict (it raises on any violation of
the format, a missing `# EOF` included); the classic Prometheus text parser is what older
scrapers use. Called by crates/tenantlink/tests/serve_metrics.rs, not by pytest."""

import json
import sys

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import (
    text_string_to_metric_families as prometheus_families,
)


def samples(families):
    return [
        {
            "family": family.name,
            "type": family.type,
            "name": sample.name,
            "labels": sample.labels,
            "value": sample.value,
        }
        for family in families
        for sample in family.samples
    ]


text = sys.stdin.read()
print(
    json.dumps(
        {
            "openmetrics": samples(openmetrics_families(text)),
            "prometheus": samples(prometheus_families(text)),
        }
    )
)
