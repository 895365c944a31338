"""Datasets: IDX reading (``idx``), where the files are (``datasets``, no torch), the on-device datamodule,
labelled subsets and pixel normalisations. Names are imported on first use (``gan_sweeps.lazy``)."""

from gan_sweeps.lazy import lazy_exports

_EXPORTS = {
    "ImageDataModule": "datamodule", "TensorBatches": "datamodule",
    "Split": "idx", "load_split": "idx",
    "CLASS_NAMES": "datasets", "DatasetNotFoundError": "datasets", "NORMALIZATIONS": "datasets",
    "from_unit_range": "transforms", "to_model_range": "transforms", "to_unit_range": "transforms",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
