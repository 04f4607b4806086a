"""The book's build and maintenance tools, run from the repository root as ``python -m tools.<module>``.

Modules: ``build_book`` (the HTML book from executed notebooks), ``check_book`` (every
page opened offline in headless Chromium), ``results_page`` (the generated results page),
``run_full`` (``make full``: every notebook in full mode), ``notebooks`` (strip outputs,
the Colab setup cell, ``--check``) and ``export`` (notebook export cells vs the
``d2lhelpers`` package, ``__all__`` lists).
"""
