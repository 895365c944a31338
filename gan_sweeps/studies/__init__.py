"""Studies on finished runs (seed 001, §6 and its appendix): each reads run folders (their checkpoints, weights
only), never trains a GAN and never writes into a run folder, and writes its tables, figures and notes into its own
output folder. One module per study; ``python -m gan_sweeps.studies STUDY ...`` runs one (cli.py).

- ``augmentation``: classifiers trained on real:generated mixes at a fixed size, beside real-only baselines;
- ``extra-data``: all real images plus extra generated ones;
- ``sequential``: generated images first, real ones after;
- ``cross-discriminator``: every run's discriminator on one generator's samples, and the transpose;
- ``pca-baseline``: PCA as a generative model, scored like any run (writes run-like folders);
- ``embeddings``: PCA and t-SNE of the evaluator's features, per-class confidence, confusion matrices;
- ``class-distribution``: predicted classes of samples with an "indecipherable" share."""
