"""CSV import: reading (encoding, delimiter, header), column-wise validation, reports and bulk writes.

``import_csv(inv, source, mode=…, atomic=…, dry_run=…)`` is the entry point (``Inventory.import_csv`` calls it);
the rules are DESIGN.md section 6 and the report's JSON is section 5. Modules: ``reading`` (the file as a whole),
``validation`` (cells, column by column), ``pipeline`` (modes, chunks, the transaction), ``writing`` (the
database), ``report`` (``ImportReport`` and the error file), ``template`` (the downloadable template).
"""

from .pipeline import MODES, import_csv
from .report import ImportReport
from .template import template_csv

__all__ = ["MODES", "ImportReport", "import_csv", "template_csv"]
