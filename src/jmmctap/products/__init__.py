"""Product files of the ObsCore granules: the store, who may fetch them, their DataLink and previews."""

from jmmctap.products.catalog import ProductPublisher, public_root
from jmmctap.products.store import DirectoryStore, ProductStore, StoredFile, open_product_store

__all__ = ["DirectoryStore", "ProductPublisher", "ProductStore", "StoredFile", "open_product_store", "public_root"]
