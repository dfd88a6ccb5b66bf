#!/usr/bin/env python3
"""Optuna 3.1 side of the sampler benchmark (see scripts/bench/sampler.sh); run it with
/usr/bin/python3, the interpreter that has optuna.

Prints one JSON object per line, with the same keys as bench/sampler_bench.cpp:
  {"kind": "timing", "impl": "optuna", "sampler": "tpe", "mode": ..., "n_trials": ..., ...}
  {"kind": "quality", "impl": "optuna", "sampler": ..., "problem": ..., "budget": ..., ...}
The 7-parameter timing space, the mixed conditional problem and the test functions are defined
exactly as in bench/sampler_bench.cpp.
"""

import argparse
import json
import math
import random
import statistics
import sys
import time

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)


# --- the 7-parameter mixed timing space -------------------------------------------------------

def timing_objective(trial):
    x1 = trial.suggest_float("x1", -5.0, 5.0)
    x2 = trial.suggest_float("x2", 1e-4, 1.0, log=True)
    x3 = trial.suggest_float("x3", 0.0, 10.0)
    i1 = trial.suggest_int("i1", 0, 20)
    i2 = trial.suggest_int("i2", 1, 1024, log=True)
    s1 = trial.suggest_float("s1", 0.0, 1.0, step=0.05)
    c = trial.suggest_categorical("c", ["a", "b", "c"])
    return ((x1 - 1.0) ** 2 + (math.log10(x2) + 2.0) ** 2 + 0.1 * (x3 - 3.0) ** 2
            + 0.05 * (i1 - 7) ** 2 + 0.5 * (math.log2(i2) - 5.0) ** 2 + 4.0 * (s1 - 0.35) ** 2
            + (0.0 if c == "b" else 1.0))


# --- quality problems -------------------------------------------------------------------------

def branin(x):
    a, b, c, r, s, t = 1.0, 5.1 / (4 * math.pi ** 2), 5 / math.pi, 6.0, 10.0, 1 / (8 * math.pi)
    u = x[1] - b * x[0] ** 2 + c * x[0] - r
    return a * u * u + s * (1 - t) * math.cos(x[0]) + s


