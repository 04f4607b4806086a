"""The book's build and maintenance tools, run from the repository root as ``python -m tools.<module>``.

Modules: ``build_book`` (the HTML book from executed notebooks), ``check_book`` (every
page opened offline in headless Chromium), ``results_page`` (the generated results page),
``run_full`` (``make full``: every notebook in full mode), ``notebooks`` (strip outputs,
the Colab setup cell, ``--check``), ``export`` (notebook export cells vs the
``d2lhelpers`` package, ``__all__`` lists), ``standin`` (stand-in data and weights at the
real sizes), ``notebook_script`` (a notebook run as a script, without Jupyter),
``rehearse`` (``make rehearse``) and ``gpu_check`` (``make gpu-check``).
"""
