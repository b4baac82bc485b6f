"""Training: the trainer, checkpoints and learning-rate schedules."""
