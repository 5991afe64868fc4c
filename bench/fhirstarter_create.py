"""Creates per second against a FHIR server's ``POST /Patient`` (bench/fhirstarter_app.py), with the
same client and connections as ``bench.mixed_load --writes register --readers 0``.

    python -m bench.fhirstarter_create --url http://127.0.0.1:8101 --connections 8 --seconds 10
"""

from __future__ import annotations

import argparse
import random
import string

from bench import http_load


def main() -> None:
    parser = argparse.ArgumentParser(description="FHIR Patient creates per second (for comparison).")
    parser.add_argument("--url", required=True, help="the FHIR server, e.g. http://127.0.0.1:8101")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    rng = random.Random(5)

    def create() -> http_load.Request:
        name = "".join(rng.choices(string.ascii_lowercase, k=9)).title()
        return "create", "POST", "/Patient", {
            "resourceType": "Patient", "name": [{"family": name, "given": ["Load"]}], "gender": "female",
            "birthDate": f"{rng.randint(1930, 2020)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"}

    http_load.run(args.url, groups=[(2, create)], headers={}, seconds=2, kinds=["create"])  # warm-up
    stats = http_load.run(args.url, groups=[(args.connections, create)], headers={}, seconds=args.seconds,
                          kinds=["create"])["create"]
    print(f"{len(stats.latencies) / args.seconds:,.0f} creates/s, p50 {stats.percentile(50) * 1000:.1f} ms, "
          f"p99 {stats.percentile(99) * 1000:.1f} ms, {stats.errors} errors {stats.failures or ''}")


if __name__ == "__main__":
    main()
