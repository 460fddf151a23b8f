"""The segmentation task (SAM fine-tuned with LoRA on COCO masks), being built: so far its COCO reader
(``coco``). It registers in ``distillery.tasks.BUILT_IN`` once it runs through the seven stages."""
