"""Semantic segmentation: ``transposed_conv`` (transposed convolution by hand, the
convolution matrix) and ``fcn`` (the FCN, void-aware loss and metrics, tiled prediction).
The VOC2012 data is in :mod:`d2lhelpers.data.voc`."""
