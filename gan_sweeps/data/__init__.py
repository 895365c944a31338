from gan_sweeps.data.datamodule import ImageDataModule, TensorBatches
from gan_sweeps.data.idx import CLASS_NAMES, DatasetNotFoundError, Split, load_split
from gan_sweeps.data.transforms import NORMALIZATIONS, from_unit_range, to_model_range, to_unit_range

__all__ = ["ImageDataModule", "TensorBatches", "CLASS_NAMES", "DatasetNotFoundError", "Split", "load_split", "NORMALIZATIONS", "from_unit_range", "to_model_range",
           "to_unit_range"]
