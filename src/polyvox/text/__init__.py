"""Text handling before synthesis: segmentation for streaming."""
