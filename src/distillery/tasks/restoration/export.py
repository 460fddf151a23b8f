"""Restoration's ``export`` part: the bundle's files and inference config, its parity run, the model card.

The bundle carries the pipeline's own decoder and tiling (``pixels.py``, ``tiling.py``: numpy and
Pillow only), so that its predict.py restores whole images exactly as the evaluate stage did. The
parity check imports ``predict.py`` *from the bundle* and restores every test image from its file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from distillery.artifacts import quantized as quantized_store
from distillery.artifacts.bundle_app import load_predict_module
from distillery.data import pixels as pixels_module
from distillery.runners import TFLiteModel
from distillery.tasks.base import BundleSpec
from distillery.tasks.restoration import MODEL_FILES
from distillery.tasks.restoration import tiling as tiling_module
from distillery.tasks.restoration.dataset import TEST_INPUTS, RestorationDataset, parity_input_name
from distillery.tasks.restoration.metrics import psnr
from distillery.tasks.restoration.scoring import clean_images

PREDICT_SCRIPT = Path("examples/restore.py")  # stages run from the repository root (a dvc.yaml dep)
BUNDLE_TOOLS = Path("examples/bundle_tools.py")
SHIPPED_MODULES = (Path(pixels_module.__file__), Path(tiling_module.__file__))  # numpy + Pillow only


def inference_config(data: RestorationDataset, quantized: Path, name: str, max_pixels: int) -> dict[str, Any]:
    meta = quantized_store.read_meta(quantized)
    std, mean = np.asarray(meta.input_std, np.float32), np.asarray(meta.input_mean, np.float32)
    tiles = data.letterbox
    return {
        "name": name,
        "task": "restoration",
        "degradation": data.manifest["degradation"],
        "tiles": {"size": tiles.size, "overlap": tiles.overlap,
                  "blend": "weights fall linearly over the outer `overlap` pixels of each tile (tiling.py)",
                  "smaller_images": "mirrored out to the tile size, then cropped back"},
        "input_size": [tiles.size, tiles.size],
        "channel_order": "RGB",
        "value_range": {"input": "8-bit pixels 0..255, normalised below", "output": "float, 0..1 = black..white; "
                        "x 255, rounded and clipped to 8 bits"},
        "normalization": {
            "formula": "x = pixel * scale + shift  (= (pixel - mean) / std), pixel in 0..255, per RGB channel",
            "mean": meta.input_mean, "std": meta.input_std,
            "scale": (1.0 / std).tolist(), "shift": (-mean / std).tolist(),
        },
        "models": {
            "tflite": {"file": MODEL_FILES["tflite"], "layout": "NHWC in, NCHW out", "batch": 1,
                       **TFLiteModel(quantized / quantized_store.TFLITE_INT8).quantization()},
            "onnx": {"file": MODEL_FILES["onnx"], "layout": "NCHW", "batch": "dynamic", "input": "float32"},
            "onnx_fp32": {"file": MODEL_FILES["onnx_fp32"], "layout": "NCHW", "batch": "dynamic"},
        },
        "max_pixels": max_pixels,
    }


def bundle_spec(data: RestorationDataset, quantized: Path, name: str, max_pixels: int) -> BundleSpec:
    files = {"predict.py": PREDICT_SCRIPT.read_bytes(), BUNDLE_TOOLS.name: BUNDLE_TOOLS.read_bytes()}
    files |= {module.name: module.read_bytes() for module in SHIPPED_MODULES}
    return BundleSpec(files, inference_config(data, quantized, name, max_pixels))


def bundle_decisions(bundle: Path, backend: str, data: RestorationDataset) -> np.ndarray:
    """The bundle's restored test images (from the PNG inputs prepare kept), flattened end to end."""
    app = load_predict_module(bundle).Bundle(bundle, backend)
    folder = data.store.path / TEST_INPUTS
    images = data.tiled("test").images
    return np.concatenate([app.restore(folder / parity_input_name(image)).ravel()
                           for image in tqdm(images, desc=f"parity ({backend})", unit="img", leave=False)])


