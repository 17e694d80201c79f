"""Excel in and out: the ledger import of the office and the exports for everyone.

- ``columns``: the declared columns of every export;
- ``workbook``: title row, header, cell styles, page setup, formula neutralising;
- ``exports``: the ledger, the weekly table, the statistics, a unit's task list;
- ``reading``: checking an uploaded file and reading its sheets within hard caps;
- ``imports``: planning the import of the rows read (no writes);
- ``dates`` and ``matching``: dates, units and leaders as people write them;
- ``services``: applying a confirmed import plan in one transaction;
- ``uploads``: uploaded files waiting for confirmation, and their signed tokens;
- ``views``, ``forms``, ``urls``: the pages under /excel/.
"""
