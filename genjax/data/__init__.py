"""Datasets: the embedded scikit-learn digits by default, TFDS image datasets on request."""
