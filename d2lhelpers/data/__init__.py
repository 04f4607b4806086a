"""Datasets: where each one comes from and how it is read.

``locate`` (:func:`~d2lhelpers.data.locate.dataset_folder`: download or generate a
dataset's folder), ``loaders`` (DataLoaders that keep a GPU busy), ``images`` (decoding
image files), then one reader per dataset: ``cifar10``, ``banana``, ``voc`` (with the
classes and colours in ``voc_classes``) and ``kaggle`` (both competitions). The hot-dog
set needs no reader of its own: it is in torchvision's ImageFolder layout.
"""
