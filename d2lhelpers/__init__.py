"""Helpers of the executable computer-vision book, imported as ``d2l``.

Where things are (one concern per module)::

    mode.py           demo/full switch, presets, devices
    paths.py          data, demo and results folders
    fileio.py         atomic files and folders
    download.py       dataset registry, verified downloads, safe extraction, weights
    checks.py         input checks shared by the package and the notebooks
    results.py        results files of every run
    train.py          the training engine (placement, precision, device-side metrics,
                      timing, divergence, eval mode) and the classifier trainer
    checkpoints.py    checkpoints of training runs (save, resume, run names)
    runtime.py        run limits (D2L_FAST_DEV_RUN, D2L_TIME_LIMIT) and the run log
    models.py         ResNet-18 (CIFAR and ImageNet stems)
    pretrained.py     pretrained weights, real or demo; ImageNet statistics
    augment.py        batched augmentation on the device
    plotting.py       image grids, live training curves
    photos.py         example photos with known objects (scikit-image's, no download)
    style_transfer.py neural style transfer
    kaggle.py         the Kaggle projects: frozen-feature model, predictions, submissions
    data/             locate (dataset_folder), loaders, images, cifar10, banana, voc,
                      voc_classes, kaggle
    demodata/         draw (the shared drawing toolkit), foods, objects, and one
                      generator per dataset: cifar10, hotdog, source, banana, voc,
                      kaggle, style
    detection/        boxes, anchors, metrics (mAP), ssd, rcnn
    segmentation/     transposed_conv, fcn

The names below are the flat ``d2l.*`` namespace the notebooks use.
"""
__version__ = "0.1.0"

from .augment import DeviceBatches, batch_flip_crop
from .checks import (anchor_list, check_box_labels, check_corner_boxes, check_crop_size,
                     check_last_dim, check_matrix, positive_list)
from .data.banana import (BANANA_COLUMNS, BananasDataset, banana_image, banana_split_dir,
                          check_banana_images, load_bananas, read_banana_labels, read_bananas)
from .data.cifar10 import CIFAR10Pickles, load_cifar10
from .data.images import image_header, read_rgb
from .data.kaggle import (IdImageFolder, check_label_rows, check_labels_file, image_files,
                          kaggle_folder, link_or_copy, read_csv_labels, reorg_kaggle_data,
                          sort_ids)
from .data.loaders import data_loader, first_batch
from .data.locate import dataset_folder
from .data.voc import (VOCSegDataset, check_voc_sizes, label2image, load_voc, palette_error,
                       read_voc_example, read_voc_label, voc_colormap2label, voc_example_headers,
                       voc_example_paths, voc_label_indices, voc_normalize, voc_split,
                       voc_split_file, voc_split_names)
from .data.voc_classes import VOC_CLASSES, VOC_COLORMAP, VOC_PALETTE, VOC_VOID_COLOR, VOID_INDEX
from .demodata import make_style_painting
from .detection.anchors import (assign_anchor_to_bbox, assign_anchor_to_bbox_loop, greedy_assign,
                                multibox_detection, multibox_prior, multibox_target,
                                multibox_target_loop, nms, nms_loop, offset_boxes, offset_inverse)
from .detection.boxes import (bbox_to_rect, box_center_to_corner, box_corner_to_center, box_iou,
                              show_bboxes)
from .detection.metrics import detections_to_preds, labels_to_targets, mean_average_precision
from .detection.rcnn import (LOSS_NAMES, evaluate_detector, fasterrcnn_banana, predict_detector,
                             resnet_fpn_backbone, roi_pool, rpn_proposals, to_detection_targets,
                             train_detector)
from .detection.ssd import (RATIOS, SIZES, TinySSD, anchor_accuracy, detect, evaluate_map,
                            ssd_errors, ssd_loss)
from .download import DATASETS, DownloadError, download, download_extract
from .kaggle import (FrozenFeaturesNet, check_submission, evaluate_loss, label_submission, predict,
                     probability_submission, train_head, write_submission)
from .mode import MODES, choose, default_device, devices, resolve_mode
from .models import ResNet18, Residual, freeze, resnet18_cifar, xavier_init_
from .photos import ASTRONAUT_AND_CAT_BOXES, astronaut_and_cat
from .plotting import LivePlot, show_images
from .pretrained import (IMAGENET_MEAN, IMAGENET_STD, demo_source_model, pretrained_backbone,
                         pretrained_resnet18, untrained_resnet18)
from .results import load_results, save_results
from .segmentation.fcn import (bilinear_kernel, confusion_matrix, evaluate_segmentation,
                               fcn_resnet18, predict_tiles, resnet_body, segmentation_accuracy,
                               segmentation_loss, segmentation_scores, tile_starts)
from .segmentation.transposed_conv import corr2d, kernel2matrix, trans_conv
from .style_transfer import (CONTENT_WEIGHT, STYLE_WEIGHT, TV_WEIGHT, SynthesisResult, layer_names,
                             load_image, vgg19_features)
from .checkpoints import Checkpoint, checkpoint_file
from .runtime import (Limited, expect, fast_dev_run, log_run, rehearsal, reset_peak_memory,
                      time_limit)
from .train import (DeviceSums, DeviceTimer, Precision, TrainingDiverged, accuracy_counts,
                    autocast_dtype, check_finite, describe_setup, eval_mode, evaluate, place_model,
                    to_device, train_classifier)
