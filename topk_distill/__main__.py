"""`python -m topk_distill` is the `topk-distill` command."""

from topk_distill import cli

if __name__ == "__main__":
    cli.run()
