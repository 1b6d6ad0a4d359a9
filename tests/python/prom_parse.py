"""Parses a Prometheus text exposition (stdin) with the reference Python client's parser and
prints every sample as JSON: [{family, type, help, name, labels, value}], value as str (so
+Inf survives JSON). A malformed exposition raises, and the exit status says so."""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main() -> None:
    samples = []
    for family in text_string_to_metric_families(sys.stdin.read()):
        for sample in family.samples:
            samples.append(
                {
                    "family": family.name,
                    "type": family.type,
                    "help": family.documentation,
                    "name": sample.name,
                    "labels": sample.labels,
                    "value": repr(float(sample.value)),
                }
            )
    json.dump(samples, sys.stdout)


if __name__ == "__main__":
    main()
