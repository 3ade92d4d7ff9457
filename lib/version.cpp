// The library's version, from CMake's project() (the configured version.hpp).

#include "green/version.hpp"

namespace green {

const char* version_string() noexcept { return GREEN_VERSION_STRING; }

}  // namespace green
