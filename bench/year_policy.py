"""The partnership policy of a national-year run: every local authority the generator uses, webhooks to one receiver.

Each local authority gets a children's services hub and a return-home-interview provider, each partnership
(four neighbouring authorities) an MSET coordinator; all are webhooks to the run's receiver. The rules are
the defaults for decisions, repeat missing and the interview task (`rhi.opened`), without:

- reminders and escalations (policy `rhi`): in compressed time every open task would send two reminders;
- breach notices: the run completes no interviews, so nearly every task breaches at 72 hours in simulation
  time; the tracker still records each breach (its sweeper does the work), the notices are just not routed;
- school notices: they are held until 08:00 the next school day, so they say nothing about latency.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from devstack.recipients import recipient
from shared.policy import load_policy

PARTNERSHIP_SIZE = 4
DECISIONS = ["episode.classified", "episode.reclassified"]
MARKERS = ["cce", "county_lines", "cse", "modern_slavery", "trafficking"]
RULES: list[dict[str, Any]] = [
    {
        "id": "missing-to-social-care",
        "events": DECISIONS,
        "when": {"classification": ["missing"]},
        "send_to": [{"role": "childrens_services", "of": "responsible_la"}, {"role": "childrens_services", "of": "host_la"}],  # noqa: E501
    },
    {
        "id": "absent-to-social-care",
        "events": DECISIONS,
        "when": {"classification": ["absent"]},
        "send_to": [{"role": "childrens_services", "of": "responsible_la"}],
    },
    {
        "id": "exploitation-marker-to-mset",
        "events": DECISIONS,
        "when": {"markers": MARKERS},
        "send_to": [{"role": "mset", "of": "partnership"}],
    },
    {"id": "repeat-missing-to-mset", "events": ["child.repeat_missing"], "send_to": [{"role": "mset", "of": "partnership"}]},  # noqa: E501
    {
        "id": "task-to-rhi-provider",
        "events": ["rhi.opened", "rhi.due_changed", "rhi.superseded", "rhi.cancelled"],
        "send_to": [{"role": "rhi_provider", "of": "responsible_la"}],
        "statutory": True,
    },
]  # fmt: skip


def policy_document(authorities: Sequence[str], receiver_port: int) -> dict[str, Any]:
    """The policy as a YAML-ready dict."""
    groups = [authorities[i : i + PARTNERSHIP_SIZE] for i in range(0, len(authorities), PARTNERSHIP_SIZE)]
    partnerships = [
        {"id": f"p{n:03d}", "name": f"Partnership {n}", "local_authorities": list(g)} for n, g in enumerate(groups)
    ]
    recipients = []
    for la in authorities:
        for suffix, role in (("cs", "childrens_services"), ("rhi", "rhi_provider")):
            recipients.append(
                recipient(f"{la.lower()}-{suffix}", role, "social_care", receiver_port, local_authority=la)
            )
    for n in range(len(groups)):
        recipients.append(recipient(f"p{n:03d}-mset", "mset", "mset", receiver_port, partnership=f"p{n:03d}"))
    return {
        "version": 1,
        "partnerships": partnerships,
        "local_authorities": [{"code": la, "name": f"Authority {la}"} for la in authorities],
        "rhi": {"rhi_for_absent": True, "reminders": [], "escalations": []},
        "notifications": {"recipients": recipients, "rules": RULES},
    }


def write_policy(authorities: Sequence[str], receiver_port: int, path: Path) -> Path:
    """Write the run's policy file and check it loads as the services will load it."""
    path.write_text(yaml.safe_dump(policy_document(authorities, receiver_port), sort_keys=False))
    load_policy(path)
    return path
