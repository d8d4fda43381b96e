"""The teacher measured before it teaches: what `topk-distill teacher`
says of `report.json` (the teacher's held-out top-1 beside the labels-only
reference student's, which `teacher_training.train_teacher` measures)."""

# The smallest lead over the labels-only reference student (top-1 points)
# at which a teacher taught in our measurements: a lead of 2.5 points cost
# its distilled student 2.1 points on one text set, leads of 4 and 11
# points gained 2.1 and 2.8 on Debian and WordNet (BENCHMARKS.md,
# "Defaults that train").
TEACHING_LEAD = 0.03


def comparison_line(report):
    """What `topk-distill teacher` prints of `report.json`: the teacher's
    held-out top-1 beside the reference student's on the labels alone, and
    a warning when its lead is under `TEACHING_LEAD`.

    Examples:
        >>> print(comparison_line({"teacher": "reference (TF-IDF + MLP)",
        ...                        "teacher_top1": 0.68, "student_top1": 0.72,
        ...                        "examples": 2100, "source": "10% of x.tsv"}))
        held-out top-1 on 2100 examples (10% of x.tsv): teacher (reference (TF-IDF + MLP)) 0.6800, reference student on the labels alone 0.7200
        warning: the teacher is not stronger than the student; distilling from it will not help (use an encoder teacher: --encoder, or fine-tune one: --fine_tune)
        >>> print(comparison_line({"teacher": "encoder fine-tuned (all layers)",
        ...                        "teacher_top1": 0.4, "student_top1": 0.45,
        ...                        "examples": 9, "source": "v.tsv"}).splitlines()[1])
        warning: the teacher is not stronger than the student; distilling from it will not help (fine-tune it longer (--fine_tune_epochs), on more labeled examples, or from a larger encoder)
        >>> print(comparison_line({"teacher": "encoder", "teacher_top1": 0.47,
        ...                        "student_top1": 0.45, "examples": 900,
        ...                        "source": "v.tsv"}).splitlines()[1])
        warning: the teacher leads the student by 2.0 points, under the 3 points at which teachers taught in our measurements; its records may cost accuracy: compare distilled students with labels-only ones (train --student=auto) before using them
    """
    line = (f"held-out top-1 on {report['examples']} examples "
            f"({report['source']}): teacher ({report['teacher']}) "
            f"{report['teacher_top1']:.4f}, "
            "reference student on the labels alone "
            f"{report['student_top1']:.4f}")
    lead = report["teacher_top1"] - report["student_top1"]
    if lead <= 0:
        line += ("\nwarning: the teacher is not stronger than the student; "
                 f"distilling from it will not help ({_stronger(report)})")
    elif lead < TEACHING_LEAD:
        line += (f"\nwarning: the teacher leads the student by "
                 f"{100 * lead:.1f} points, under the "
                 f"{100 * TEACHING_LEAD:.0f} points at which teachers taught "
                 "in our measurements; its records may cost accuracy: "
                 "compare distilled students with labels-only ones (train "
                 "--student=auto) before using them")
    return line


def _stronger(report):
    """How to get a stronger teacher than this one, by what it is."""
    teacher = report["teacher"]
    if teacher.startswith("reference"):
        return ("use an encoder teacher: --encoder, or fine-tune one: "
                "--fine_tune")
    if "fine-tuned" not in teacher:
        return "fine-tune its encoder: --fine_tune"
    return ("fine-tune it longer (--fine_tune_epochs), on more labeled "
            "examples, or from a larger encoder")
