file(REMOVE_RECURSE
  "libmv_storage.a"
)
