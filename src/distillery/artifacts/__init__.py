"""The formats of the stage outputs that later stages read, one module each.

``data/prepared.py`` owns the prepared store and ``models/checkpoint.py`` the model folders;
``quantized.py`` owns ``models/quantized`` and ``evaluation.py`` owns ``models/evaluation``. A stage
reads another stage's output only through its module, never through that stage's code.
"""
