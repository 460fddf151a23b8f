"""The S3/MinIO side: settings, client and errors, the local server, publish and pull."""
