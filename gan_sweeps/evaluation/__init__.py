"""Classifier-based evaluation of generative models: the evaluator (seed 001's CNN, trained once per dataset
and cached, and the one training loop for classifiers of its architecture), FID/KID through torchmetrics on its
features, the classifier inception score, class-balance and conditional-accuracy metrics, a discriminator's
real/fake accuracy, and the real data's reference scores. ``run.evaluate_run`` is the end-of-run evaluation;
retrieval metrics live in ``retrieval``, the autoencoders' in ``autoencoding``, the shared sample pass in
``passes``."""

from gan_sweeps.evaluation.discriminator import NotAJudge, RealFakeJudge
from gan_sweeps.evaluation.evaluate import (GenerativeModel, class_scores, distance_scores, embed_samples,
                                            evaluate_generative, reference_scores)
from gan_sweeps.evaluation.evaluator import (DEFAULT_RECIPES, Evaluator, EvaluatorInfo, TrainingPhase, TrainRecipe,
                                             cache_path, get_evaluator, train_classifier)
from gan_sweeps.evaluation.metrics import (EvaluatorFeatures, class_entropy, class_histogram, conditional_accuracy,
                                           fid, inception_score, kid, mode_collapse, save_confusion_png)
from gan_sweeps.evaluation.passes import eval_mode, map_batches, sample_pass

__all__ = [
    "evaluate_generative", "reference_scores", "GenerativeModel", "embed_samples", "distance_scores",
    "class_scores", "RealFakeJudge", "NotAJudge", "sample_pass", "eval_mode", "map_batches",
    "Evaluator", "EvaluatorInfo", "TrainRecipe", "TrainingPhase", "train_classifier", "DEFAULT_RECIPES",
    "get_evaluator", "cache_path",
    "EvaluatorFeatures", "fid", "kid", "inception_score", "class_histogram", "class_entropy", "mode_collapse",
    "conditional_accuracy", "save_confusion_png",
]
