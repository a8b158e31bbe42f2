"""xpnn.data: datasets as NumPy arrays, the IDX reader, downloads, and the DataLoader."""
from .datasets import (FASHION_CLASSES, SOURCES, DatasetNotFoundError, digits, fashion_mnist,
                       mnist, mnist1d)
from .download import DownloadError, cache_dir, download, sha256_of
from .idx import IDXError, read_idx, write_idx
from .loader import DataLoader
from .synthetic import circles, moons, spirals, train_test_split, xor

__all__ = ["FASHION_CLASSES", "SOURCES", "DataLoader", "DatasetNotFoundError", "DownloadError",
           "IDXError", "cache_dir", "circles", "digits", "download", "fashion_mnist", "mnist",
           "mnist1d", "moons", "read_idx", "sha256_of", "spirals", "train_test_split",
           "write_idx", "xor"]
