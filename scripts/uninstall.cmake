# Removes the files `cmake --install` recorded in install_manifest.txt (run from the build
# directory: `cmake --build build --target uninstall`), under $DESTDIR when set. The
# configuration file KEEP is left in place, as a package's conffile stays on remove: delete it
# by hand once it is no longer wanted.
set(manifest "${CMAKE_CURRENT_BINARY_DIR}/install_manifest.txt")
if(NOT EXISTS "${manifest}")
  message(FATAL_ERROR "${manifest} not found: nothing was installed from this build directory")
endif()
file(STRINGS "${manifest}" files)
foreach(f ${files})
  set(path "$ENV{DESTDIR}${f}")
  if(f STREQUAL KEEP)
    message(STATUS "Keeping the configuration: ${path}")
  elseif(IS_SYMLINK "${path}" OR EXISTS "${path}")
    message(STATUS "Removing: ${path}")
    file(REMOVE "${path}")
  else()
    message(STATUS "Already gone: ${path}")
  endif()
endforeach()
