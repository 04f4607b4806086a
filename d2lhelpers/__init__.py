"""Helpers of the executable computer-vision book.

Modules, by what they hold: ``mode`` (demo/full switch, devices), ``paths`` (data and
results folders), ``download`` (dataset registry, verified downloads, safe extraction),
``demodata`` (offline demo datasets in the real on-disk layouts), ``datasets`` (readers),
``models`` (ResNet-18 variants), ``pretrained`` (pretrained weights, real or demo),
``train`` (the trainer), ``plotting``, ``results``, ``export`` (notebook/package sync);
for detection ``boxes``, ``anchors``, ``banana`` (the banana data set), ``ssd`` (TinySSD),
``detection_metrics`` (mAP) and ``rcnn`` (RoI pooling, torchvision's Faster R-CNN on bananas).
"""
__version__ = "0.1.0"

from .anchors import (multibox_detection, multibox_prior, multibox_target, nms, offset_boxes,
                      offset_inverse)
from .augment import DeviceBatches, batch_flip_crop
from .banana import BananasDataset, banana_folder, load_bananas, read_bananas
from .boxes import bbox_to_rect, box_center_to_corner, box_corner_to_center, box_iou, show_bboxes
from .datasets import CIFAR10Pickles, hotdog_folder, load_cifar10
from .detection_metrics import detections_to_preds, mean_average_precision
from .download import DATASETS, DownloadError, download, download_extract
from .loaders import data_loader
from .mode import choose, default_device, devices, resolve_mode
from .models import ResNet18, Residual, resnet18_cifar, xavier_init_
from .plotting import LivePlot, show_images
from .pretrained import demo_source_model, pretrained_resnet18, untrained_resnet18
from .rcnn import (evaluate_detector, fasterrcnn_banana, predict_detector, roi_pool, rpn_proposals,
                   to_detection_targets, train_detector)
from .results import load_results, save_results
from .train import accuracy_counts, evaluate, train_classifier
