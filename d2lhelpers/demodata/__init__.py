"""Synthetic demo datasets written in the exact on-disk layouts of the real ones.

Demo mode runs every notebook offline on a small CPU. Each generator draws pictures
whose classes (or objects) differ by *shape*, writes them in the layout of the real
dataset so that the real loading code runs, and does so once: a set is built in a hidden
folder next to its target and renamed into place when complete
(:func:`~d2lhelpers.fileio.build_once`), so an interrupted run never leaves a half-written
dataset, and later calls reuse it. Every set is a deterministic function of its
arguments, which are part of its folder name.

Modules: ``draw`` (the shared toolkit: outlines, colours, backgrounds, the supersampled
canvas), ``foods`` and ``objects`` (the pictures of the classification sets), then one
module per dataset: ``cifar10``, ``hotdog``, ``source`` (the demo pretraining task),
``banana``, ``voc``, ``kaggle`` (both competitions) and ``style`` (the style image).
"""
from .banana import make_banana_demo, render_banana_scene
from .cifar10 import make_cifar10_demo
from .hotdog import make_hotdog_demo
from .kaggle import DEMO_BREEDS, make_kaggle_cifar10_demo, make_kaggle_dog_demo, render_dog
from .objects import CIFAR10_DEMO_CLASSES, SOURCE_CLASSES, render_shape
from .source import make_shapes_source_demo
from .style import make_style_painting
from .voc import make_voc_demo, render_voc_scene

__all__ = [
    "CIFAR10_DEMO_CLASSES", "DEMO_BREEDS", "SOURCE_CLASSES", "make_banana_demo",
    "make_cifar10_demo", "make_hotdog_demo", "make_kaggle_cifar10_demo", "make_kaggle_dog_demo",
    "make_shapes_source_demo", "make_style_painting", "make_voc_demo", "render_banana_scene",
    "render_dog", "render_shape", "render_voc_scene",
]
