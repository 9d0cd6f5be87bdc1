# Empty dependencies file for mv_storage.
# This may be replaced when dependencies are built.
