"""The chaos run's tables: what the police were told, the faults injected, the invariants held."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from devstack.chaos_check import Invariant
from devstack.chaos_drive import Driven
from devstack.chaos_faults import Fault


def print_report(driven: Driven, faults: list[Fault], invariants: list[Invariant], timings: dict[str, float]) -> None:
    """Print the three tables."""
    print(f"\nDriven: {driven.done} episodes, {len(driven.reports)} reports and {len(driven.returns)} returns accepted")
    print(f"  rejected: {dict(driven.rejected) or 'none'}; retried: {dict(driven.retries) or 'none'}")
    print("  " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    print(f"\nFaults injected: {len(faults)} ({_by_target(faults)})")
    print(f"  {'#':>3}  {'target':<12} {'at s':>7} {'episodes':>9} {'down s':>7} {'back s':>7}")
    for n, f in enumerate(faults, 1):
        row = f"{f.killed_at_s:>7.1f} {f.episodes_done:>9} {f.downtime_s:>7.2f} {f.recovered_s:>7.1f}"
        print(f"  {n:>3}  {f.target:<12} {row}")
    print("\nInvariants")
    print(f"  {'invariant':<56} {'checked':>8} {'failed':>7}  held")
    for inv in invariants:
        print(f"  {inv.name:<56} {inv.checked:>8} {inv.failed:>7}  {'yes' if inv.held else 'NO'}")
        if inv.note:
            print(f"  {'':<4}{inv.note}")
        for example in inv.examples:
            print(f"  {'':<4}e.g. {example}")
    verdict = "every invariant held" if all(i.held for i in invariants) else "INVARIANTS FAILED"
    print(f"\n{verdict}")


def _by_target(faults: list[Fault]) -> str:
    return ", ".join(f"{target} {n}" for target, n in sorted(Counter(f.target for f in faults).items()))


def save_report(
    data_dir: Path,
    settings: dict[str, Any],
    driven: Driven,
    faults: list[Fault],
    invariants: list[Invariant],
    timings: dict[str, float],
) -> Path:
    """Write the run's numbers to <data_dir>/chaos-result.json and return the path."""
    out = data_dir / "chaos-result.json"
    body = {
        "settings": settings,
        "driven": {
            "episodes": driven.done,
            "reports_accepted": len(driven.reports),
            "returns_accepted": len(driven.returns),
            "rejected": dict(driven.rejected),
            "retries": dict(driven.retries),
        },
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "faults": [asdict(f) for f in faults],
        "invariants": [asdict(i) | {"held": i.held} for i in invariants],
    }
    out.write_text(json.dumps(body, indent=2))
    return out
