"""Territory assignment of one record: the compiled rules (generated walker) against big trees.

For each tree size: compile the Accounts rules (timed), then assign generated accounts one at
a time with `CompiledRules.assign(record, cap)`, each call timed with `perf_counter_ns`; the
percentiles are the medians over the runs (each run compiles afresh). Also: the mean per record
of an untimed loop (no clock calls; wall and CPU time), the clock's own cost, the calls
over 1 ms (on a shared machine: another process had the core), how many rules a record evaluates
(TER-11 prunes the rest), and how many territories it gets. Goal (territories.md,
performance): p99 ≤ 10 µs for one record against 10,000 territories.

    python -m bench.bench_territory_assign --sizes 1000 10000 --accounts 100000 --runs 3
    python -m bench.bench_territory_assign --sizes 10000 --profile   # where the time goes
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import gc
import json
import os
import pstats
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench.common import machine, median, percentile, save
from bench.territory_data import (
    CONTEXT,
    accounts_module,
    count_rule_conditions,
    make_accounts,
    make_tree,
    rule_edit_moving_about,
    rules_visited,
)
from secteur.domain.territories import Assignment, CompiledRules, Limits, Tree, compile_rules

CAP = Limits().cap("Accounts")
GOAL_P99_US = 10.0


def latencies(assign: Callable[[Any, int], Assignment], records: Sequence[Any]) -> list[int]:
    """Nanoseconds of each `assign(record, CAP)` call."""
    clock = time.perf_counter_ns
    out = [0] * len(records)
    cap = CAP
    for i, record in enumerate(records):
        start = clock()
        assign(record, cap)
        out[i] = clock() - start
    return out


def untimed_mean_us(
    assign: Callable[[Any, int], Assignment], records: Sequence[Any]
) -> tuple[float, float]:
    """Mean µs per record of a loop without clock calls: (wall, this thread's CPU time).

    CPU time leaves out the time other processes had the core, which wall time includes.
    """
    cap = CAP
    wall, cpu = time.perf_counter(), time.thread_time()
    for record in records:
        assign(record, cap)
    n = len(records)
    return (time.perf_counter() - wall) / n * 1e6, (time.thread_time() - cpu) / n * 1e6


def clock_overhead_ns(n: int = 200_000) -> float:
    clock = time.perf_counter_ns
    samples = [0] * n
    for i in range(n):
        start = clock()
        samples[i] = clock() - start
    return statistics.median(samples)


def describe(tree: Tree, rules: CompiledRules) -> dict[str, Any]:
    conditions = [
        count_rule_conditions(rule)
        for t in tree.by_id.values()
        if (rule := t.rule("Accounts")) is not None
    ]
    bands = collections.Counter(
        "1" if c == 1 else "2-5" if c <= 5 else "6-10" if c <= 10 else "11-25" for c in conditions
    )
    return {
        "territories": len(tree),
        "with_rule": len(conditions),
        "pass_through": len(tree) - len(conditions),
        "depth": max(tree.depth.values()),
        "fields_read": len(rules.fields),
        "conditions_per_rule": {k: bands[k] for k in ("1", "2-5", "6-10", "11-25")},
        "max_conditions": max(conditions),
    }


def run_size(size: int, records: list[dict[str, Any]], runs: int, gc_off: bool) -> dict[str, Any]:
    module = accounts_module()
    territories = make_tree(size)
    tree = Tree.of(territories)
    compile_s: list[float] = []
    p50: list[float] = []
    p99: list[float] = []
    p999: list[float] = []
    worst: list[float] = []
    mean_timed: list[float] = []
    mean_wall: list[float] = []
    mean_cpu: list[float] = []
    over_1ms: list[float] = []
    rules: CompiledRules | None = None
    for _ in range(runs):
        rules = None
        gc.collect()
        start = time.perf_counter()
        rules = compile_rules(tree, module, CONTEXT)
        compile_s.append(time.perf_counter() - start)
        assign = rules.assign
        for record in records[:2000]:  # warm-up
            assign(record, CAP)
        gc.collect()
        if gc_off:
            gc.disable()
        try:
            ns: list[float] = [*latencies(assign, records)]
            wall, cpu = untimed_mean_us(assign, records)
        finally:
            gc.enable()
        p50.append(percentile(ns, 50) / 1000)
        p99.append(percentile(ns, 99) / 1000)
        p999.append(percentile(ns, 99.9) / 1000)
        worst.append(max(ns) / 1000)
        mean_timed.append(sum(ns) / len(ns) / 1000)
        mean_wall.append(wall)
        mean_cpu.append(cpu)
        over_1ms.append(sum(1 for x in ns if x > 1_000_000))
    assert rules is not None

    sample = records[:10_000]
    for record in sample[:2000]:  # the generated walker agrees with the interpreter
        assert rules.deepest_matches(record) == rules.descend(record, (tree.root_id,))
    visits = [rules_visited(rules, r) for r in sample]
    assigned = [rules.assign(r, CAP) for r in records]
    counts = collections.Counter(min(len(a.territory_ids), 3) for a in assigned)
    return {
        "tree": describe(tree, rules),
        "accounts": len(records),
        "compile_s": round(median(compile_s), 3),
        "p50_us": round(median(p50), 2),
        "p99_us": round(median(p99), 2),
        "p999_us": round(median(p999), 2),
        "max_us": round(median(worst), 1),
        "mean_timed_us": round(median(mean_timed), 2),
        "mean_untimed_us": round(median(mean_wall), 2),
        "mean_cpu_us": round(median(mean_cpu), 2),
        "calls_over_1ms": int(median(over_1ms)),
        "runs_p99_us": [round(x, 2) for x in p99],
        "rules_evaluated_per_record": round(statistics.fmean(e for e, _ in visits), 1),
        "rules_evaluated_max": max(e for e, _ in visits),
        "territories_reached_per_record": round(statistics.fmean(r for _, r in visits), 1),
        "assigned_per_record": round(statistics.fmean(len(a.territory_ids) for a in assigned), 3),
        "share_with_territory": round(1 - counts[0] / len(assigned), 4),
        "share_by_count": {
            label: round(counts[k] / len(assigned), 4)
            for k, label in ((0, "0"), (1, "1"), (2, "2"), (3, "3+"))
        },
        "dropped_by_cap": sum(1 for a in assigned if a.dropped),
    }


def rule_edit_check(size: int, records: list[dict[str, Any]], sample_size: int) -> dict[str, Any]:
    """`rule_edit_moving_about` on a sample, checked on the measured (other) accounts."""
    module = accounts_module()
    territories = make_tree(size)
    sample = list(make_accounts(sample_size, seed=99))
    start = time.perf_counter()
    edit = rule_edit_moving_about(territories, sample, 0.01)
    plan_s = time.perf_counter() - start
    before = compile_rules(Tree.of(territories), module, CONTEXT)
    start = time.perf_counter()
    after = compile_rules(Tree.of(edit.territories), module, CONTEXT)
    recompile_s = time.perf_counter() - start
    on_sample = sum(1 for r in sample if before.assign(r, CAP) != after.assign(r, CAP))
    on_others = sum(1 for r in records if before.assign(r, CAP) != after.assign(r, CAP))
    assert on_sample == edit.moved, (on_sample, edit.moved)
    return {
        "territories": size,
        "edited": f"{edit.territory_name} ({edit.territory_id})",
        "threshold": edit.threshold,
        "planned_on_sample": round(edit.fraction, 4),
        "moved_on_sample": round(on_sample / len(sample), 4),
        "moved_on_other_accounts": round(on_others / len(records), 4),
        "plan_s": round(plan_s, 2),
        "recompile_s": round(recompile_s, 2),
    }


def profile(size: int, records: list[dict[str, Any]]) -> None:
    rules = compile_rules(Tree.of(make_tree(size)), accounts_module(), CONTEXT)
    assign = rules.assign
    profiler = cProfile.Profile()
    profiler.enable()
    for record in records:
        assign(record, CAP)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


def table(results: list[dict[str, Any]]) -> str:
    head = (
        f"{'territories':>11} {'compile s':>9} {'p50 µs':>7} {'p99 µs':>7} {'p99.9 µs':>8} "
        f"{'mean µs':>7} {'cpu µs':>6} {'>1 ms':>5} {'rules/rec':>9} {'terr/rec':>8} "
        f"{'≥1 terr':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r['tree']['territories']:>11,} {r['compile_s']:>9.2f} {r['p50_us']:>7.2f} "
            f"{r['p99_us']:>7.2f} {r['p999_us']:>8.2f} {r['mean_untimed_us']:>7.2f} "
            f"{r['mean_cpu_us']:>6.2f} {r['calls_over_1ms']:>5} "
            f"{r['rules_evaluated_per_record']:>9.1f} {r['assigned_per_record']:>8.3f} "
            f"{r['share_with_territory']:>7.1%}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--gc-off", action="store_true", help="disable the GC while timing")
    parser.add_argument("--edit-sample", type=int, default=20_000, help="0: skip the edit check")
    parser.add_argument("--profile", action="store_true", help="cProfile the largest size")
    parser.add_argument("--save", action="store_true", help="write bench/out/territory_assign")
    args = parser.parse_args()

    info = machine()
    print(
        f"{info['cpu']}, {info['cores']} cores, {info['memory']}, Python {info['python']}, "
        f"{args.runs} runs, {args.accounts:,} accounts, cap {CAP}, "
        f"GC {'off' if args.gc_off else 'on'}, clock {clock_overhead_ns():.0f} ns per reading, "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    records = list(make_accounts(args.accounts))
    results = []
    for size in args.sizes:
        result = run_size(size, records, args.runs, args.gc_off)
        print(json.dumps(result), flush=True)
        results.append(result)
    print()
    print(table(results))
    largest = max(args.sizes)
    verdict = next(r for r in results if r["tree"]["territories"] == largest)["p99_us"]
    print(
        f"\ngoal p99 ≤ {GOAL_P99_US:g} µs at {largest:,} territories: "
        f"{'met' if verdict <= GOAL_P99_US else 'NOT met'} ({verdict:.2f} µs)"
    )
    edit = None
    if args.edit_sample:
        edit = rule_edit_check(largest, records, args.edit_sample)
        print("\nrule edit moving ~1 %:", json.dumps(edit))
    if args.profile:
        profile(largest, records)
    if args.save:
        print(
            save(
                "territory_assign",
                {
                    "benchmark": "territory_assign",
                    "runs": args.runs,
                    "cap": CAP,
                    "gc_off": args.gc_off,
                    "results": results,
                    "rule_edit": edit,
                },
            )
        )


if __name__ == "__main__":
    main()
