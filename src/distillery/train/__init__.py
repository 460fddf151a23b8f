"""One training loop shared by teacher and student, for every task; the teacher and distill stages."""
