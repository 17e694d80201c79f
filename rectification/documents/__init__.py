"""Word documents in 公文 format: the weekly 简报 and the final 整改情况报告.

Like ``excel``, this package holds file formats only and writes nothing: the views and services
that hand a document to a person record it. Every figure comes from the frozen snapshot (the
简报) or from the statistics export's own rows (the final report), never recomputed here.
"""
