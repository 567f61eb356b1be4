"""Fine-tuning a project's model on its accepted objects (a background job) and switching its active model."""
