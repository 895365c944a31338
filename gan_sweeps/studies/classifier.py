"""Training and testing the evaluator architecture on a study's data: the evaluator's own training loop
(``evaluation.evaluator.train_classifier``) with a budget from the command line, scored on the test images with the
metrics of seed 001's Table 1 (``evaluation.metrics.conditional_accuracy``)."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace
from typing import Any, Sequence

import torch

from gan_sweeps.evaluation.evaluator import DEFAULT_RECIPES, TrainingPhase, TrainRecipe, train_classifier
from gan_sweeps.evaluation.metrics import conditional_accuracy
from gan_sweeps.evaluation.passes import map_batches
from gan_sweeps.studies.data import Labelled
from gan_sweeps.studies.runs import StudyError

DEFAULT_EPOCHS = DEFAULT_RECIPES["mnist"].epochs  # the cached evaluator's budget


def add_budget_arguments(parser: argparse.ArgumentParser, epochs: int = DEFAULT_EPOCHS) -> None:
    group = parser.add_argument_group("classifier budget (the evaluator architecture, trained from scratch per cell)")
    group.add_argument("--epochs", type=int, default=epochs, help=f"training epochs per classifier (default {epochs})")
    group.add_argument("--batch-size", type=int, default=DEFAULT_RECIPES["mnist"].batch_size,
                       help="classifier batch size (default: the evaluator's, %(default)s)")
    group.add_argument("--lr", type=float, default=DEFAULT_RECIPES["mnist"].lr,
                       help="peak learning rate of the one-cycle schedule (default: the evaluator's, %(default)s)")
    group.add_argument("--train-size", type=int, default=None,
                       help="real training images (default: the whole training split minus --val-size)")
    group.add_argument("--val-size", type=int, default=5000,
                       help="training-split images held out for validation curves, never trained on (default 5000)")
    group.add_argument("--test-size", type=int, default=None,
                       help="test images scored (default: the whole test split; a seeded random part if smaller)")


def recipe_of(args: argparse.Namespace) -> TrainRecipe:
    """The evaluator's recipe with the command line's batch size, learning rate and seed."""
    if args.epochs < 1 or args.batch_size < 1 or not args.lr > 0:
        raise StudyError("--epochs and --batch-size must be >= 1 and --lr > 0")
    return replace(DEFAULT_RECIPES["mnist"], batch_size=args.batch_size, lr=args.lr, seed=args.seed)


@dataclass
class Cell:
    """One trained classifier's test scores (seed 001's accuracy and confidences) and its history."""

    acc: float
    conf_correct: float
    conf_incorrect: float
    n_train: int
    seconds: float
    history: list[dict[str, Any]]

    def row(self) -> list[Any]:
        return [self.n_train, self.acc, self.conf_correct, self.conf_incorrect, round(self.seconds, 1)]


CELL_HEADER = ["n_train", "test_acc", "conf_correct", "conf_incorrect", "seconds"]


def fit_and_test(phases: Sequence[tuple[str, Labelled, int]], recipe: TrainRecipe, test: Labelled,
                 device: torch.device | str, validation: Labelled | None = None) -> Cell:
    """Train on the phases (name, data, epochs) in order and score the test images."""
    start = time.perf_counter()
    net, history = train_classifier([TrainingPhase(name, d.images01, d.labels, epochs) for name, d, epochs in phases],
                                    recipe, device, num_classes=int(test.labels.max()) + 1,
                                    validation=None if validation is None else (validation.images01,
                                                                                validation.labels))
    probs = map_batches(net, test.images01.to(device), 2000).softmax(1).cpu()
    scores = conditional_accuracy(probs, test.labels)
    return Cell(acc=scores["acc"], conf_correct=scores["conf_correct"], conf_incorrect=scores["conf_incorrect"],
                n_train=sum(len(d) for _, d, e in phases if e > 0), seconds=time.perf_counter() - start,
                history=history)
