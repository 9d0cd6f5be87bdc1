# Install rules (`make install`, PREFIX and DESTDIR) and the Debian package (`make
# package`, CPack's DEB generator): the node and the CLI, a systemd unit, the service's
# config file, the Python and JavaScript clients, README and LICENSE.
#
# Paths (GNUInstallDirs): with prefix /usr the config goes to /etc/minivault and the unit
# to /lib/systemd/system; with /usr/local to /usr/local/etc/minivault and
# /usr/local/lib/systemd/system (where systemd looks for local units).
include(GNUInstallDirs)

set(MINIVAULT_BIN_DIR ${CMAKE_INSTALL_FULL_BINDIR})
set(MINIVAULT_CONFIG_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/minivault)
set(MINIVAULT_CONFIG_FILE ${MINIVAULT_CONFIG_DIR}/minivault.ini)
set(MINIVAULT_DOC_DIR ${CMAKE_INSTALL_FULL_DOCDIR})
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(MINIVAULT_SYSTEMD_DIR_DEFAULT /lib/systemd/system)
else()
  set(MINIVAULT_SYSTEMD_DIR_DEFAULT ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()
set(MINIVAULT_SYSTEMD_DIR ${MINIVAULT_SYSTEMD_DIR_DEFAULT} CACHE PATH "where minivault.service goes")
# Debian's python3 and nodejs search these for system-wide modules.
set(MINIVAULT_PYTHON_DIR ${CMAKE_INSTALL_PREFIX}/lib/python3/dist-packages
    CACHE PATH "where minivault.py goes")
set(MINIVAULT_NODE_DIR ${CMAKE_INSTALL_FULL_DATADIR}/nodejs/minivault
    CACHE PATH "where the Node.js module goes")

configure_file(packaging/minivault.service.in ${PROJECT_BINARY_DIR}/packaging/minivault.service @ONLY)
configure_file(packaging/minivault-js-package.json ${PROJECT_BINARY_DIR}/packaging/package.json @ONLY)

install(TARGETS minivault minivault-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_BINARY_DIR}/packaging/minivault.service DESTINATION ${MINIVAULT_SYSTEMD_DIR})
install(FILES packaging/minivault.ini DESTINATION ${MINIVAULT_CONFIG_DIR})
install(FILES client/python/minivault.py DESTINATION ${MINIVAULT_PYTHON_DIR})
install(FILES client/js/minivault.js ${PROJECT_BINARY_DIR}/packaging/package.json
        DESTINATION ${MINIVAULT_NODE_DIR})
install(FILES README.md LICENSE config/minivault.ini DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME minivault)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "minivault maintainers <minivault@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "distributed key-value store (node, CLI, Python and JS clients)")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # minivault_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON) # Depends from the libraries the binaries load
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "python3, nodejs, systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/deb/postinst ${PROJECT_SOURCE_DIR}/packaging/deb/prerm
    ${PROJECT_SOURCE_DIR}/packaging/deb/postrm ${PROJECT_SOURCE_DIR}/packaging/deb/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
