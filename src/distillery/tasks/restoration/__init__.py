"""Image restoration (denoising, deblurring, JPEG artefacts): the parts of the ``restoration`` task.

Built so far: the data (``sources``, ``degrade``, ``store``), scoring (``metrics``, ``tiling``) and the
classical peers (``baselines``); the families are ``nafnet`` and ``convnext_unet`` in the model registry.
The task is not registered in ``distillery.tasks.BUILT_IN`` yet: the shared stages still read a
classification store, and the seam that lets a task supply its own store, batches and scoring comes next.
"""
