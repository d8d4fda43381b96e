"""One module per `topk-distill` command: absl flags on a FlagValues of its own, and main(argv)."""
