"""Excel file formats, and nothing else: what a ledger looks like in and out.

- ``columns``: the declared columns of every export;
- ``workbook``: title row, header, cell styles, page setup, formula neutralising;
- ``exports``: the ledger, the weekly table, the statistics, a unit's task list, built from
  what the requester may see (they write no audit rows: whoever hands a file to a person does);
- ``reading``: checking an uploaded file and reading its sheets within hard caps;
- ``imports``: planning the import of the rows read (no writes);
- ``dates`` and ``matching``: dates, units and leaders as people write them.

The writes (applying an import, export jobs, pending uploads, the weekly package) live in
``rectification.services``; the pages under /excel/ in ``rectification.views.excel``.
"""
