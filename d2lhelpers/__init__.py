"""Helpers of the executable computer-vision book.

Modules, by what they hold: ``mode`` (demo/full switch, devices), ``paths`` (data and
results folders), ``download`` (dataset registry, verified downloads, safe extraction),
``demodata`` (offline demo datasets in the real on-disk layouts), ``datasets`` (readers),
``models`` (ResNet-18 variants), ``pretrained`` (pretrained weights, real or demo),
``train`` (the trainer), ``plotting``, ``results`` and ``export`` (notebook/package sync).
"""
__version__ = "0.1.0"

from .augment import DeviceBatches, batch_flip_crop
from .datasets import CIFAR10Pickles, hotdog_folder, load_cifar10
from .download import DATASETS, DownloadError, download, download_extract
from .loaders import data_loader
from .mode import choose, default_device, devices, resolve_mode
from .models import ResNet18, Residual, resnet18_cifar, xavier_init_
from .plotting import LivePlot, show_images
from .pretrained import demo_source_model, pretrained_resnet18, untrained_resnet18
from .results import load_results, save_results
from .train import accuracy_counts, evaluate, train_classifier
