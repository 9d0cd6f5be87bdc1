
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/protocol/compression.cpp" "protocol/CMakeFiles/mv_protocol.dir/compression.cpp.o" "gcc" "protocol/CMakeFiles/mv_protocol.dir/compression.cpp.o.d"
  "/work/main/protocol/options.cpp" "protocol/CMakeFiles/mv_protocol.dir/options.cpp.o" "gcc" "protocol/CMakeFiles/mv_protocol.dir/options.cpp.o.d"
  "/work/main/protocol/wire.cpp" "protocol/CMakeFiles/mv_protocol.dir/wire.cpp.o" "gcc" "protocol/CMakeFiles/mv_protocol.dir/wire.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
