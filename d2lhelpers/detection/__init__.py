"""Object detection: ``boxes`` (conversions, IoU, drawing), ``anchors`` (generating and
labelling anchors, offsets, NMS, detections), ``metrics`` (COCO-style mAP), ``ssd``
(TinySSD) and ``rcnn`` (RoI pooling, torchvision's Faster R-CNN on the banana data)."""
