"""A tiny national year: the run's driver takes synthetic episodes through every hop to the webhooks."""

from __future__ import annotations

import uuid
from pathlib import Path

from bench.national_year import parse, run
from devstack.postgres import PostgresServer
from devstack.synthetic import generate


def test_fifty_episodes_reach_their_webhooks(postgres: PostgresServer, tmp_path: Path) -> None:
    opts = parse(["--episodes", "50", "--seed", "7", "--ceiling-seconds", "1", "--kafka-records", "500",
                  "--drain-idle", "30", "--output", str(tmp_path)])  # fmt: skip
    returns = sum(e.returned_at is not None for e in generate(7, 50, opts.start, opts.days))

    result = run(opts, postgres.create_database("year_" + uuid.uuid4().hex[:8]), tmp_path / "work")

    assert result["reports_accepted"] == 50
    assert result["returns_accepted"] == returns > 40
    assert result["statuses"] == {"202": 50 + returns}
    assert result["episodes_without_webhook"] == 0
    assert result["returns_without_rhi_opened"] == 0
    assert result["webhooks"]["rhi.opened"] == returns
    assert result["webhooks_rejected"] == 0
    assert result["report_to_first_webhook_s"]["p99"] > 0
    assert result["ceilings"]["bare_endpoint_req_per_s"] > 0
    assert result["ceilings"]["raw_kafka_records_per_s"] > 0
