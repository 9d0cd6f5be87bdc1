
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/storage/compaction.cpp" "storage/CMakeFiles/mv_storage.dir/compaction.cpp.o" "gcc" "storage/CMakeFiles/mv_storage.dir/compaction.cpp.o.d"
  "/work/main/storage/crc32c.cpp" "storage/CMakeFiles/mv_storage.dir/crc32c.cpp.o" "gcc" "storage/CMakeFiles/mv_storage.dir/crc32c.cpp.o.d"
  "/work/main/storage/engine.cpp" "storage/CMakeFiles/mv_storage.dir/engine.cpp.o" "gcc" "storage/CMakeFiles/mv_storage.dir/engine.cpp.o.d"
  "/work/main/storage/record.cpp" "storage/CMakeFiles/mv_storage.dir/record.cpp.o" "gcc" "storage/CMakeFiles/mv_storage.dir/record.cpp.o.d"
  "/work/main/storage/sqlite_log.cpp" "storage/CMakeFiles/mv_storage.dir/sqlite_log.cpp.o" "gcc" "storage/CMakeFiles/mv_storage.dir/sqlite_log.cpp.o.d"
  "/work/main/storage/table.cpp" "storage/CMakeFiles/mv_storage.dir/table.cpp.o" "gcc" "storage/CMakeFiles/mv_storage.dir/table.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/protocol/CMakeFiles/mv_protocol.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
