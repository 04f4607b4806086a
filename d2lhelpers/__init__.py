"""Helpers of the executable computer-vision book.

Modules, by what they hold: ``mode`` (demo/full switch, devices), ``paths`` (data and
results folders), ``download`` (dataset registry, verified downloads, safe extraction),
``demodata`` (offline demo datasets in the real on-disk layouts), ``datasets`` (readers),
``models`` (ResNet-18 variants), ``pretrained`` (pretrained weights, real or demo),
``train`` (the trainer), ``plotting``, ``results`` and ``export`` (notebook/package sync).
"""
__version__ = "0.1.0"
