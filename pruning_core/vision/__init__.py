"""Vision Transformers pruned patch by patch: a small ViT for 32x32 pictures (CIFAR-10), run through the
shared layer loop, with safe image reading, CIFAR-10 loading, training from scratch and save/load."""
from .data import DatasetUnavailableError, ImageDataset, load_cifar10
from .images import MAX_PIXELS, ImageError, ImageTooLargeError, images_to_pixels, normalize_pixels, read_image, \
    square_image
from .io import load_vision_classifier, save_vision_classifier
from .model import CIFAR10_CLASSES, PrunedVisionClassifier, vit_config
from ..distillation import Distillation, distillation_loss
from .training import StepOutput, VisionTrainConfig, VisionTrainer, augment, train_alongside, train_vit, vision_accuracy

__all__ = ["CIFAR10_CLASSES", "MAX_PIXELS", "DatasetUnavailableError", "Distillation", "StepOutput", "ImageDataset", "ImageError",
           "ImageTooLargeError", "PrunedVisionClassifier", "VisionTrainConfig", "VisionTrainer",
           "augment", "images_to_pixels", "load_cifar10",
           "load_vision_classifier", "normalize_pixels", "read_image", "save_vision_classifier", "square_image",
           "distillation_loss", "train_alongside", "train_vit", "vision_accuracy", "vit_config"]
