# Empty dependencies file for mv_protocol.
# This may be replaced when dependencies are built.
