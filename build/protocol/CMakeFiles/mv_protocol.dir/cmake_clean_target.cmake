file(REMOVE_RECURSE
  "libmv_protocol.a"
)
