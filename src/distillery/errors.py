"""One family of errors: a stage prints any of them as one clear line and exits non-zero."""


class DistilleryError(Exception):
    """A user-facing problem: the message says what, where, and how to fix it."""


class ConfigError(DistilleryError):
    """params.yaml has an unknown key, a missing key, a wrong type or a bad value."""


class DataError(DistilleryError):
    """The dataset cannot be read or fails validation."""


class RemoteError(DistilleryError):
    """The S3/MinIO server, bucket, object or credentials are not usable."""


class WeightsError(DistilleryError):
    """A weights file is missing, corrupt, unsafe, or does not fit the model."""


class ExportError(DistilleryError):
    """A converter or runtime refused a model, or an exported model disagrees with the pipeline."""


class StorageError(DistilleryError):
    """A write failed for lack of room: disk full, quota, or a file-size limit."""


class Interrupted(DistilleryError):
    """The user stopped a stage (Ctrl-C); the message says what is kept and how to go on."""