H6_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
H6_P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
        [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
        [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
        [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]
H6_ALPHA = [1.0, 1.2, 3.0, 3.2]


def hartmann6(x):
    total = 0.0
    for i in range(4):
        inner = sum(H6_A[i][j] * (x[j] - H6_P[i][j]) ** 2 for j in range(6))
        total += H6_ALPHA[i] * math.exp(-inner)
    return -total


def rosenbrock(x):
    return sum(100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


def ackley(x):
    n = len(x)
    sq = sum(v * v for v in x)
    cs = sum(math.cos(2 * math.pi * v) for v in x)
    return -20.0 * math.exp(-0.2 * math.sqrt(sq / n)) - math.exp(cs / n) + 20.0 + math.e


def box_problem(fn, bounds, optimum):
    def objective(trial):
        x = [trial.suggest_float("x%d" % i, lo, hi) for i, (lo, hi) in enumerate(bounds)]
        return fn(x)
    return objective, optimum


def mixed_objective(trial):
    opt = trial.suggest_categorical("opt", ["sgd", "adam", "none"])
    lr = momentum = sched = warmup = None
    if opt in ("sgd", "adam"):
        lr = trial.suggest_float("lr", 1e-5, 1.0, log=True)
    if opt == "sgd":
        momentum = trial.suggest_float("momentum", 0.0, 0.99)
    if opt == "adam":
        sched = trial.suggest_categorical("sched", ["const", "cosine"])
        if sched == "cosine":
            warmup = trial.suggest_int("warmup", 0, 10)
    layers = trial.suggest_int("layers", 1, 8)
    width = trial.suggest_int("width", 16, 1024, log=True)
    dropout = trial.suggest_float("dropout", 0.0, 0.5, step=0.05)
    f = 0.1 * (layers - 3) ** 2 + 0.05 * (math.log2(width) - 7) ** 2 + 4.0 * (dropout - 0.2) ** 2
    if opt == "sgd":
        f += 0.5 * (math.log10(lr) + 2) ** 2 + 2.0 * (momentum - 0.9) ** 2
    elif opt == "adam":
        f += 0.5 * (math.log10(lr) + 3.5) ** 2
        f += 0.02 * (warmup - 4) ** 2 if sched == "cosine" else 0.3
    else:
        f += 1.5
    return f


PROBLEMS = {
    "branin": box_problem(branin, [(-5, 10), (0, 15)], 0.397887357729739),
    "hartmann6": box_problem(hartmann6, [(0, 1)] * 6, -3.32236801141551),
    "rosenbrock-4d": box_problem(rosenbrock, [(-5, 10)] * 4, 0.0),
    "ackley-5d": box_problem(ackley, [(-32.768, 32.768)] * 5, 0.0),
    "mixed": (mixed_objective, 0.0),
}


def make_sampler(name, seed):
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    multivariate = name == "tpe-multivariate"
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return optuna.samplers.TPESampler(seed=seed, multivariate=multivariate,
                                          group=multivariate, warn_independent_sampling=False)


def emit(obj):
    print(json.dumps(obj), flush=True)


def timing_distributions():
    from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                      IntDistribution)
    return {"x1": FloatDistribution(-5.0, 5.0), "x2": FloatDistribution(1e-4, 1.0, log=True),
            "x3": FloatDistribution(0.0, 10.0), "i1": IntDistribution(0, 20),
            "i2": IntDistribution(1, 1024, log=True), "s1": FloatDistribution(0.0, 1.0, step=0.05),
            "c": CategoricalDistribution(["a", "b", "c"])}


def run_timing(sizes, modes, asks):
    """Cost of one ask+tell AT a study size: a study holding n finished trials (random points of
    the space with their objective values, made with `create_trial` and added with
    `study.add_trials`), then `asks` trials
    asked, evaluated and told one by one, each timed. Running whole 10,000-trial studies would
    take Optuna hours; this measures the per-trial cost at that size directly, as
    bench/sampler_bench.cpp does on HyperTune's side."""
    dists = timing_distributions()
    for mode in modes:
        for n in sizes:
            fill_start = time.perf_counter()
            rng = random.Random(1)
            frozen = []
            for _ in range(n):
                params = {"x1": rng.uniform(-5.0, 5.0),
                          "x2": math.exp(rng.uniform(math.log(1e-4), 0.0)),
                          "x3": rng.uniform(0.0, 10.0), "i1": rng.randint(0, 20),
                          "i2": min(1024, max(1, round(math.exp(rng.uniform(0.0, math.log(1024)))))),
                          "s1": round(0.05 * rng.randint(0, 20), 10),
                          "c": rng.choice(["a", "b", "c"])}
                value = timing_objective(optuna.trial.FixedTrial(params))
                frozen.append(optuna.trial.create_trial(params=params, distributions=dists,
                                                        value=value))
            name = "tpe-multivariate" if mode == "multivariate" else "tpe-univariate"
            study = optuna.create_study(sampler=make_sampler(name, 2))
            study.add_trials(frozen)
            fill_seconds = time.perf_counter() - fill_start
            wall_ms, cpu_ms = [], []
            for _ in range(asks):
                w0, c0 = time.perf_counter(), time.process_time()
                trial = study.ask()
                study.tell(trial, timing_objective(trial))
                wall_ms.append(1e3 * (time.perf_counter() - w0))
                cpu_ms.append(1e3 * (time.process_time() - c0))
            emit({"kind": "timing_at_size", "impl": "optuna", "sampler": "tpe", "mode": mode,
                  "n_trials": n, "asks": asks, "fill_seconds": fill_seconds,
                  "ms_per_trial": sum(wall_ms) / asks, "cpu_ms_per_trial": sum(cpu_ms) / asks,
                  "median_ms_per_ask": statistics.median(wall_ms)})


def run_quality(samplers, problems, budgets, seed_start, seeds):
    """Best value after each budget: one line per (problem, sampler, seed, budget)."""
    top = max(budgets)
    for problem in problems:
        objective, optimum = PROBLEMS[problem]
        for name in samplers:
            for seed in range(seed_start, seed_start + seeds):
                study = optuna.create_study(sampler=make_sampler(name, seed))
                best = math.inf
                for t in range(top):
                    trial = study.ask()
                    value = objective(trial)
                    study.tell(trial, value)
                    best = min(best, value)
                    if t + 1 in budgets:
                        emit({"kind": "quality", "impl": "optuna", "sampler": name,
                              "problem": problem, "seed": seed, "budget": t + 1, "best": best,
                              "regret": best - optimum})


def int_list(text):
    return [int(v) for v in text.split(",") if v]


def main():
    ap = argparse.ArgumentParser(description="Optuna 3.1 side of the sampler benchmark")
    ap.add_argument("--quick", action="store_true", help="fewer seeds")
    ap.add_argument("--timing", action="store_true", help="only the timing part")
    ap.add_argument("--quality", action="store_true", help="only the quality part")
    ap.add_argument("--sizes", type=int_list, default=[100, 1000, 10000],
                    help="study sizes at which ask+tell is timed, e.g. 100,1000,10000")
    ap.add_argument("--asks", type=int, default=20, help="timed ask+tell calls per size")
    ap.add_argument("--seeds", type=int, default=None, help="seeds per quality problem")
    ap.add_argument("--seed-start", type=int, default=0, help="first quality seed")
    ap.add_argument("--budgets", type=int_list, default=[50, 100, 200])
    ap.add_argument("--modes", default="univariate,multivariate")
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--samplers", default="tpe-univariate,tpe-multivariate,random")
    args = ap.parse_args()
    both = not args.timing and not args.quality
    seeds = args.seeds or (3 if args.quick else 20)
    if args.asks < 1 or seeds < 1 or args.seed_start < 0:
        sys.exit("--asks and --seeds take a positive integer, --seed-start one >= 0")
    if args.timing or both:
        run_timing(args.sizes, args.modes.split(","), args.asks)
    if args.quality or both:
        problems = args.problems.split(",")
        unknown = [p for p in problems if p not in PROBLEMS]
        if unknown:
            sys.exit("unknown problem(s) %s; known: %s" % (unknown, ", ".join(PROBLEMS)))
        samplers = args.samplers.split(",")
        bad = [s for s in samplers if s not in ("tpe-univariate", "tpe-multivariate", "random")]
        if bad:
            sys.exit("unknown sampler(s) %s; known: tpe-univariate, tpe-multivariate, random" % bad)
        run_quality(samplers, problems, set(args.budgets), args.seed_start, seeds)


if __name__ == "__main__":
    main()
