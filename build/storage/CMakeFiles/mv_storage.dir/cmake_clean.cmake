file(REMOVE_RECURSE
  "CMakeFiles/mv_storage.dir/compaction.cpp.o"
  "CMakeFiles/mv_storage.dir/compaction.cpp.o.d"
  "CMakeFiles/mv_storage.dir/crc32c.cpp.o"
  "CMakeFiles/mv_storage.dir/crc32c.cpp.o.d"
  "CMakeFiles/mv_storage.dir/engine.cpp.o"
  "CMakeFiles/mv_storage.dir/engine.cpp.o.d"
  "CMakeFiles/mv_storage.dir/record.cpp.o"
  "CMakeFiles/mv_storage.dir/record.cpp.o.d"
  "CMakeFiles/mv_storage.dir/sqlite_log.cpp.o"
  "CMakeFiles/mv_storage.dir/sqlite_log.cpp.o.d"
  "CMakeFiles/mv_storage.dir/table.cpp.o"
  "CMakeFiles/mv_storage.dir/table.cpp.o.d"
  "libmv_storage.a"
  "libmv_storage.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/mv_storage.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
