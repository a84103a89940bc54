"""Product files of the ObsCore granules: the store, who may fetch them, their DataLink and quick looks.

The package imports none of its modules (the CLI starts quickly): import ``jmmctap.products.store`` etc.
"""

__all__: list[str] = []
