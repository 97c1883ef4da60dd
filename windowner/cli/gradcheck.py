"""``windowner gradcheck``: hand-derived gradients vs central finite differences."""

from __future__ import annotations

import json


def add_parser(sub) -> None:
    p = sub.add_parser(
        "gradcheck",
        help="check every gradient against finite differences",
        description="Check ∂J/∂W, ∂J/∂b, ∂J/∂U, ∂J/∂X (also through dropout) and the embedding "
        "tables against central finite differences in float64 for every activation × "
        "head; exit 1 if any relative error > 1e-6.",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..nn.gradcheck import TOLERANCE, run_all

    result = run_all(seed=args.seed)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{'activation':<10} {'head':<8} {'param':<13} rel. error")
        for c in result["checks"]:
            flag = "" if c["rel_error"] <= TOLERANCE else "  FAIL"
            print(f"{c['activation']:<10} {c['head']:<8} {c['param']:<13} {c['rel_error']:.2e}{flag}")
        print(f"max relative error: {result['max_rel_error']:.2e} (tolerance {TOLERANCE:g})")
    return 0 if result["max_rel_error"] <= TOLERANCE else 1
