"""Text handling before synthesis: normalization, scripts and languages, SSML, and
segmentation for streaming."""
