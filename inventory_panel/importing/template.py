"""The CSV template a person downloads before an import: the header and three example rows, from the field spec."""

from __future__ import annotations

import csv
import io

from ..fields import FIELDS


def template_csv() -> str:
    """Header (field names in ``FIELDS`` order) plus the three example rows of ``Field.examples``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f.name for f in FIELDS])
    for row in range(3):
        writer.writerow([f.examples[row] for f in FIELDS])
    return out.getvalue()
