"""The image example's figures: P@1 of its teacher, distilled student and
hard-label student over several seeds, and batch-1 latency of the student
against the teacher.

Usage:
  python benchmarks/image_example.py --work=/tmp/images [--seeds=0,1,2]
      [--rounds=5] [--report [--code_version=V]]

Runs `examples/images/run.sh`'s commands in this process (same flags, the
data and teacher once, both students once per seed with `--seed`), then
evaluates each export on the test folder. Latency: the exports'
`serving_default` at batch 1 (`saved_model.latency_ms`, p50 of 200 calls on
test images), teacher and student alternated in --rounds rounds; the
ratio's median over rounds with min and max. Results are cached in
--work/image_example.json by seed and code version, so an interrupted run
resumes; --report prints the tables from the cache.
"""

import argparse
import json
import os
import shlex
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(ROOT, "examples", "images")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

MODULES = ("inputs", "input_kinds", "teacher", "records", "codec",
           "scoring", "preprocessing", "reader", "mixer", "targets",
           "losses", "student", "models", "training", "teacher_training",
           "export", "evaluation", "serving")


def commands(work):
    """run.sh's steps: (argv of a `topk-distill` command, or of
    make_images.py)."""
    text = open(os.path.join(HERE, "run.sh")).read().replace("\\\n", " ")
    steps = []
    for line in text.splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith(("#", "set ", "here=", "work=")):
            continue
        line = line.replace('"$here', '"' + HERE).replace('"$work', '"' + work)
        steps.append(shlex.split(line))
    return steps


def run(argv):
    from topk_distill import cli

    if argv[0] == "python":
        import importlib.util

        spec = importlib.util.spec_from_file_location("make_images", argv[1])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.main(argv[2:])
    code = cli.main(argv)
    if code:
        raise SystemExit(f"{' '.join(argv)}: exit {code}")
    return code


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/images")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--code_version", help="with --report: the cached "
                        "results of this code version (default: this "
                        "checkout's)")
    args = parser.parse_args()
    import wordnet_accuracy

    version = wordnet_accuracy.code_version(
        MODULES, [os.path.abspath(__file__), os.path.join(HERE, "run.sh"),
                  os.path.join(HERE, "make_images.py")])
    if args.report and args.code_version:
        version = args.code_version
    cache_path = os.path.join(args.work, "image_example.json")
    cache = json.load(open(cache_path)) if os.path.exists(
        cache_path) else {}

    def save():
        os.makedirs(args.work, exist_ok=True)
        with open(cache_path, "w") as f:
            json.dump(cache, f, indent=1)

    steps = commands(args.work)
    test = os.path.join(args.work, "data", "test")
    seeds = [int(s) for s in args.seeds.split(",")]
    if not args.report and f"teacher|{version}" not in cache:
        from topk_distill.inputs import labels_file
        from topk_distill.serving import evaluation

        for argv in steps:  # data, teacher and its records: once
            if argv[0] == "python" or argv[1] in ("teacher", "preprocess"):
                run(argv)
        export = os.path.join(args.work, "teacher", "export")
        run(["topk-distill", "export", "--model=" + os.path.join(
            args.work, "teacher", "teacher.keras"), "--output=" + export])
        names = labels_file.read_labels(os.path.join(export, "labels.txt"))
        images, labels = labels_file.read_labeled(test, names)
        cache[f"teacher|{version}"] = evaluation.evaluate(
            export, images, labels, latency_repeats=20, throughput_batches=2)
        save()
    for seed in seeds:
        for name in ("student", "hard"):
            key = f"{name}|{seed}|{version}"
            if key in cache or args.report:
                continue
            from topk_distill.inputs import labels_file
            from topk_distill.serving import evaluation

            folder = os.path.join(args.work, f"{name}-{seed}")
            argv = next(a for a in steps if a[:2] == ["topk-distill", "train"]
                        and ("--baseline=hard" in a) == (name == "hard"))
            argv = [f"--output={folder}" if a.startswith("--output=") else a
                    for a in argv] + [f"--seed={seed}"]
            run(argv)
            export = os.path.join(folder, "export")
            names = labels_file.read_labels(os.path.join(export, "labels.txt"))
            images, labels = labels_file.read_labeled(test, names)
            cache[key] = evaluation.evaluate(export, images, labels,
                                             latency_repeats=20,
                                             throughput_batches=2)
            save()
    key = f"latency|{args.rounds}|{version}"
    if key not in cache and not args.report:
        from topk_distill.inputs import labels_file
        from topk_distill.models import saved_model
        from topk_distill.serving import evaluation

        names = labels_file.read_labels(os.path.join(args.work, "teacher",
                                                     "labels.txt"))
        images, _ = labels_file.read_labeled(test, names)
        predict = {name: saved_model.load_saved_model(os.path.join(
            args.work, folder, "export")).signatures["serving_default"]
            for name, folder in (("teacher", "teacher"),
                                 ("student", f"student-{seeds[0]}"))}
        rounds = []
        for _ in range(args.rounds):
            p50 = {name: saved_model.latency_ms(fn, images, 200)[0]
                   for name, fn in predict.items()}
            rounds.append(dict(p50, ratio=p50["teacher"] / p50["student"]))
            print(rounds[-1], flush=True)
        cache[key] = rounds
        save()
    report(cache, version, seeds, args.rounds)


def report(cache, version, seeds, rounds):
    teacher = cache.get(f"teacher|{version}")
    print(f"\nmachine: {os.cpu_count()} cores; code version {version}")
    print("| model | P@1 per seed | mean P@1 | P@5 (mean) |")
    print("|---|---|---|---|")
    if teacher:
        print(f"| teacher (trained once) | {teacher['p@1']:.4f} | "
              f"{teacher['p@1']:.4f} | {teacher['p@5']:.4f} |")
    found = {}
    for name, title in (("student", "distilled student"),
                        ("hard", "hard-label student")):
        rows = [cache.get(f"{name}|{s}|{version}") for s in seeds]
        if not all(rows):
            continue
        found[name] = [r["p@1"] for r in rows]
        print(f"| {title} | " + ", ".join(f"{v:.4f}" for v in found[name]) +
              f" | {statistics.mean(found[name]):.4f} | "
              f"{statistics.mean(r['p@5'] for r in rows):.4f} |")
    if len(found) == 2:
        wins = sum(a > b for a, b in zip(found["student"], found["hard"]))
        print(f"\ndistilled beats hard-label on {wins} of {len(seeds)} seeds "
              "(target: all)")
    latency = cache.get(f"latency|{rounds}|{version}")
    if latency:
        ratios = [r["ratio"] for r in latency]
        print(f"batch-1 latency p50, {rounds} alternated rounds: teacher "
              f"{statistics.median(r['teacher'] for r in latency):.2f} ms, "
              f"student {statistics.median(r['student'] for r in latency):.3f}"
              f" ms; teacher/student median {statistics.median(ratios):.1f}x "
              f"(min {min(ratios):.1f}, max {max(ratios):.1f}; target >= 10)")


if __name__ == "__main__":
    main()
