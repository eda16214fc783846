"""Job functions: the glue between a view and models/. Each factory captures plain inputs and
returns `job(ctx)`, which runs on the inference worker and returns NumPy arrays or numbers."""
