"""``modelavg-sym personalize``: personalized estimates of every node's mean from a CSV.

The file is raw values in long format (one value per line), or with ``--summaries`` one line
per node: columns node, n, mean, var, or node, estimate, se (known standard errors, e.g. a
meta-analysis table such as the eight-schools data, taken as it is).  ``n`` is printed as
``-`` (JSON ``null``) for a table of standard errors.
"""

from __future__ import annotations

import argparse
import json

from modelavg_sym.numeric.personalize import METHODS, personalize

#: Keys of each object printed by --json, in order.
JSON_KEYS: tuple[str, ...] = ("node", "n", "local", "global", "weight", "estimate", "est_mse",
                              "local_mse")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", metavar="FILE.csv",
                   help="CSV in long format (one value per line), or with --summaries one "
                        "line per node with columns node, n, mean, var or node, estimate, se")
    p.add_argument("--node-col", default="node", help="column naming the node (default: node)")
    p.add_argument("--value-col", default="value",
                   help="column holding the numeric value (default: value)")
    p.add_argument("--method", choices=METHODS, default=METHODS[0],
                   help="weight estimator (default: %(default)s)")
    p.add_argument("--summaries", action="store_true",
                   help="FILE.csv holds per-node summaries: node, n, mean, var, or node, "
                        "estimate, se (known standard errors, pooled by precision)")
    p.add_argument("--json", action="store_true", help="print a JSON list of per-node objects")


def run(args: argparse.Namespace) -> int:
    if args.summaries:
        result = personalize(summaries=args.path, node_col=args.node_col, method=args.method)
    else:
        result = personalize(args.path, node_col=args.node_col, value_col=args.value_col,
                             method=args.method)
    if args.json:
        print(json.dumps([{k: rec[k] for k in JSON_KEYS} for rec in result.to_records()]))
    else:
        print(result)
    return 0
