"""What every target's analysis shares: one analyzer dispatcher over a file tree (a directory walk or an image
layer alike), the layer merge, and the process pool."""
