"""Classifier-based evaluation of generative models: the evaluator (seed 001's CNN, trained once per dataset
and cached), FID/KID through torchmetrics on its features, the classifier inception score, class-balance and
conditional-accuracy metrics, and the real data's reference scores. Retrieval metrics live in ``retrieval``."""

from gan_sweeps.evaluation.evaluate import (GenerativeModel, class_scores, distance_scores, embed_samples,
                                            evaluate_generative, reconstruction_scores, reference_scores)
from gan_sweeps.evaluation.evaluator import (DEFAULT_RECIPES, Evaluator, EvaluatorInfo, TrainRecipe, cache_path,
                                             get_evaluator)
from gan_sweeps.evaluation.metrics import (EvaluatorFeatures, class_entropy, class_histogram, conditional_accuracy,
                                           fid, inception_score, kid, mode_collapse, save_confusion_png)

__all__ = [
    "evaluate_generative", "reference_scores", "GenerativeModel", "embed_samples", "distance_scores",
    "class_scores", "reconstruction_scores",
    "Evaluator", "EvaluatorInfo", "TrainRecipe", "DEFAULT_RECIPES", "get_evaluator", "cache_path",
    "EvaluatorFeatures", "fid", "kid", "inception_score", "class_histogram", "class_entropy", "mode_collapse",
    "conditional_accuracy", "save_confusion_png",
]
