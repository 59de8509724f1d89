"""Import of CSV, Excel and DataFrames: reading (encoding, delimiter, header), column-wise validation, reports and
bulk writes.

``import_csv(inv, source, mode=…, atomic=…, dry_run=…)`` is the entry point for files (``Inventory.import_csv``
calls it) and ``import_frame`` for DataFrames; the rules are README, CSV rules and the report's JSON is section 5.
Modules: ``reading`` (the file as a whole), ``sources`` (the ``TabularSource`` seam every source implements:
``reading.CsvFile``, ``frames.FrameSource``), ``values`` (typed cells as the text the rules read), ``validation``
(cells, column by column), ``pipeline`` (modes, chunks, the transaction), ``writing`` (the database), ``report``
(``ImportReport`` and the error file), ``template`` (the downloadable template).
"""

from .pipeline import MODES, import_csv, import_frame, import_source
from .report import ImportReport
from .template import template_csv

__all__ = ["MODES", "ImportReport", "import_csv", "import_frame", "import_source", "template_csv"]
