"""The performance benchmark: a reproducible "city" dataset and the commands that measure it.

- ``bench.city`` builds the dataset with bulk inserts (``city_build``);
- ``bench.grants`` writes guardian's object permissions for it in bulk, by the same rules as
  ``rectification.access.permissions_sync_for_problem``;
- ``bench.run`` is the command line: ``python -m bench.run build|pages|jobs|load|all``;
- ``bench.measure`` times pages, services and exports; ``bench.load`` runs the load test.

Nothing here is imported by the application. docs/PERFORMANCE.md has the figures.
"""