def psnr_gap(decisions: np.ndarray, reference: np.ndarray, data: RestorationDataset) -> dict[str, float]:
    """The bundle's mean test PSNR minus the pipeline's, in dB (both flattened image after image)."""
    clean = clean_images(data, "test")
    ends = np.cumsum([image.size for image in clean])[:-1]

    def mean_psnr(flat: np.ndarray) -> float:
        return float(np.mean([psnr(r.reshape(c.shape), c) for r, c in zip(np.split(flat, ends), clean, strict=True)]))

    return {"psnr_gap_db": round(mean_psnr(decisions) - mean_psnr(reference), 4) + 0.0}


def bundle_metrics(evaluation: dict[str, Any]) -> dict[str, Any]:
    test = evaluation["test"]
    best = evaluation["best_peer"]
    return {"tflite_int8": test["tflite"], "onnx_int8": test["onnx"], "teacher_fp32": test["teacher_fp32"],
            "student_fp32": test["student_fp32"], "degraded_input": test["degraded_input"],
            "best_classical": {"method": best, **test[best]}, "images": evaluation["test_images"]}


def model_card(config: dict[str, Any], test: dict[str, Any], lineage: dict[str, Any], parity: dict[str, Any],
               sizes: dict[str, int]) -> str:
    teacher, student, quant = lineage["teacher"], lineage["student"], lineage["quantization"]
    rows = "\n".join(f"| {name} | {size:,} |" for name, size in sizes.items())
    scores = "\n".join(f"| {label} | {test[key]['psnr']:.2f} | {test[key]['ssim']:.4f} |" for key, label in (
        ("tflite_int8", "int8 TFLite (this bundle)"), ("onnx_int8", "int8 ONNX (this bundle)"),
        ("student_fp32", "the fp32 student it was quantized from"), ("teacher_fp32", "the fp32 teacher"),
        ("degraded_input", "the degraded input"),
        ("best_classical", f"best classical: {test['best_classical']['method']}")))
    parity_rows = "\n".join(
        f"| {config['models'][backend]['file']} | {100 * parity[backend]['pipeline_agreement_images']:.2f}% | "
        f"{100 * parity[backend]['pipeline_agreement_labels']:.2f}% |" for backend in ("tflite", "onnx"))
    tiles = config["tiles"]
    return f"""# {config['name']}

An image restoration model ({config['degradation']}), exported by the distillery pipeline.

## Lineage
- Data: prepared dataset fingerprint `{lineage['data_fingerprint']}`.
- Teacher: {teacher['family']}/{teacher['size']}, val PSNR {teacher['val_psnr']:.2f} dB.
- Student: {student['family']}/{student['size']}, distilled (alpha {student['distillation']['alpha']},
  {student['distillation']['epochs']} epochs), val PSNR {student['val_psnr']:.2f} dB in fp32.
- Quantization: {quant['method']} int8, {quant['calibration_images']} calibration tiles from the train split;
  TFLite size {quant['tflite_size_ratio']:.2f}x fp32, val PSNR drop {quant['tflite_metric_drop']:.3f} dB;
  ONNX ({quant['onnx_activation_type']} activations) {quant['onnx_size_ratio']:.2f}x, drop
  {quant['onnx_metric_drop']:.3f} dB.

## Test ({test['images']} whole images, native resolution)
| method | PSNR (dB) | SSIM |
|---|---|---|
{scores}

## How to run
`python predict.py . noisy.png --out restored/` (add `--backend onnx` for ONNX Runtime). The model
takes {tiles['size']}x{tiles['size']} tiles; predict.py cuts any image into tiles overlapping by
{tiles['overlap']} pixels and blends them back (tiling.py). Pixels are normalised as
inference_config.json says, and the output (0..1) is scaled to 8 bits.

## Parity
predict.py, run from this bundle on every test image file, against the pipeline's own int8 outputs:
| model | pixels within one grey level | identical pixels |
|---|---|---|
{parity_rows}

## Files
| file | bytes |
|---|---|
{rows}
"""
