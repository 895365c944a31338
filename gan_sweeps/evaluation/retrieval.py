"""Embedding quality: k-NN classification accuracy and retrieval mAP (Triplet GAN protocol), plus a 2-D plot
(also the autoencoders' latent scatter).

Protocol (Zieba & Wang): every test image is a query; the database is the training split; items are ranked by the
Euclidean distance between embeddings. k-NN accuracy: majority class of the k nearest database items (k = 9).
mAP: for each query the average precision of the full ranking, where a hit is a database item of the query's
class, AP = (1/R) sum_{i: hit at rank i} (hits in the first i) / i with R the query's number of hits in the
database (a ranking metric: not scikit-learn's AP of hard predictions); mAP averages AP over queries.

Everything runs in chunks of queries on the embeddings' device: a chunk's distances to the whole database
(chunk x n_database) are sorted, never the full query x database matrix at once.

Ties, handled deterministically:
- equal distances: the sort is stable, so the database item with the smaller index ranks first;
- equal votes among the k nearest: the class whose nearest member ranks first wins.
Squared distances are computed as |q|^2 + |x|^2 - 2 q.x (exact for small integer-valued embeddings, as in the
tests); distances that differ only by float rounding are ordered by their computed values.
A query whose class has no database item has AP 0."""

from __future__ import annotations

from pathlib import Path

import torch

from gan_sweeps.atomic import atomic_write


def squared_distances(queries: torch.Tensor, database: torch.Tensor, db_sq_norms: torch.Tensor | None = None
                      ) -> torch.Tensor:
    """(q, n) squared Euclidean distances, clamped at 0."""
    q_sq = queries.pow(2).sum(1, keepdim=True)
    x_sq = database.pow(2).sum(1) if db_sq_norms is None else db_sq_norms
    return (q_sq + x_sq.unsqueeze(0) - 2.0 * queries @ database.T).clamp_min_(0.0)


def _vote(neighbour_labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Majority class per row of (q, k) labels ordered nearest first; ties -> the class that appears first."""
    q, k = neighbour_labels.shape
    onehot = torch.nn.functional.one_hot(neighbour_labels, num_classes)  # (q, k, C)
    counts = onehot.sum(1)
    ranks = torch.arange(k, device=neighbour_labels.device).view(1, k, 1).expand(q, k, num_classes)
    first = torch.where(onehot.bool(), ranks, torch.full_like(ranks, k)).min(1).values  # k where absent
    return (counts * (k + 1) - first).argmax(1)


@torch.no_grad()
def retrieval_metrics(queries: torch.Tensor, query_labels: torch.Tensor, database: torch.Tensor,
                      database_labels: torch.Tensor, k: int = 9, chunk_size: int = 256) -> dict[str, float]:
    """``{"knn_acc": ..., "map": ...}`` of queries (q, d) against a database (n, d); labels are class indices."""
    if len(database) == 0 or len(queries) == 0:
        raise ValueError("retrieval needs a non-empty query set and database")
    k = min(k, len(database))
    database = database.float()
    device = database.device
    queries, query_labels = queries.float().to(device), query_labels.long().to(device)
    database_labels = database_labels.long().to(device)
    num_classes = int(max(query_labels.max(), database_labels.max())) + 1
    db_sq = database.pow(2).sum(1)
    class_sizes = torch.bincount(database_labels, minlength=num_classes)
    positions = torch.arange(1, len(database) + 1, device=device, dtype=torch.float32)
    correct, ap_sum = 0, 0.0
    for start in range(0, len(queries), chunk_size):
        q, y = queries[start:start + chunk_size], query_labels[start:start + chunk_size]
        dist = squared_distances(q, database, db_sq)
        order = torch.sort(dist, dim=1, stable=True).indices
        del dist
        ranked = database_labels[order]  # (chunk, n) labels, nearest first
        del order
        correct += int((_vote(ranked[:, :k], num_classes) == y).sum())
        hits = ranked == y.unsqueeze(1)
        del ranked
        precision_at_hits = hits.cumsum(1).float().div_(positions) * hits
        relevant = class_sizes[y].float()
        ap = precision_at_hits.sum(1) / relevant.clamp_min(1.0)
        ap_sum += float(torch.where(relevant > 0, ap, torch.zeros_like(ap)).sum())
    n = len(queries)
    return {"knn_acc": correct / n, "map": ap_sum / n}


def pca_2d(x: torch.Tensor) -> torch.Tensor:
    """Projection of (n, d) rows on their first two principal components (n, 2)."""
    x = x.float() - x.float().mean(0, keepdim=True)
    _, _, v = torch.linalg.svd(x, full_matrices=False)
    return x @ v[:2].T


def plot_embeddings(embeddings: torch.Tensor, labels: torch.Tensor, path: str | Path, title: str = "",
                    class_names: list[str] | None = None) -> Path:
    """Scatter of ``embeddings`` (n, d) coloured by class, saved as ``path`` (PNG).

    d = 2: the coordinates themselves (seed 004's latent scatter); d > 2: the first two principal components;
    d = 1: the coordinate against the class (a strip plot). ``class_names`` label the legend (default: indices)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    x = embeddings.detach().float().cpu()
    labels = labels.detach().cpu().long()
    d = x.shape[1]
    if d == 1:
        jitter = torch.rand(len(x), generator=torch.Generator().manual_seed(0)) * 0.5 - 0.25
        xy, axes, what = torch.stack([x[:, 0], labels.float() + jitter], 1), ("z", "class"), "1-D"
    elif d == 2:
        xy, axes, what = x, ("z 1", "z 2"), "2-D"
    else:
        xy, axes, what = pca_2d(x), ("PC 1", "PC 2"), f"PCA of {d} dims"
    xy = xy.numpy()
    cmap = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(6, 6), dpi=100)
    ax.scatter(xy[:, 0], xy[:, 1], c=[cmap(c % 10) for c in labels.tolist()], s=2, alpha=0.6)  # data order
    handles = [Line2D([], [], marker="o", linestyle="", markersize=4, color=cmap(c % 10),
                      label=class_names[c] if class_names is not None and c < len(class_names) else str(c))
               for c in sorted(int(v) for v in labels.unique())]
    ax.legend(handles=handles, title="class", loc="best", fontsize=7)
    ax.set_xlabel(axes[0])
    ax.set_ylabel(axes[1])
    ax.set_title(title or f"test embeddings ({what})")
    fig.tight_layout()
    try:
        return atomic_write(path, lambda fh: fig.savefig(fh, format="png"))
    finally:
        plt.close(fig)
