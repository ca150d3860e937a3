"""`make run`: the whole service on the embedded default (SQLite + tansu), behind one base URL."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from types import FrameType

from devstack.stack import ROOT, Stack, StackConfig

FORCE = "cleveland"


def keys(stack: Stack, *, fresh_db: bool) -> dict[str, str]:
    """Reuse the demo keys of an earlier run on the same database, or create them with the key CLI."""
    path = stack.config.data_dir / "keys.json"
    if path.exists() and not fresh_db:
        saved: dict[str, str] = json.loads(path.read_text())
        return saved
    created = {"police": stack.create_key("police", FORCE, "demo police system")}
    path.write_text(json.dumps(created, indent=2))
    path.chmod(0o600)
    return created


def banner(stack: Stack, police_key: str) -> str:
    """What the user can do now."""
    base = stack.url()
    return f"""
The service is running at {base} (Ctrl-C stops everything).
  docs:      {stack.url("intake")}/docs
  webhooks:  printed below as they arrive; also {stack.receiver_log} and {stack.url("receiver")}/hooks
  e-mail:    printed below as it arrives (SMTP sink, port {stack.smtp_port});
             also {stack.mail_log} and {stack.url("smtp")}/mails
  logs:      {stack.config.data_dir / "logs"}
  police API key (force '{FORCE}'): {police_key}

Report an episode:
  curl -s -X POST {base}/v1/episodes -H 'Authorization: Bearer {police_key}' \\
    -H 'Content-Type: application/json' -d '{{"police_reference": "CLE-0001",
    "reported_at": "'$(date -u +%FT%TZ)'", "risk_grade": "medium", "child": {{"given_name": "Mia",
    "family_name": "Example", "date_of_birth": "2011-01-15", "responsible_la": "E06000002"}}}}'
Record the return (use the "id" from the answer):
  curl -s -X POST {base}/v1/episodes/EPISODE_ID/return -H 'Authorization: Bearer {police_key}' \\
    -H 'Content-Type: application/json' -d '{{"returned_at": "'$(date -u +%FT%TZ)'"}}'
"""


def main() -> int:
    """Start, print how to use it, wait for Ctrl-C, stop cleanly."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--base-port", type=int, default=8000)
    p.add_argument("--kafka-port", type=int, default=9092)
    p.add_argument("--data-dir", type=Path, default=ROOT / ".devstack")
    p.add_argument("--policy", type=Path, default=ROOT / "deploy" / "policy.example.yaml")
    args = p.parse_args()
    config = StackConfig(
        data_dir=args.data_dir,
        policy_file=args.policy,
        base_port=args.base_port,
        kafka_port=args.kafka_port,
        receiver_to_terminal=True,
    )
    stack = Stack(config)

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    fresh_db = not (config.data_dir / "mcn.db").exists()
    try:
        stack.start_all()
        print(banner(stack, keys(stack, fresh_db=fresh_db)["police"]), flush=True)
        signal.pause()
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
    except Exception as exc:
        print(f"start failed: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
