"""Helpers of the executable computer-vision book.

Modules, by what they hold: ``mode`` (demo/full switch, devices), ``paths`` (data and
results folders), ``download`` (dataset registry, verified downloads, safe extraction),
``demodata`` (offline demo datasets in the real on-disk layouts), ``datasets`` (readers),
``models`` (ResNet-18 variants), ``pretrained`` (pretrained weights, real or demo),
``train`` (the trainer), ``plotting``, ``results``, ``export`` (notebook/package sync);
for detection ``boxes``, ``anchors``, ``banana`` (the banana data set), ``ssd`` (TinySSD),
``detection_metrics`` (mAP) and ``rcnn`` (RoI pooling, torchvision's Faster R-CNN on bananas);
for segmentation ``voc`` (Pascal VOC2012: colours, lazy reader, demo set), ``transposed_conv``
(transposed convolution by hand, the convolution matrix) and ``fcn`` (the FCN, void-aware loss
and metrics, tiled prediction); then ``style_transfer`` (neural style transfer) and ``kaggle``
(the Kaggle CIFAR-10 and dog-breed projects: competition layouts, reorganisation, prediction,
submissions).
"""
__version__ = "0.1.0"

from .anchors import (multibox_detection, multibox_prior, multibox_target, nms, offset_boxes,
                      offset_inverse)
from .augment import DeviceBatches, batch_flip_crop
from .banana import BananasDataset, banana_folder, load_bananas, read_bananas
from .boxes import bbox_to_rect, box_center_to_corner, box_corner_to_center, box_iou, show_bboxes
from .datasets import CIFAR10Pickles, hotdog_folder, load_cifar10, read_rgb
from .detection_metrics import detections_to_preds, mean_average_precision
from .download import DATASETS, DownloadError, download, download_extract
from .fcn import (bilinear_kernel, confusion_matrix, evaluate_segmentation, fcn_resnet18,
                  predict_tiles, segmentation_accuracy, segmentation_loss, segmentation_scores)
from .kaggle import (FrozenFeaturesNet, IdImageFolder, check_submission, kaggle_folder,
                     label_submission, predict, probability_submission, read_csv_labels,
                     reorg_kaggle_data, write_submission)
from .loaders import data_loader
from .mode import choose, default_device, devices, resolve_mode
from .models import ResNet18, Residual, resnet18_cifar, xavier_init_
from .plotting import LivePlot, show_images
from .pretrained import demo_source_model, pretrained_resnet18, untrained_resnet18
from .rcnn import (evaluate_detector, fasterrcnn_banana, predict_detector, roi_pool, rpn_proposals,
                   to_detection_targets, train_detector)
from .results import load_results, save_results
from .style_transfer import make_style_painting, vgg19_features
from .train import accuracy_counts, evaluate, train_classifier
from .transposed_conv import corr2d, kernel2matrix, trans_conv
from .voc import (VOC_CLASSES, VOC_COLORMAP, VOCSegDataset, label2image, load_voc, read_voc_label,
                  voc_colormap2label, voc_folder, voc_label_indices)
