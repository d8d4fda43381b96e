"""Students' speed against the teacher's, at batch 1, alternated in rounds.

The machine is shared: each round times the teacher and then each student
(the other way round on odd rounds) on single texts, and a student's
speed-up is the median over rounds of the ratio of the two p50 latencies,
with its min and max.

Usage (students saved elsewhere, timed together in one run):
  python benchmarks/latency.py --teacher=WORK/teacher_export \
    --exports=NAME=DIR,NAME2=DIR2 --texts=TEST.tsv [--rounds=7]
"""

import os
import statistics
import sys

from topk_distill.models import encoder_models, saved_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "examples", "wordnet"))
from embed import default_encoder  # noqa: E402


def teacher_export(work, num_classes, encoder=None):
    """The teacher as a SavedModel, WORK/teacher_export: all-MiniLM-L6-v2
    (or `encoder`) + a linear head, each batch padded to its longest text
    (its weights do not change its speed). Made once."""
    path = os.path.join(work, "teacher_export")
    if not os.path.exists(path):
        teacher = encoder_models.make_encoder_teacher(
            encoder or default_encoder(), num_classes)
        saved_model.export_saved_model(teacher, path,
                                       [str(i) for i in range(num_classes)])
    return path


def speedups(teacher_path, exports, texts, rounds=5, repeats=200):
    """Each export's speed-up over the teacher at batch 1.

    Args:
        teacher_path: the teacher's SavedModel (`teacher_export`).
        exports: the students' SavedModel folders.
        texts: the texts answered one at a time, in turn.
        rounds: rounds of (teacher, student) pairs.
        repeats: single-text calls per timing (the student's; the
            teacher's a quarter of them).

    Returns:
        `({export: (median, min, max) of teacher p50 / student p50},
        {export: median student p50 ms}, the teacher's median p50 ms)`.
    """
    def load(path):
        return saved_model.load_saved_model(path).signatures[
            "serving_default"]

    teacher = load(teacher_path)
    students = {path: load(path) for path in exports}
    ratios = {path: [] for path in exports}
    student_ms = {path: [] for path in exports}
    teacher_ms = []
    for round_ in range(rounds):
        for path, student in students.items():
            pair = [("teacher", teacher, max(repeats // 4, 20)),
                    ("student", student, repeats)]
            timed = {name: saved_model.latency_ms(fn, texts, n)[0]
                     for name, fn, n in (pair[::-1] if round_ % 2 else pair)}
            teacher_ms.append(timed["teacher"])
            student_ms[path].append(timed["student"])
            ratios[path].append(timed["teacher"] / timed["student"])
    return ({p: (statistics.median(r), min(r), max(r))
             for p, r in ratios.items()},
            {p: statistics.median(m) for p, m in student_ms.items()},
            statistics.median(teacher_ms))


def main():
    """Times saved students against their teacher in one run:
    `python benchmarks/latency.py --teacher=WORK/teacher_export
    --exports=NAME=DIR,... --texts=TSV [--rounds=7]` prints each export's
    p50 at batch 1 and its speed-up over the teacher (median of the
    rounds' ratios, min and max)."""
    import argparse

    from topk_distill.inputs import inputs

    parser = argparse.ArgumentParser(description=main.__doc__.split("\n")[0])
    parser.add_argument("--teacher", required=True)
    parser.add_argument("--exports", required=True,
                        help="NAME=SAVEDMODEL_DIR,...")
    parser.add_argument("--texts", required=True,
                        help="a .tsv whose texts are answered one by one")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    named = dict(item.split("=", 1) for item in args.exports.split(","))
    texts = [text for text, _ in inputs.iter_examples(args.texts)]
    found, student_ms, teacher_ms = speedups(args.teacher,
                                             list(named.values()), texts,
                                             args.rounds)
    print(f"machine: {os.cpu_count()} cores; {args.rounds} rounds; teacher "
          f"p50 {teacher_ms:.2f} ms (median)\n")
    print("| student | p50 ms | speed-up, median (min-max) |")
    print("|---|---|---|")
    for name, path in named.items():
        speed = found[path]
        print(f"| {name} | {student_ms[path]:.2f} | {speed[0]:.2f}x "
              f"({speed[1]:.2f}-{speed[2]:.2f}) |")


if __name__ == "__main__":
    sys.exit(main())
