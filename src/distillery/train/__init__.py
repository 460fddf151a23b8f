"""One training loop shared by teacher and student; augmentation and losses."""
