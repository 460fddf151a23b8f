"""Post-training INT8 quantization of the student for two targets: TFLite (mobile) and ONNX (server CPU)."""

TARGETS = ("tflite", "onnx")
