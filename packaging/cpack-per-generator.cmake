# Read by cpack before each generator runs (CPACK_PROJECT_CONFIG_FILE).
if(CPACK_GENERATOR STREQUAL "DEB")
  # Each package's Description starts with its own synopsis (CPACK_DEBIAN_<COMPONENT>_DESCRIPTION);
  # with a project summary set, CPack would put that line in front of both.
  unset(CPACK_PACKAGE_DESCRIPTION_SUMMARY)
endif()
