file(REMOVE_RECURSE
  "CMakeFiles/mv_protocol.dir/compression.cpp.o"
  "CMakeFiles/mv_protocol.dir/compression.cpp.o.d"
  "CMakeFiles/mv_protocol.dir/options.cpp.o"
  "CMakeFiles/mv_protocol.dir/options.cpp.o.d"
  "CMakeFiles/mv_protocol.dir/wire.cpp.o"
  "CMakeFiles/mv_protocol.dir/wire.cpp.o.d"
  "libmv_protocol.a"
  "libmv_protocol.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/mv_protocol.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
