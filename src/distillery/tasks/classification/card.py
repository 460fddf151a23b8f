"""The bundle's model card: what the model is, where it came from, how well it does, how to run it."""

from __future__ import annotations

from typing import Any


def _pct(value: float) -> str:
    return f"{100 * value:.2f}%"


def model_card(config: dict[str, Any], test: dict[str, Any], lineage: dict[str, Any], parity: dict[str, Any],
               sizes: dict[str, int]) -> str:
    tuned, flat = test["tflite_int8"], test["tflite_int8_flat"]
    teacher, student, quant = lineage["teacher"], lineage["student"], lineage["quantization"]
    rows = "\n".join(f"| {name} | {size:,} |" for name, size in sizes.items())
    per_class = "\n".join(f"| {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |"
                          for label, m in tuned.get("per_class", {}).items())
    parity_rows = "\n".join(
        f"| {config['models'][backend]['file']} | {_pct(parity[backend]['pipeline_agreement_images'])} of images | "
        f"{_pct(parity[backend]['fp32_student_agreement_labels'])} |"
        for backend in ("tflite", "onnx"))
    thresholds = config["thresholds"]
    rule = (f"answer the arg-max class if its softmax score >= {thresholds['global']} (else \"unknown\")"
            if thresholds["kind"] == "reject_below" else
            "label c is present when sigmoid(logit_c) >= per_class[c]: "
            + ", ".join(f"{label}: {t}" for label, t in zip(config["labels"], thresholds["per_class"], strict=True)))
    return f"""# {config['name']}

A {config['task'].replace('_', '-')} image classifier over {len(config['labels'])} labels
({', '.join(config['labels'])}), exported by the distillery pipeline.

## Lineage
- Data: prepared dataset fingerprint `{lineage['data_fingerprint']}`.
- Teacher: {teacher['family']}/{teacher['size']}, val macro-F1 {teacher['val_macro_f1']:.4f}.
- Student: {student['family']}/{student['size']}, distilled (alpha {student['distillation']['alpha']},
  T {student['distillation']['temperature']}, {student['distillation']['epochs']} epochs),
  val macro-F1 {student['val_macro_f1']:.4f} in fp32.
- Quantization: {quant['method']} int8, {quant['calibration_images']} calibration images from the train split;
  TFLite size {quant['tflite_size_ratio']:.2f}x fp32, val macro-F1 drop {quant['tflite_metric_drop']:.2f} points;
  ONNX ({quant['onnx_activation_type']} activations) size {quant['onnx_size_ratio']:.2f}x, drop
  {quant['onnx_metric_drop']:.2f} points.

## Test metrics (int8 TFLite, {parity['images']} test images, scored once)
| | macro-F1 | micro-F1 | mAP | no-label rate |
|---|---|---|---|---|
| threshold 0.5 | {flat['macro_f1']:.4f} | {flat['micro_f1']:.4f} | {flat['mAP']:.4f} | {flat['no_label_rate']:.4f} |
| tuned on val | {tuned['macro_f1']:.4f} | {tuned['micro_f1']:.4f} | {tuned['mAP']:.4f} | {tuned['no_label_rate']:.4f} |

| class | precision | recall | F1 | support |
|---|---|---|---|---|
{per_class}

## Parity (this folder run as an app, on the test image files)
| model | same decisions as the pipeline's int8 evaluation | labels agreeing with the fp32 PyTorch student |
|---|---|---|
{parity_rows}

## How to run it
1. Decode the image, apply EXIF orientation, convert to RGB.
2. Letterbox to {config['input_size'][0]}x{config['input_size'][1]}: scale = size / max(w, h), resize to
   (round(w * scale), round(h * scale)) with bilinear filtering, paste centred on a canvas of value
   {config['letterbox']['pad_value']}.
3. Normalise: `x = pixel * scale + shift` per channel (`inference_config.json` -> `normalization`).
4. TFLite (NHWC, batch 1, int8): `q = clip(round(x / s) + z, -128, 127)` with the input's scale `s`
   and zero point `z`; run; `logit = (q_out - z_out) * s_out`. ONNX (NCHW, float32): feed `x` directly.
5. Apply {config['output_activation']} and the thresholds: {rule}.

`python predict.py . image.png` (needs ai-edge-litert, numpy, Pillow) does exactly this.

## Files
| file | bytes |
|---|---|
{rows}
"""
